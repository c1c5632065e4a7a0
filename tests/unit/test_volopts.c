/*
 * test_volopts.c - volume_opts_parse() and friends (store/volopts.c): the
 * one parser behind `docker volume create -o` and `cephvol volume create -o`.
 * Every accepted key, every rejection and its sentence, defaults from the
 * configuration, the JSON round trip and the comparison used for
 * idempotent creates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "common/config.h"
#include "common/util.h"
#include "store/volopts.h"
#include "tests/unit/harness.h"

static struct config cfg;
static char err[1024];

/* Parse name with options given as "k", "v", ..., NULL. */
static int
parse(const char *name, struct volume_meta *m, ...)
{
	json_t *o = json_object();
	va_list ap;
	const char *k;
	int r;

	va_start(ap, m);
	while ((k = va_arg(ap, const char *)) != NULL)
		json_object_set_new(o, k, json_string(va_arg(ap, const char *)));
	va_end(ap);
	err[0] = '\0';
	r = volume_opts_parse(&cfg, name, o, m, err, sizeof(err));
	json_decref(o);
	return r;
}

static void
setup(void)
{
	config_free(&cfg);
	config_defaults(&cfg);
}

static void
test_defaults(void)
{
	struct volume_meta m;

	setup();
	CHECK_OK(volume_opts_parse(&cfg, "pgdata", NULL, &m, err, sizeof(err)));
	CHECK_STR(m.name, "pgdata");
	CHECK_INT(m.type, VOLUME_BLOCK);
	CHECK_U64(m.size, 10ull << 30);
	CHECK_U64(m.object_size, 4ull << 20);
	CHECK_STR(m.fs, "xfs");
	CHECK_U64(m.given, 0);
	CHECK(json_is_object(m.labels) && json_object_size(m.labels) == 0);
	CHECK(json_is_array(m.secrets) && json_array_size(m.secrets) == 0);
	volume_meta_free(&m);

	/* Under 300M the default xfs gives way to ext4; fs=xfs is refused. */
	CHECK_OK(parse("small", &m, "size", "299M", NULL));
	CHECK_STR(m.fs, "ext4");
	volume_meta_free(&m);
	CHECK_OK(parse("big", &m, "size", "300M", NULL));
	CHECK_STR(m.fs, "xfs");
	volume_meta_free(&m);
	CHECK_ERR(parse("x", &m, "size", "256M", "fs", "xfs", NULL), -EINVAL);
	CHECK_CONTAINS(err, "fs=xfs needs a volume of at least 300M");
	CHECK_OK(parse("e", &m, "size", "256M", "fs", "ext4", NULL));
	CHECK_STR(m.fs, "ext4");
	volume_meta_free(&m);

	/* Defaults come from the configuration. */
	cfg.volume_default_size = 2ull << 30;
	free(cfg.volume_default_fs);
	cfg.volume_default_fs = strdup("ext4");
	cfg.volume_object_size = 1ull << 20;
	CHECK_OK(volume_opts_parse(&cfg, "v", json_null(), &m, err, sizeof(err)));
	CHECK_U64(m.size, 2ull << 30);
	CHECK_STR(m.fs, "ext4");
	CHECK_U64(m.object_size, 1ull << 20);
	volume_meta_free(&m);
}

static void
test_block_options(void)
{
	struct volume_meta m;

	setup();
	CHECK_OK(parse("pgdata", &m, "size", "512M", "fs", "xfs", "objectsize",
	    "1M", "type", "block", NULL));
	CHECK_U64(m.size, 512ull << 20);
	CHECK_STR(m.fs, "xfs");
	CHECK_U64(m.object_size, 1ull << 20);
	CHECK_U64(m.given, VOLUME_OPT_SIZE | VOLUME_OPT_FS |
	    VOLUME_OPT_OBJECT_SIZE | VOLUME_OPT_TYPE);
	volume_meta_free(&m);

	CHECK_OK(parse("a", &m, "size", "10G", "object_size", "64K", NULL));
	CHECK_U64(m.size, 10ull << 30);
	CHECK_U64(m.object_size, 64ull << 10);
	volume_meta_free(&m);
}

static void
test_labels(void)
{
	struct volume_meta m;

	setup();
	CHECK_OK(parse("a", &m, "labels", "app=pg,tier=db", "label.owner",
	    "team-x", NULL));
	CHECK_STR(json_string_value(json_object_get(m.labels, "app")), "pg");
	CHECK_STR(json_string_value(json_object_get(m.labels, "tier")), "db");
	CHECK_STR(json_string_value(json_object_get(m.labels, "owner")), "team-x");
	CHECK(m.given & VOLUME_OPT_LABELS);
	volume_meta_free(&m);

	CHECK_ERR(parse("a", &m, "labels", "novalue", NULL), -EINVAL);
	CHECK_CONTAINS(err, "KEY=VALUE");
	CHECK_ERR(parse("a", &m, "labels", "=v", NULL), -EINVAL);
	CHECK_ERR(parse("a", &m, "label.", "v", NULL), -EINVAL);
	CHECK_CONTAINS(err, "label.KEY=VALUE");
}

static void
test_secrets_volume(void)
{
	struct volume_meta m;

	setup();
	CHECK_OK(parse("app-secrets", &m, "type", "secrets", "secrets",
	    "db-password,api-key@3", NULL));
	CHECK_INT(m.type, VOLUME_SECRETS);
	CHECK_U64(m.size, 0);
	CHECK_STR(m.fs, "");
	REQUIRE(json_array_size(m.secrets) == 2);
	CHECK_STR(json_string_value(json_array_get(m.secrets, 0)), "db-password");
	CHECK_STR(json_string_value(json_array_get(m.secrets, 1)), "api-key@3");
	volume_meta_free(&m);

	CHECK_ERR(parse("s", &m, "type", "secrets", NULL), -EINVAL);
	CHECK_CONTAINS(err, "secrets=NAME");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a", "size", "1G",
	    NULL), -EINVAL);
	CHECK_CONTAINS(err, "option size does not apply to type=secrets");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a", "fs", "xfs",
	    NULL), -EINVAL);
	CHECK_CONTAINS(err, "option fs does not apply");
	CHECK_ERR(parse("s", &m, "secrets", "a", NULL), -EINVAL);
	CHECK_CONTAINS(err, "only to type=secrets");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a,a@2", NULL), -EINVAL);
	CHECK_CONTAINS(err, "named twice");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a@0", NULL), -EINVAL);
	CHECK_CONTAINS(err, "VERSION");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a@x", NULL), -EINVAL);
	CHECK_CONTAINS(err, "bad version in secrets=a@x");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "../etc", NULL), -EINVAL);
	CHECK_CONTAINS(err, "bad secret name '../etc' in secrets=");
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", "a,@2", NULL), -EINVAL);
	CHECK_CONTAINS(err, "bad secret name '' in secrets=");
	{
		char longer[NAME_MAX_LEN + 4];
		memset(longer, 'a', NAME_MAX_LEN + 1);
		strcpy(longer + NAME_MAX_LEN + 1, "@2");
		CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", longer, NULL),
		    -EINVAL);
		CHECK_CONTAINS(err, "bad secret name in secrets=: names must");
	}
	CHECK_ERR(parse("s", &m, "type", "secrets", "secrets", ",", NULL), -EINVAL);
	CHECK_CONTAINS(err, "at least one secret");
}

static void
test_bad_values(void)
{
	struct volume_meta m;

	setup();
	CHECK_ERR(parse("a", &m, "size", "ten", NULL), -EINVAL);
	CHECK_CONTAINS(err, "bad value 'ten' for option size");
	CHECK_ERR(parse("a", &m, "size", "100K", NULL), -EINVAL);
	CHECK_CONTAINS(err, "a volume is from 1M");
	CHECK_ERR(parse("a", &m, "size", "2P", NULL), -EINVAL);
	CHECK_ERR(parse("a", &m, "size", "1048577", NULL), -EINVAL);
	CHECK_CONTAINS(err, "multiple of 4K");
	CHECK_ERR(parse("a", &m, "size", "99999999999999999999999", NULL), -EINVAL);
	CHECK_ERR(parse("a", &m, "fs", "btrfs", NULL), -EINVAL);
	CHECK_CONTAINS(err, "expected ext4 or xfs");
	CHECK_ERR(parse("a", &m, "objectsize", "3M", NULL), -EINVAL);
	CHECK_CONTAINS(err, "power of two from 64K to 64M");
	CHECK_ERR(parse("a", &m, "objectsize", "32K", NULL), -EINVAL);
	CHECK_ERR(parse("a", &m, "objectsize", "128M", NULL), -EINVAL);
	CHECK_ERR(parse("a", &m, "type", "file", NULL), -EINVAL);
	CHECK_CONTAINS(err, "expected block or secrets");
}

static void
test_unknown_option(void)
{
	struct volume_meta m;
	json_t *o;

	setup();
	CHECK_ERR(parse("a", &m, "sise", "1G", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unknown option 'sise' (did you mean size?)");
	CHECK_CONTAINS(err, "accepted options: size=");
	CHECK_CONTAINS(err, "fs=ext4|xfs");
	CHECK_CONTAINS(err, "label.KEY=VALUE");
	CHECK_ERR(parse("a", &m, "compression", "zstd", NULL), -EINVAL);
	CHECK_CONTAINS(err, "unknown option 'compression'; accepted options");

	/* Docker's Opts is a map of strings: anything else is refused. */
	o = json_pack("{s:i}", "size", 10);
	CHECK_ERR(volume_opts_parse(&cfg, "a", o, &m, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "option size must be a string");
	json_decref(o);
	o = json_array();
	CHECK_ERR(volume_opts_parse(&cfg, "a", o, &m, err, sizeof(err)), -EINVAL);
	json_decref(o);
}

static void
test_names(void)
{
	struct volume_meta m;
	char longname[NAME_MAX_LEN + 2];

	setup();
	static const char *const bad[] = { "", ".", "..", "a/b", "../x", "-a",
	    "_a", ".hidden", "a b", "a\nb", "caf\xc3\xa9" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_ERR(parse(bad[i], &m, NULL), -EINVAL);
		CHECK_CONTAINS(err, "invalid volume name");
		CHECK_CONTAINS(err, NAME_RULE);
	}
	CHECK_ERR(volume_opts_parse(&cfg, NULL, NULL, &m, err, sizeof(err)), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';		/* 256 bytes */
	CHECK_ERR(parse(longname, &m, NULL), -EINVAL);
	CHECK(strlen(err) < 400);			/* the name is cut short */
	longname[NAME_MAX_LEN] = '\0';			/* 255 bytes */
	CHECK_OK(parse(longname, &m, NULL));
	volume_meta_free(&m);
	CHECK_OK(parse("A-1_b.c", &m, NULL));
	volume_meta_free(&m);
}

static void
test_json_round_trip(void)
{
	struct volume_meta m, back;
	json_t *j;

	setup();
	CHECK_OK(parse("pgdata", &m, "size", "20G", "fs", "xfs", "label.a", "b", NULL));
	strcpy(m.id, "0123456789abcdef");
	m.created = 1790000000;
	j = volume_meta_json(&m);
	REQUIRE(j != NULL);
	CHECK_OK(volume_meta_from_json(j, &back));
	CHECK_STR(back.name, "pgdata");
	CHECK_STR(back.id, "0123456789abcdef");
	CHECK_U64(back.size, 20ull << 30);
	CHECK_STR(back.fs, "xfs");
	CHECK_INT(back.created, 1790000000);
	CHECK(json_equal(back.labels, m.labels));
	volume_meta_free(&back);

	/* A damaged header is refused, not half read. */
	json_object_set_new(j, "id", json_string("../../etc"));
	CHECK_ERR(volume_meta_from_json(j, &back), -EINVAL);
	json_object_set_new(j, "id", json_string("0123456789abcdef"));
	json_object_set_new(j, "fs", json_string("ntfs"));
	CHECK_ERR(volume_meta_from_json(j, &back), -EINVAL);
	json_decref(j);
	volume_meta_free(&m);
}

static void
test_matches(void)
{
	struct volume_meta have, want;

	setup();
	CHECK_OK(parse("pgdata", &have, "size", "10G", "fs", "xfs", NULL));
	/* Only what is named is compared: a bare create matches. */
	CHECK_OK(parse("pgdata", &want, NULL));
	CHECK(volume_meta_matches(&have, &want, err, sizeof(err)));
	volume_meta_free(&want);
	CHECK_OK(parse("pgdata", &want, "size", "10G", NULL));
	CHECK(volume_meta_matches(&have, &want, err, sizeof(err)));
	volume_meta_free(&want);
	/* Every difference is named. */
	CHECK_OK(parse("pgdata", &want, "size", "20G", "fs", "ext4", NULL));
	CHECK(!volume_meta_matches(&have, &want, err, sizeof(err)));
	CHECK_CONTAINS(err, "volume pgdata already exists with different options");
	CHECK_CONTAINS(err, "size=10G (asked for 20G)");
	CHECK_CONTAINS(err, "fs=xfs (asked for ext4)");
	volume_meta_free(&want);
	CHECK_OK(parse("pgdata", &want, "type", "secrets", "secrets", "a", NULL));
	CHECK(!volume_meta_matches(&have, &want, err, sizeof(err)));
	CHECK_CONTAINS(err, "type=block (asked for secrets)");
	volume_meta_free(&want);
	CHECK_OK(parse("pgdata", &want, "label.x", "y", NULL));
	CHECK(!volume_meta_matches(&have, &want, err, sizeof(err)));
	CHECK_CONTAINS(err, "labels={} (asked for {\"x\":\"y\"})");
	volume_meta_free(&want);
	volume_meta_free(&have);
	config_free(&cfg);
}

HARNESS_MAIN(CASE(test_defaults), CASE(test_block_options), CASE(test_labels),
    CASE(test_secrets_volume), CASE(test_bad_values), CASE(test_unknown_option),
    CASE(test_names), CASE(test_json_round_trip), CASE(test_matches))
