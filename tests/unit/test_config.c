/*
 * test_config.c - common/config.h: defaults, the file format, -o
 * overrides, every kind of error sentence (a file's text never in one,
 * command-line text escaped), the file size and type limits,
 * config_init's order and --dump-config read back to the same
 * configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/util.h"
#include "tests/unit/harness.h"

static char err[2048];

static void
test_defaults(void)
{
	struct config c;

	config_defaults(&c);
	CHECK_STR(c.ceph_conf, "/etc/ceph/ceph.conf");
	CHECK_STR(c.ceph_client, "client.admin");
	CHECK_STR(c.ceph_keyring, "");
	CHECK_STR(c.ceph_pool, "cephvol");
	CHECK_U64(c.ceph_timeout, 10);
	CHECK_STR(c.plugin_driver, "cephvol");
	CHECK_STR(c.plugin_socket, "/run/docker/plugins/cephvol.sock");
	CHECK_STR(c.plugin_state_dir, "/var/lib/cephvol");
	CHECK_STR(c.plugin_mount_root, "/var/lib/cephvol/mounts");
	CHECK_U64(c.plugin_timeout, 120);
	CHECK_U64(c.volume_default_size, 10ull << 30);
	CHECK_STR(c.volume_default_fs, "xfs");
	CHECK_U64(c.volume_object_size, 4ull << 20);
	CHECK_U64(c.volume_lease_seconds, 30);
	CHECK_STR(c.secrets_master_key, "/etc/cephvol/master.key");
	CHECK_STR(c.log_level, "info");
	CHECK_STR(c.log_target, "stderr");
	CHECK_STR(c.metrics_listen, "");
	CHECK(c.path == NULL);
	config_free(&c);
	CHECK(c.ceph_conf == NULL);
	config_free(&c);	/* twice is harmless */
}

static void
test_file(void)
{
	struct config c;
	const char *p = harness_file("good.conf",
	    "# a comment\n"
	    "; another comment\n"
	    "\n"
	    "[ceph]\n"
	    "conf = /tmp/ceph.conf\n"
	    "  pool=volumes  \n"
	    "pool = volumes2\n"		/* later wins */
	    "client = client.cephvol\n"
	    "keyring = /etc/ceph/x.keyring\n"
	    "timeout = 3\n"
	    "\t[volume]\t\n"
	    "default size = 1G\n"	/* ceph.conf style spaces */
	    "default_fs = xfs\n"
	    "object_size = 1M\n"
	    "lease_seconds = 9\n"
	    "[ log ]\n"
	    "level = debug\n"
	    "[metrics]\n"
	    "listen = 127.0.0.1:9283\n"
	    "[plugin]\n"
	    "driver = cvt-1\n"
	    "socket = /tmp/x/plugin.sock\n"
	    "timeout = 7");		/* no final newline */

	config_defaults(&c);
	CHECK_OK(config_load_file(&c, p, err, sizeof(err)));
	CHECK_STR(c.ceph_conf, "/tmp/ceph.conf");
	CHECK_STR(c.ceph_pool, "volumes2");
	CHECK_STR(c.ceph_client, "client.cephvol");
	CHECK_STR(c.ceph_keyring, "/etc/ceph/x.keyring");
	CHECK_U64(c.ceph_timeout, 3);
	CHECK_U64(c.volume_default_size, 1ull << 30);
	CHECK_STR(c.volume_default_fs, "xfs");
	CHECK_U64(c.volume_object_size, 1ull << 20);
	CHECK_U64(c.volume_lease_seconds, 9);
	CHECK_STR(c.log_level, "debug");
	CHECK_STR(c.metrics_listen, "127.0.0.1:9283");
	CHECK_STR(c.plugin_driver, "cvt-1");
	CHECK_STR(c.plugin_socket, "/tmp/x/plugin.sock");
	CHECK_U64(c.plugin_timeout, 7);
	CHECK_STR(c.path, p);
	/* untouched keys keep their defaults */
	CHECK_STR(c.secrets_master_key, "/etc/cephvol/master.key");
	CHECK_STR(c.log_target, "stderr");
	config_free(&c);

	/* an empty file is a valid file */
	config_defaults(&c);
	CHECK_OK(config_load_file(&c, harness_file("empty.conf", ""), err, sizeof(err)));
	CHECK_STR(c.ceph_pool, "cephvol");
	config_free(&c);
}

/* Load text as a file; expect -EINVAL and every needle in the sentence. */
static void
file_error(const char *text, const char *n1, const char *n2, const char *n3)
{
	struct config c;
	const char *p = harness_file("bad.conf", text);

	err[0] = '\0';
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, p, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, p);
	if (n1)
		CHECK_CONTAINS(err, n1);
	if (n2)
		CHECK_CONTAINS(err, n2);
	if (n3)
		CHECK_CONTAINS(err, n3);
	/* no text of the file: every bad line below says "hush" somewhere */
	if (strstr(text, "hush") && strstr(err, "hush"))
		HARNESS_FAIL_("the error shows the file's text: %s", err);
	config_free(&c);
}

static void
test_file_errors(void)
{
	/* an unknown key: its section and the closest known key, not itself */
	file_error("[volume]\ndefault_sise = 1G\n", "bad.conf:2",
	    "unknown key in section [volume]", "did you mean 'volume.default_size'");
	file_error("[volume]\nhush = 1G\n", "bad.conf:2", "unknown key in section [volume]",
	    NULL);
	CHECK(strstr(err, "did you mean") == NULL);	/* nothing close */
	/* the right key under the wrong section */
	file_error("[ceph]\n\n\nlease_seconds = 5\n", "bad.conf:4",
	    "unknown key in section [ceph]", "did you mean 'volume.lease_seconds'");
	/* a bad value: the key and what it accepts, not the value */
	file_error("[volume]\ndefault_size = 12hush\n", "bad.conf:2",
	    "bad value for key [volume] default_size",
	    "expected a size from 1M to 1P");
	file_error("[volume]\nobject_size = 3M\n", "bad value for key [volume] object_size",
	    "power of two", NULL);
	CHECK(strstr(err, "3M") == NULL);
	file_error("[volume]\nobject_size = 32K\n", "object_size", "64K to 64M", NULL);
	file_error("[volume]\nlease_seconds = 2\n", "lease_seconds", "from 3 to 3600", NULL);
	file_error("[volume]\ndefault_fs = hush\n", "default_fs", "ext4|xfs", NULL);
	file_error("[ceph]\nconf = hush.conf\n", "[ceph] conf", "absolute path", NULL);
	file_error("[ceph]\nclient = hush\n", "[ceph] client", "client.NAME", NULL);
	file_error("[ceph]\npool = a/hush\n", "[ceph] pool", "[a-zA-Z0-9]", NULL);
	file_error("[ceph]\npool =\n", "bad value for key [ceph] pool", NULL, NULL);
	file_error("[ceph]\ntimeout = 0\n", "[ceph] timeout", "from 1 to 3600", NULL);
	file_error("[ceph]\ntimeout = hush\n", "[ceph] timeout", NULL, NULL);
	file_error("[metrics]\nlisten = 9283\n", "[metrics] listen", "HOST:PORT", NULL);
	file_error("[metrics]\nlisten = hush:99999\n", "[metrics] listen", NULL, NULL);
	file_error("[log]\nlevel = hush\n", "[log] level", "error|warn|info|debug", NULL);
	file_error("[ceph]\nconf = /a\x1b[2Jhush\n", "[ceph] conf",
	    "control characters are not allowed", NULL);
	/* sections: a known one may be suggested, the file's is not shown */
	file_error("[hush]\n", "bad.conf:1", "unknown section;", "ceph, plugin");
	file_error("[volumes]\n", "bad.conf:1", "unknown section (did you mean [volume]?)",
	    NULL);
	file_error("[ceph\n", "bad.conf:1", "bad section header", NULL);
	file_error("[ceph] hush\n", "bad section header", NULL, NULL);
	file_error("hush = x\n", "bad.conf:1", "outside any section", NULL);
	/* a line that is nothing: /etc/shadow's first line, say */
	file_error("[ceph]\nroot:$y$hush:19000:0:99999:7:::\n", "bad.conf:2",
	    "not 'key = value', a [section] line or a comment", NULL);
	file_error("root:$6$hush:19000:0:99999:7:::\n", "bad.conf:1", "not 'key = value'",
	    NULL);
	/* a NUL byte (harness_file writes text up to its first NUL: add one) */
	{
		struct config c;
		char p[4200];
		snprintf(p, sizeof(p), "%s", harness_file("nul.conf", ""));
		FILE *f = fopen(p, "w");
		REQUIRE(f != NULL);
		fwrite("[ceph]\npool = a\0hush\n", 1, 21, f);
		REQUIRE(fclose(f) == 0);
		config_defaults(&c);
		CHECK_ERR(config_load_file(&c, p, err, sizeof(err)), -EINVAL);
		CHECK_CONTAINS(err, "nul.conf:2: a NUL byte: not a text file");
		CHECK(strstr(err, "hush") == NULL);
		config_free(&c);
	}
	/* a huge unknown key is neither shown nor slow to refuse */
	{
		size_t n = CONFIG_MAX_BYTES - 100;
		char *big = malloc(n + 1);
		REQUIRE(big != NULL);
		memcpy(big, "[ceph]\n", 7);
		memset(big + 7, 'h', n - 7 - 4);
		memcpy(big + n - 4, "=1\n", 3);
		big[n - 1] = '\0';
		file_error(big, "bad.conf:2", "unknown key in section [ceph]", NULL);
		CHECK(strlen(err) < 600);
		free(big);
	}
}

/* What a file that is not a small regular file gets: refused, not read. */
static void
test_file_limits(void)
{
	struct config c;
	char p[4200];
	FILE *f;

	/* exactly the limit is read */
	snprintf(p, sizeof(p), "%s", harness_file("max.conf", ""));
	f = fopen(p, "w");
	REQUIRE(f != NULL);
	fputs("[ceph]\npool = atlimit\n", f);
	for (long n = (long)strlen("[ceph]\npool = atlimit\n"); n < CONFIG_MAX_BYTES; n++)
		fputc(n % 64 == 63 ? '\n' : '#', f);
	REQUIRE(fclose(f) == 0);
	config_defaults(&c);
	CHECK_OK(config_load_file(&c, p, err, sizeof(err)));
	CHECK_STR(c.ceph_pool, "atlimit");
	config_free(&c);

	/* one byte more is refused before a line is parsed */
	f = fopen(p, "a");
	REQUIRE(f != NULL);
	fputs("x", f);
	REQUIRE(fclose(f) == 0);
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, p, err, sizeof(err)), -EFBIG);
	CHECK_CONTAINS(err, p);
	CHECK_CONTAINS(err, "too big: 1048577 bytes, the limit is 1024 KiB");
	CHECK_STR(c.ceph_pool, "cephvol");
	config_free(&c);

	/* /dev/zero: a device, refused at once instead of read forever */
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, "/dev/zero", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "config file /dev/zero is a character device; it must be "
	    "a regular file of at most 1024 KiB");
	config_free(&c);

	/* a directory */
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, harness_tmpdir(), err, sizeof(err)), -EISDIR);
	CHECK_CONTAINS(err, "is a directory");
	config_free(&c);

	/* a FIFO with no writer: refused, not waited on */
	snprintf(p, sizeof(p), "%s/fifo.conf", harness_tmpdir());
	unlink(p);
	REQUIRE(mkfifo(p, 0600) == 0);
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, p, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "is a FIFO");
	config_free(&c);
	unlink(p);

	/* a regular file whose size says 0 but holds more (/proc) is read,
	 * bounded; its text is not shown */
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, "/proc/self/status", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "/proc/self/status:1: not 'key = value'");
	CHECK(strstr(err, "Name") == NULL);
	config_free(&c);

	/* /dev/null is the one device accepted: an empty file */
	CHECK_OK(config_init(&c, "/dev/null", NULL, 0, err, sizeof(err)));
	CHECK_STR(c.ceph_pool, "cephvol");
	CHECK_STR(c.path, "/dev/null");
	config_free(&c);
	/* and config_init passes the refusal on */
	CHECK_ERR(config_init(&c, "/dev/zero", NULL, 0, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "/dev/zero is a character device");
	config_free(&c);
}

static void
test_missing_file(void)
{
	struct config c;
	char p[4200];

	snprintf(p, sizeof(p), "%s/no-such.conf", harness_tmpdir());
	config_defaults(&c);
	CHECK_ERR(config_load_file(&c, p, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, p);
	config_free(&c);

	/* config_init with an explicit path: a missing file is an error */
	CHECK_ERR(config_init(&c, p, NULL, 0, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "config file");
	CHECK_CONTAINS(err, p);
	CHECK_CONTAINS(err, "does not exist");
	config_free(&c);

	/* and through $CEPHVOL_CONF too */
	setenv(CONFIG_ENV, p, 1);
	CHECK_ERR(config_init(&c, NULL, NULL, 0, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "does not exist");
	config_free(&c);
	unsetenv(CONFIG_ENV);

	/* the default file may be missing (only checkable where it is) */
	if (access(CONFIG_DEFAULT_PATH, F_OK) != 0) {
		CHECK_OK(config_init(&c, NULL, NULL, 0, err, sizeof(err)));
		CHECK_STR(c.ceph_pool, "cephvol");
		CHECK(c.path == NULL);
		config_free(&c);
	}
}

static void
test_overrides(void)
{
	struct config c;
	const char *p = harness_file("over.conf", "[ceph]\npool = fromfile\ntimeout = 5\n");
	char *ov[] = { "ceph.pool=fromarg", "volume.default_size=2G",
	    "ceph.pool=last", "log.level=warn", "ceph.keyring=" };

	struct config_args ca = { .path = p };
	for (int i = 0; i < 5; i++)
		CHECK_OK(config_args_add(&ca, ov[i]));	/* the way the mains collect -o */
	CHECK_U64(ca.n_overrides, 5);
	CHECK_OK(config_init(&c, ca.path, ca.overrides, ca.n_overrides, err, sizeof(err)));
	config_args_free(&ca);
	CHECK(ca.overrides == NULL && ca.n_overrides == 0);
	CHECK_STR(c.ceph_pool, "last");		/* -o after the file, in order */
	CHECK_U64(c.ceph_timeout, 5);		/* the file still applies */
	CHECK_U64(c.volume_default_size, 2ull << 30);
	CHECK_STR(c.log_level, "warn");
	CHECK_STR(c.ceph_keyring, "");
	config_free(&c);

	/* $CEPHVOL_CONF is read when no path is given; a path beats it */
	setenv(CONFIG_ENV, p, 1);
	CHECK_OK(config_init(&c, NULL, NULL, 0, err, sizeof(err)));
	CHECK_STR(c.ceph_pool, "fromfile");
	CHECK_STR(c.path, p);
	config_free(&c);
	const char *p2 = harness_file("other.conf", "[ceph]\npool = other\n");
	CHECK_OK(config_init(&c, p2, NULL, 0, err, sizeof(err)));
	CHECK_STR(c.ceph_pool, "other");
	config_free(&c);
	unsetenv(CONFIG_ENV);

	/* override errors */
	char *bad1[] = { "ceph.polo=x" };
	CHECK_ERR(config_init(&c, p, bad1, 1, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "-o");
	CHECK_CONTAINS(err, "unknown key 'polo'");
	CHECK_CONTAINS(err, "did you mean 'ceph.pool'");
	config_free(&c);

	char *bad2[] = { "ceph.pool" };
	CHECK_ERR(config_init(&c, p, bad2, 1, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "expected section.key=value");
	config_free(&c);

	char *bad3[] = { "pool=x" };
	CHECK_ERR(config_init(&c, p, bad3, 1, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "section.key");
	config_free(&c);

	char *bad4[] = { "volume.default_size=huge" };
	CHECK_ERR(config_init(&c, p, bad4, 1, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "bad value 'huge' for key [volume] default_size");
	config_free(&c);

	/* config_set directly, with its origin */
	config_defaults(&c);
	CHECK_OK(config_set(&c, "plugin.driver", "abc", "test", err, sizeof(err)));
	CHECK_STR(c.plugin_driver, "abc");
	CHECK_ERR(config_set(&c, "plugin.driver", "-abc", "test", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "test: bad value '-abc'");
	CHECK_STR(c.plugin_driver, "abc");	/* a rejected value changes nothing */
	CHECK_OK(config_set_arg(&c, "volume.lease_seconds=3600", err, sizeof(err)));
	CHECK_U64(c.volume_lease_seconds, 3600);
	CHECK_ERR(config_set_arg(&c, "volume.lease_seconds=3601", err, sizeof(err)), -EINVAL);
	CHECK_U64(c.volume_lease_seconds, 3600);
	CHECK_OK(config_set_arg(&c, "metrics.listen=", err, sizeof(err)));
	CHECK_OK(config_set_arg(&c, "metrics.listen=[::1]:9283", err, sizeof(err)));
	CHECK_OK(config_set_arg(&c, "volume.object_size=64K", err, sizeof(err)));
	CHECK_OK(config_set_arg(&c, "volume.object_size=64M", err, sizeof(err)));
	CHECK_U64(c.volume_object_size, 64ull << 20);
	config_free(&c);
}

/* -o text is the user's own: shown, but escaped and cut short. */
static void
test_override_shown(void)
{
	struct config c;
	char big[400];

	config_defaults(&c);
	/* a control character is refused in any value, and shown escaped */
	CHECK_ERR(config_set_arg(&c, "ceph.conf=/x\n[ceph]\npool = evil", err,
	    sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "-o: bad value '/x\\x0a[ceph]\\x0apool = evil' for key "
	    "[ceph] conf: control characters are not allowed");
	CHECK(strchr(err, '\n') == NULL);
	CHECK_STR(c.ceph_conf, "/etc/ceph/ceph.conf");
	CHECK_ERR(config_set_arg(&c, "log.level=\x1b]0;x\x07", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "'\\x1b]0;x\\x07'");
	CHECK_ERR(config_set_arg(&c, "plugin.driver=a\tb", err, sizeof(err)), -EINVAL);
	CHECK_ERR(config_set_arg(&c, "metrics.listen=127.0.0.1:1\x7f", err, sizeof(err)),
	    -EINVAL);
	/* an unknown key and section, escaped */
	CHECK_ERR(config_set_arg(&c, "ce\x1bph.po\\ol=1", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "-o: unknown key 'po\\x5col' in section [ce\\x1bph]");
	CHECK_ERR(config_set_arg(&c, "no-dot\x01=1", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "key 'no-dot\\x01' must be written section.key");
	CHECK_ERR(config_set_arg(&c, "no\x02" "equals", err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "-o no\\x02equals: expected section.key=value");
	/* a long value: 64 bytes of it, then "..." */
	memset(big, 'v', sizeof(big));
	memcpy(big, "ceph.pool=/", 11);
	big[sizeof(big) - 1] = '\0';
	CHECK_ERR(config_set_arg(&c, big, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "bad value '/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...'");
	CHECK(strlen(err) < 300);
	/* a long unknown key: bounded and no suggestion work */
	memset(big, 'k', 200);
	memcpy(big, "ceph.", 5);
	memcpy(big + 200, "=1", 3);
	CHECK_ERR(config_set_arg(&c, big, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "...' in section [ceph]");
	CHECK(strlen(err) < 300);
	config_free(&c);

	/* the path too, in "does not exist" and in the dump's first line */
	CHECK_ERR(config_init(&c, "/no/such\n[ceph]", NULL, 0, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "config file /no/such\\x0a[ceph] does not exist");
	config_free(&c);
	{
		char p[4200], *buf = NULL;
		size_t len = 0;
		snprintf(p, sizeof(p), "%s/new\nline.conf", harness_tmpdir());
		FILE *f = fopen(p, "w");
		REQUIRE(f != NULL);
		fputs("[ceph]\npool = nl\n", f);
		REQUIRE(fclose(f) == 0);
		CHECK_OK(config_init(&c, p, NULL, 0, err, sizeof(err)));
		CHECK_STR(c.path, p);		/* the real path, for the helpers */
		f = open_memstream(&buf, &len);
		REQUIRE(f != NULL);
		config_dump(&c, f);
		fclose(f);
		CHECK_CONTAINS(buf, "/new\\x0aline.conf\n");
		/* every line of the dump is a comment, a section or a key */
		for (char *l = buf, *nl; l && *l; l = nl ? nl + 1 : NULL) {
			nl = strchr(l, '\n');
			CHECK(*l == '#' || *l == '[' || *l == '\n' || strstr(l, " = ") != NULL);
		}
		free(buf);
		config_free(&c);
		unlink(p);
	}
}

/* Every field of two configurations, compared. */
static void
check_same(const struct config *a, const struct config *b)
{
	CHECK_STR(a->ceph_conf, b->ceph_conf);
	CHECK_STR(a->ceph_client, b->ceph_client);
	CHECK_STR(a->ceph_keyring, b->ceph_keyring);
	CHECK_STR(a->ceph_pool, b->ceph_pool);
	CHECK_U64(a->ceph_timeout, b->ceph_timeout);
	CHECK_STR(a->plugin_driver, b->plugin_driver);
	CHECK_STR(a->plugin_socket, b->plugin_socket);
	CHECK_STR(a->plugin_state_dir, b->plugin_state_dir);
	CHECK_STR(a->plugin_mount_root, b->plugin_mount_root);
	CHECK_U64(a->plugin_timeout, b->plugin_timeout);
	CHECK_U64(a->volume_default_size, b->volume_default_size);
	CHECK_STR(a->volume_default_fs, b->volume_default_fs);
	CHECK_U64(a->volume_object_size, b->volume_object_size);
	CHECK_U64(a->volume_lease_seconds, b->volume_lease_seconds);
	CHECK_STR(a->secrets_master_key, b->secrets_master_key);
	CHECK_STR(a->log_level, b->log_level);
	CHECK_STR(a->log_target, b->log_target);
	CHECK_STR(a->metrics_listen, b->metrics_listen);
}

/* dump(config) read back as a file gives the same config. */
static void
dump_round_trip(struct config *c, const char *name)
{
	char path[4200];
	struct config back;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", harness_tmpdir(), name);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	config_dump(c, f);
	REQUIRE(fclose(f) == 0);
	config_defaults(&back);
	/* start far from c so a key the dump forgets shows up */
	CHECK_OK(config_set_arg(&back, "ceph.pool=not-from-dump", err, sizeof(err)));
	CHECK_OK(config_set_arg(&back, "volume.default_size=3M", err, sizeof(err)));
	CHECK_OK(config_load_file(&back, path, err, sizeof(err)));
	if (err[0] && back.path == NULL)
		fprintf(stderr, "  %s\n", err);
	check_same(c, &back);
	config_free(&back);
}

static void
test_dump_round_trip(void)
{
	struct config c;
	char *ov[] = {
		"ceph.conf=/srv/ceph/ceph.conf", "ceph.client=client.vol",
		"ceph.keyring=/srv/ceph/vol.keyring", "ceph.pool=vols", "ceph.timeout=77",
		"plugin.driver=cv2", "plugin.socket=/run/x.sock", "plugin.state_dir=/s",
		"plugin.mount_root=/m", "plugin.timeout=9", "volume.default_size=1536M",
		"volume.default_fs=xfs", "volume.object_size=64K", "volume.lease_seconds=3",
		"secrets.master_key=/k", "log.level=error", "log.target=syslog",
		"metrics.listen=127.0.0.1:9",
	};

	config_defaults(&c);
	dump_round_trip(&c, "dump-defaults.conf");
	config_free(&c);

	CHECK_OK(config_init(&c, harness_file("empty2.conf", ""), ov,
	    sizeof(ov) / sizeof(ov[0]), err, sizeof(err)));
	dump_round_trip(&c, "dump-all.conf");
	config_free(&c);

	/* a size that is not a whole unit survives too */
	config_defaults(&c);
	CHECK_OK(config_set_arg(&c, "volume.default_size=1048577", err, sizeof(err)));
	dump_round_trip(&c, "dump-odd.conf");
	config_free(&c);
}

/* The dump names every key once, with help and default. */
static void
test_dump_text(void)
{
	struct config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	REQUIRE(f != NULL);
	config_defaults(&c);
	config_dump(&c, f);
	fclose(f);
	CHECK_CONTAINS(buf, "(built-in defaults)");
	CHECK_CONTAINS(buf, "[ceph]\n");
	CHECK_CONTAINS(buf, "\npool = cephvol\n");
	CHECK_CONTAINS(buf, "\n[volume]\n");
	CHECK_CONTAINS(buf, "\ndefault_size = 10G\n");
	CHECK_CONTAINS(buf, "\nobject_size = 4M\n");
	CHECK_CONTAINS(buf, "default: 10G");
	CHECK_CONTAINS(buf, "\n[secrets]\n");
	CHECK_CONTAINS(buf, "\n[metrics]\n");
	CHECK_CONTAINS(buf, "\nlisten = \n");
	/* no key appears twice */
	CHECK(strstr(strstr(buf, "\npool = ") + 1, "\npool = ") == NULL);
	free(buf);
	config_free(&c);
}

HARNESS_MAIN(
	CASE(test_defaults),
	CASE(test_file),
	CASE(test_file_errors),
	CASE(test_file_limits),
	CASE(test_missing_file),
	CASE(test_overrides),
	CASE(test_override_shown),
	CASE(test_dump_round_trip),
	CASE(test_dump_text),
)
