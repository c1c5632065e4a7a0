/*
 * test_catalog_entry.c - the stored forms of the catalogue
 * (store/catalog_entry.h, store/catalog_header.h): an entry's value and a
 * header's "meta", encoded byte for byte as a guarded swap compares them,
 * decoded back, and what makes a stored value bad.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/catalog_entry.h"
#include "store/catalog_header.h"
#include "tests/unit/harness.h"

static void
decode(const char *name, const char *value, struct catalog_entry *e)
{
	catalog_entry_decode(name, strdup(value), e);
}

static void
test_entry_encode(void)
{
	struct catalog_entry e = { .name = "pgdata", .id = "0123456789abcdef",
	    .type = VOLUME_BLOCK, .created = 1700000000, .state = CATALOG_CREATING };
	char *s;

	s = catalog_entry_encode(&e);
	/* compact, keys sorted: the value a guard compares */
	CHECK_STR(s, "{\"created\":1700000000,\"id\":\"0123456789abcdef\","
	    "\"state\":\"creating\",\"type\":\"block\"}");
	free(s);
	e.type = VOLUME_SECRETS;
	e.state = CATALOG_REMOVING;
	s = catalog_entry_encode(&e);
	CHECK_CONTAINS(s, "\"state\":\"removing\"");
	CHECK_CONTAINS(s, "\"type\":\"secrets\"");
	free(s);
	e.state = CATALOG_READY;
	s = catalog_entry_encode(&e);
	CHECK_CONTAINS(s, "\"state\":\"ready\"");
	free(s);
}

static void
test_entry_round_trip(void)
{
	struct catalog_entry e = { .name = "app", .id = "fedcba9876543210",
	    .type = VOLUME_SECRETS, .created = 42, .state = CATALOG_REMOVING };
	struct catalog_entry d;
	char *s = catalog_entry_encode(&e);

	REQUIRE(s != NULL);
	catalog_entry_decode("app", s, &d);	/* steals s */
	CHECK(!d.bad);
	CHECK_STR(d.name, "app");
	CHECK_STR(d.id, "fedcba9876543210");
	CHECK_INT(d.type, VOLUME_SECRETS);
	CHECK_INT(d.created, 42);
	CHECK_INT(d.state, CATALOG_REMOVING);
	CHECK(d.raw == s);
	catalog_entry_clear(&d);
	CHECK(d.raw == NULL);
}

static void
test_entry_defaults(void)
{
	struct catalog_entry d;

	/* an entry written before "type", "created" and "state" existed */
	decode("old", "{\"id\":\"00000000000000aa\"}", &d);
	CHECK(!d.bad);
	CHECK_INT(d.type, VOLUME_BLOCK);
	CHECK_INT(d.created, 0);
	CHECK_INT(d.state, CATALOG_READY);
	CHECK_STR(d.raw, "{\"id\":\"00000000000000aa\"}");
	catalog_entry_clear(&d);
}

static void
test_entry_bad(void)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}",
		"{\"id\":\"0123\"}",
		"{\"id\":\"0123456789ABCDEF\"}",
		"{\"id\":\"0123456789abcdeg\"}",
		"{\"id\":\"0123456789abcdef\",\"state\":\"gone\"}",
		"{\"id\":\"0123456789abcdef\",\"created\":\"yesterday\"}",
		"{\"id\":7}",
	};
	struct catalog_entry d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decode("v", bad[i], &d);
		if (!d.bad)
			HARNESS_FAIL_("value '%s' decoded as good", bad[i]);
		CHECK_STR(d.raw, bad[i]);	/* kept whole, for fsck */
		CHECK_STR(d.name, "v");
		catalog_entry_clear(&d);
	}
	/* a good value under a name Docker would refuse */
	decode("../x", "{\"id\":\"0123456789abcdef\"}", &d);
	CHECK(d.bad);
	catalog_entry_clear(&d);
}

static void
test_header_round_trip(void)
{
	struct volume_meta m = { .name = "pgdata", .id = "0123456789abcdef",
	    .type = VOLUME_BLOCK, .size = 10ull << 30, .object_size = 4 << 20,
	    .fs = "xfs", .created = 1700000000 };
	struct volume_meta d;
	char oid[64], *s;

	m.labels = json_pack("{s:s}", "team", "db");
	m.secrets = json_array();
	s = catalog_header_encode(&m);
	REQUIRE(s != NULL);
	CHECK_STR(s, "{\"created\":1700000000,\"fs\":\"xfs\",\"id\":"
	    "\"0123456789abcdef\",\"labels\":{\"team\":\"db\"},\"name\":"
	    "\"pgdata\",\"object_size\":4194304,\"size\":10737418240,"
	    "\"type\":\"block\"}");
	CHECK_OK(catalog_header_decode(s, &d));
	CHECK_STR(d.name, "pgdata");
	CHECK_STR(d.id, "0123456789abcdef");
	CHECK_U64(d.size, 10ull << 30);
	CHECK_U64(d.object_size, 4 << 20);
	CHECK_STR(d.fs, "xfs");
	CHECK_STR(json_string_value(json_object_get(d.labels, "team")), "db");
	volume_meta_free(&d);
	free(s);
	volume_meta_free(&m);

	CHECK_ERR(catalog_header_decode("not json", &d), -EINVAL);
	CHECK_ERR(catalog_header_decode("{\"name\":\"x\"}", &d), -EINVAL);
	CHECK_STR(catalog_header_oid("0123456789abcdef", oid, sizeof(oid)),
	    "cephvol.header.0123456789abcdef");
}

HARNESS_MAIN(CASE(test_entry_encode), CASE(test_entry_round_trip),
    CASE(test_entry_defaults), CASE(test_entry_bad), CASE(test_header_round_trip))
