/*
 * test_secret_grant.c - secret_grant_parse() (store/secret_grant.h), the
 * one reader of a secrets volume's grants "NAME" and "NAME@VERSION": what
 * it accepts, and which error says what is wrong (volume options turn each
 * into its own sentence).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "store/secret_grant.h"
#include "tests/unit/harness.h"

static char name[NAME_MAX_LEN + 1];
static uint32_t version;

static int
parse(const char *grant)
{
	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	version = 77;
	return secret_grant_parse(grant, name, sizeof(name), &version);
}

static void
test_accepted(void)
{
	CHECK_OK(parse("db-password"));
	CHECK_STR(name, "db-password");
	CHECK_U64(version, 0);
	CHECK_OK(parse("api.key_2@3"));
	CHECK_STR(name, "api.key_2");
	CHECK_U64(version, 3);
	CHECK_OK(parse("a@4294967295"));
	CHECK_U64(version, UINT32_MAX);
	CHECK_OK(parse("a@01"));
	CHECK_U64(version, 1);
}

static void
test_bad_name(void)
{
	CHECK_ERR(parse(""), -EINVAL);
	CHECK_STR(name, "");
	CHECK_ERR(parse("@2"), -EINVAL);
	CHECK_STR(name, "");
	CHECK_ERR(parse("../etc"), -EINVAL);
	CHECK_STR(name, "../etc");
	CHECK_ERR(parse(".a@2"), -EINVAL);
	CHECK_STR(name, ".a");
	CHECK_ERR(parse("a b"), -EINVAL);
	CHECK_U64(version, 77);		/* untouched on error */
}

static void
test_long_name(void)
{
	char g[NAME_MAX_LEN + 8];
	char small[8];

	memset(g, 'a', NAME_MAX_LEN);
	g[NAME_MAX_LEN] = '\0';
	CHECK_OK(parse(g));
	CHECK_U64(strlen(name), NAME_MAX_LEN);
	g[NAME_MAX_LEN] = 'a';
	g[NAME_MAX_LEN + 1] = '\0';
	CHECK_ERR(parse(g), -ENAMETOOLONG);
	strcpy(g + NAME_MAX_LEN + 1, "@2");
	CHECK_ERR(parse(g), -ENAMETOOLONG);
	/* the caller's buffer bounds the name too */
	CHECK_OK(secret_grant_parse("abcdefg", small, sizeof(small), &version));
	CHECK_STR(small, "abcdefg");
	CHECK_ERR(secret_grant_parse("abcdefgh@1", small, sizeof(small), &version),
	    -ENAMETOOLONG);
}

static void
test_bad_version(void)
{
	CHECK_ERR(parse("a@"), -ERANGE);
	CHECK_ERR(parse("a@0"), -ERANGE);
	CHECK_ERR(parse("a@x"), -ERANGE);
	CHECK_ERR(parse("a@-1"), -ERANGE);
	CHECK_ERR(parse("a@+2"), -ERANGE);
	CHECK_ERR(parse("a@ 2"), -ERANGE);
	CHECK_ERR(parse("a@2@3"), -ERANGE);
	CHECK_ERR(parse("a@4294967296"), -ERANGE);
	CHECK_U64(version, 77);
	/* a bad name is reported before a bad version */
	CHECK_ERR(parse("-a@0"), -EINVAL);
}

HARNESS_MAIN(CASE(test_accepted), CASE(test_bad_name), CASE(test_long_name),
    CASE(test_bad_version))
