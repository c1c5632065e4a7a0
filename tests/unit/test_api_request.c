/*
 * test_api_request.c - cephvold's request checking (volplugin/api.c): what
 * Docker's VolumeDriver endpoints accept and the status and Err of what
 * they refuse, before any I/O; and how long a caller waits. Every request
 * here is answered before a job would start, so the api has no engine, no
 * cluster and no host state (a well-formed volume request would crash).
 *
 * cephvold's modules are linked from libcephvold.a (the Makefile).
 */
#include "tests/unit/harness.h"

#include "common/config.h"
#include "common/util.h"
#include "volplugin/api.h"
#include "volplugin/metrics.h"

static struct config cfg;
static struct api *api;

static void
setup(void)
{
	if (api)
		return;
	config_defaults(&cfg);
	if (api_new(&cfg, NULL, NULL, NULL, &api) < 0) {
		fprintf(stderr, "setup: out of memory\n");
		exit(1);
	}
}

/* Send body to path; check status; return the Err (static copy). */
static const char *
ask(const char *path, const char *body, unsigned want_status)
{
	static char errbuf[4096];
	enum metrics_result res;
	json_t *reply = NULL;
	unsigned st;

	setup();
	st = api_handle(api, path, body, body ? strlen(body) : 0, NULL, &reply, &res);
	if (st != want_status)
		HARNESS_FAIL_("%s %s: status %u, want %u", path, body ? body : "(none)",
		    st, want_status);
	snprintf(errbuf, sizeof(errbuf), "%s",
	    json_string_value(json_object_get(reply, "Err")) ?
	    json_string_value(json_object_get(reply, "Err")) : "");
	if (want_status != 200 && res != RESULT_BAD_REQUEST)
		HARNESS_FAIL_("%s: result %d, want bad_request", path, (int)res);
	json_decref(reply);
	return errbuf;
}

static void
test_activate_capabilities(void)
{
	enum metrics_result res;
	json_t *r;

	setup();
	CHECK_INT(api_handle(api, "/Plugin.Activate", NULL, 0, NULL, &r, &res), 200);
	CHECK_STR(json_string_value(json_array_get(json_object_get(r, "Implements"), 0)),
	    "VolumeDriver");
	json_decref(r);
	/* dockerd sends "\n" or nothing; both are an empty body */
	CHECK_INT(api_handle(api, "/VolumeDriver.Capabilities", "\n", 1, NULL, &r, &res), 200);
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "Capabilities"),
	    "Scope")), "global");
	json_decref(r);
}

static void
test_malformed(void)
{
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "{\"Name\":", 400), "malformed JSON");
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "[1]", 400), "must be a JSON object");
	CHECK_CONTAINS(ask("/VolumeDriver.Get", "\"x\"", 400), "must be a JSON object");
	CHECK_CONTAINS(ask("/VolumeDriver.Get", "{\"Name\":\"a\",\"Name\":\"b\"}", 400),
	    "duplicate");
	CHECK_CONTAINS(ask("/VolumeDriver.Mount", "", 400), "empty request body");
	CHECK_CONTAINS(ask("/VolumeDriver.Mount", " \n", 400), "empty request body");
	CHECK_CONTAINS(ask("/VolumeDriver.Get", "{\"Name\":\"a\\u0000b\"}", 400),
	    "malformed JSON");
}

static void
test_fields(void)
{
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "{}", 400), "missing field \"Name\"");
	CHECK_CONTAINS(ask("/VolumeDriver.Get", "{\"Name\":null}", 400),
	    "field \"Name\" must be a string");
	CHECK_CONTAINS(ask("/VolumeDriver.Mount", "{\"Name\":\"v\"}", 400),
	    "missing field \"ID\"");
	CHECK_CONTAINS(ask("/VolumeDriver.Unmount", "{\"Name\":\"v\",\"ID\":\"\"}", 400),
	    "must be a non-empty string");
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":[]}", 400),
	    "\"Opts\" must be an object");
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":{\"size\":true}}", 400),
	    "option \"size\" must be a string");
}

static void
test_names(void)
{
	static const char *bad[] = { "a/b", "..", ".", "", "-a", "a b", "../x", "\\u00e9" };
	char body[600], big[300];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body), "{\"Name\":\"%s\"}", bad[i]);
		CHECK_CONTAINS(ask("/VolumeDriver.Remove", body, 400), "invalid volume name");
		CHECK_CONTAINS(ask("/VolumeDriver.Remove", body, 400), NAME_RULE);
	}
	memset(big, 'a', 256);
	big[256] = '\0';
	snprintf(body, sizeof(body), "{\"Name\":\"%s\",\"ID\":\"x\"}", big);
	CHECK_CONTAINS(ask("/VolumeDriver.Mount", body, 400), "invalid volume name");
	/* the name is shown bounded and printable */
	CHECK(strlen(ask("/VolumeDriver.Mount", body, 400)) < 300);
}

static void
test_unknown_endpoint(void)
{
	CHECK_CONTAINS(ask("/VolumeDriver.Frob", "{}", 404), "unknown endpoint /VolumeDriver.Frob");
	CHECK_CONTAINS(ask("/", NULL, 404), "unknown endpoint");
	CHECK_CONTAINS(ask("/Plugin.Activate/x", NULL, 404), "unknown endpoint");
}

/* What the client sent shows in the Err escaped once, and cut short. */
static void
test_shown(void)
{
	CHECK_CONTAINS(ask("/VolumeDriver.Remove", "{\"Name\":\"a\\nb\\\"\"}", 400),
	    "invalid volume name \"a\\x0ab\\x22\"");
	CHECK_CONTAINS(ask("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":"
	    "{\"0123456789012345678901234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890\":1}}", 400),
	    "option \"01234567890123456789012345678901234567890123456789012345678901"
	    "234567890123456789...\" must be a string value");
}

/* Docker waits 120 s for Create and Mount, 60 s for the rest: we answer
 * 10 s before, whatever plugin.timeout says above that. */
static void
test_deadlines(void)
{
	struct config c;

	config_defaults(&c);
	c.plugin_timeout = 120;
	CHECK(api_deadline_s(&c, EP_MOUNT) == 110);
	CHECK(api_deadline_s(&c, EP_CREATE) == 110);
	CHECK(api_deadline_s(&c, EP_REMOVE) == 50);
	CHECK(api_deadline_s(&c, EP_UNMOUNT) == 50);
	CHECK(api_deadline_s(&c, EP_GET) == 50);
	CHECK(api_deadline_s(&c, EP_LIST) == 50);
	c.plugin_timeout = 3600;
	CHECK(api_deadline_s(&c, EP_MOUNT) == 110);
	c.plugin_timeout = 30;
	CHECK(api_deadline_s(&c, EP_MOUNT) == 30);
	CHECK(api_deadline_s(&c, EP_REMOVE) == 30);
	config_free(&c);
}

HARNESS_MAIN(CASE(test_activate_capabilities), CASE(test_malformed), CASE(test_fields),
    CASE(test_names), CASE(test_unknown_endpoint), CASE(test_shown),
    CASE(test_deadlines))
