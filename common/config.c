/*
 * config.c - the table of configuration keys, and everything that reads
 * it: defaults, validating and storing one value, finding a key or
 * suggesting one, --dump-config. The readers of text (the config file,
 * -o overrides, the program start) are config_file.c.
 *
 * Each key names its section, name, type, the offset of its field in
 * struct config, its default (as text, parsed by the same code as the file)
 * and a one-line help. Adding a key is one line in config_keys[] plus the
 * field; the docs test checks that docs/cephvol.conf.md names every key.
 * No state outside the struct config the caller owns; no locking.
 *
 * What an error may show: a config file may be any file the caller can
 * name (`-c /etc/shadow`), so an error about a file names the file, the
 * line and what is wrong, and shows no byte of the file: only names from
 * config_keys[] (a known section, a known key, a suggestion). Text from the
 * command line (-o) is the user's own and is shown, escaped (\xNN for
 * anything but printable ASCII) and cut at CONFIG_SHOWN_MAX bytes
 * (config_shown). No value may hold a control character, so --dump-config
 * prints one line per key.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/config_internal.h"
#include "common/log.h"
#include "common/util.h"

enum key_type {
	KEY_STRING,	/* any non-empty text */
	KEY_PATH,	/* absolute path */
	KEY_PATH_OPT,	/* absolute path or empty */
	KEY_NAME,	/* name_valid() */
	KEY_CLIENT,	/* client.NAME */
	KEY_SECONDS,	/* integer in [min, max] */
	KEY_SIZE,	/* size_parse() in [min, max] */
	KEY_POW2,	/* size_parse(), power of two in [min, max] */
	KEY_ENUM,	/* one of choices */
	KEY_LISTEN,	/* "" or HOST:PORT */
};

struct config_key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;
	uint64_t	 min, max;
	const char	*choices;	/* KEY_ENUM: "a|b|c" */
	const char	*help;
};

#define F(field)	offsetof(struct config, field)

#define NAME_SUGGEST_MAX 64	/* longer unknown names get no suggestion */

static const struct config_key config_keys[] = {
	{ "ceph", "conf", KEY_PATH, F(ceph_conf), "/etc/ceph/ceph.conf", 0, 0, NULL,
	  "ceph.conf of the cluster that stores volumes and secrets" },
	{ "ceph", "client", KEY_CLIENT, F(ceph_client), "client.admin", 0, 0, NULL,
	  "cephx user to connect as (client.NAME)" },
	{ "ceph", "keyring", KEY_PATH_OPT, F(ceph_keyring), "", 0, 0, NULL,
	  "keyring of that user; empty means the one ceph.conf names" },
	{ "ceph", "pool", KEY_NAME, F(ceph_pool), "cephvol", 0, 0, NULL,
	  "RADOS pool holding the catalogue, volumes and secrets" },
	{ "ceph", "timeout", KEY_SECONDS, F(ceph_timeout), "10", 1, 3600, NULL,
	  "seconds to wait for the cluster when connecting and for monitor commands" },
	{ "plugin", "driver", KEY_NAME, F(plugin_driver), "cephvol", 0, 0, NULL,
	  "Docker volume driver name (--volume-driver=NAME)" },
	{ "plugin", "socket", KEY_PATH, F(plugin_socket), "/run/docker/plugins/cephvol.sock", 0, 0, NULL,
	  "unix socket cephvold serves Docker's VolumeDriver API on" },
	{ "plugin", "state_dir", KEY_PATH, F(plugin_state_dir), "/var/lib/cephvol", 0, 0, NULL,
	  "host-local state: mount reference counts, FUSE mount points" },
	{ "plugin", "mount_root", KEY_PATH, F(plugin_mount_root), "/var/lib/cephvol/mounts", 0, 0, NULL,
	  "where mounted volumes appear (the Mountpoint given to Docker)" },
	{ "plugin", "timeout", KEY_SECONDS, F(plugin_timeout), "120", 1, 3600, NULL,
	  "seconds any one Docker request may take before it fails with an error" },
	{ "volume", "default_size", KEY_SIZE, F(volume_default_size), "10G", 1 << 20, (uint64_t)1 << 50, NULL,
	  "size of a volume created without -o size" },
	{ "volume", "default_fs", KEY_ENUM, F(volume_default_fs), "xfs", 0, 0, "ext4|xfs",
	  "filesystem made on a volume created without -o fs" },
	{ "volume", "object_size", KEY_POW2, F(volume_object_size), "4M", 64 << 10, 64 << 20, NULL,
	  "RADOS object size of new volumes (power of two, 64K to 64M)" },
	{ "volume", "lease_seconds", KEY_SECONDS, F(volume_lease_seconds), "30", 3, 3600, NULL,
	  "lifetime of a volume's lease; renewed every third of it" },
	{ "secrets", "master_key", KEY_PATH, F(secrets_master_key), "/etc/cephvol/master.key", 0, 0, NULL,
	  "root-only file holding the 32-byte master key (cephvol key init)" },
	{ "log", "level", KEY_ENUM, F(log_level), "info", 0, 0, "error|warn|info|debug",
	  "least severe level logged" },
	{ "log", "target", KEY_ENUM, F(log_target), "stderr", 0, 0, "stderr|syslog",
	  "where log lines go" },
	{ "metrics", "listen", KEY_LISTEN, F(metrics_listen), "", 0, 0, NULL,
	  "HOST:PORT for Prometheus metrics (cephvold only); empty turns them off" },
};

static char **
str_field(struct config *cfg, const struct config_key *k)
{
	return (char **)((char *)cfg + k->offset);
}

static uint64_t *
u64_field(struct config *cfg, const struct config_key *k)
{
	return (uint64_t *)((char *)cfg + k->offset);
}

/*
 * s as it may appear in an error: printable ASCII as is, every other byte
 * (and the backslash) as \xNN, at most max bytes of s, then "...".
 */
const char *
config_shown(const char *s, size_t max, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && i < max && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool
has_control(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return true;
	return false;
}

static bool
key_is_string(const struct config_key *k)
{
	return k->type != KEY_SECONDS && k->type != KEY_SIZE && k->type != KEY_POW2;
}

static const char *
key_accepts(const struct config_key *k, char *buf, size_t len)
{
	char a[32], b[32];

	switch (k->type) {
	case KEY_STRING:
		return "any non-empty text";
	case KEY_PATH:
		return "an absolute path";
	case KEY_PATH_OPT:
		return "an absolute path, or nothing";
	case KEY_NAME:
		return "a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 bytes";
	case KEY_CLIENT:
		return "client.NAME, NAME matching [a-zA-Z0-9][a-zA-Z0-9_.-]*";
	case KEY_SECONDS:
		snprintf(buf, len, "whole seconds from %" PRIu64 " to %" PRIu64, k->min, k->max);
		return buf;
	case KEY_SIZE:
		snprintf(buf, len, "a size from %s to %s, like 512M or 10G",
		    size_format(k->min, a, sizeof(a)), size_format(k->max, b, sizeof(b)));
		return buf;
	case KEY_POW2:
		snprintf(buf, len, "a power of two from %s to %s, like 4M",
		    size_format(k->min, a, sizeof(a)), size_format(k->max, b, sizeof(b)));
		return buf;
	case KEY_ENUM:
		snprintf(buf, len, "one of %s", k->choices);
		return buf;
	case KEY_LISTEN:
		return "HOST:PORT such as 127.0.0.1:9283, or nothing to turn it off";
	}
	return "?";
}

static bool
enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; *p; ) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && n > 0 && strncmp(p, v, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

static bool
listen_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;

	if (*v == '\0')
		return true;
	if (colon == NULL || colon == v)
		return false;
	return uint_parse(colon + 1, 1, 65535, &port) == 0;
}

/* Validate v for k; on success store it. -EILSEQ: a control character. */
static int
key_store(struct config *cfg, const struct config_key *k, const char *v)
{
	uint64_t n;
	int r;

	if (has_control(v))
		return -EILSEQ;
	switch (k->type) {
	case KEY_STRING:
		if (*v == '\0')
			return -EINVAL;
		break;
	case KEY_PATH:
		if (v[0] != '/')
			return -EINVAL;
		break;
	case KEY_PATH_OPT:
		if (v[0] != '\0' && v[0] != '/')
			return -EINVAL;
		break;
	case KEY_NAME:
		if (!name_valid(v))
			return -EINVAL;
		break;
	case KEY_CLIENT:
		if (strncmp(v, "client.", 7) != 0 || !name_valid(v + 7))
			return -EINVAL;
		break;
	case KEY_SECONDS:
		r = uint_parse(v, k->min, k->max, &n);
		if (r < 0)
			return r;
		*u64_field(cfg, k) = n;
		return 0;
	case KEY_SIZE:
	case KEY_POW2:
		r = size_parse(v, &n);
		if (r < 0)
			return r;
		if (n < k->min || n > k->max)
			return -ERANGE;
		if (k->type == KEY_POW2 && (n & (n - 1)) != 0)
			return -EINVAL;
		*u64_field(cfg, k) = n;
		return 0;
	case KEY_ENUM:
		if (!enum_has(k->choices, v))
			return -EINVAL;
		break;
	case KEY_LISTEN:
		if (!listen_valid(v))
			return -EINVAL;
		break;
	}
	char *copy = strdup(v);
	if (copy == NULL)
		return -ENOMEM;
	free(*str_field(cfg, k));
	*str_field(cfg, k) = copy;
	return 0;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (key_store(cfg, &config_keys[i], config_keys[i].def) < 0)
			fatal("config: bad built-in default for %s.%s",
			    config_keys[i].section, config_keys[i].name);
	}
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (key_is_string(&config_keys[i])) {
			free(*str_field(cfg, &config_keys[i]));
			*str_field(cfg, &config_keys[i]) = NULL;
		}
	}
	free(cfg->path);
	cfg->path = NULL;
}

static const struct config_key *
key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* The known "section.key" closest to the unknown one, or "". */
static void
key_suggest(const char *section, const char *name, char *buf, size_t len)
{
	char want[2 * NAME_SUGGEST_MAX + 2], have[512];
	size_t best = SIZE_MAX;

	buf[0] = '\0';
	/* edit_distance is quadratic: a megabyte of name gets no advice */
	if (strlen(section) > NAME_SUGGEST_MAX || strlen(name) > NAME_SUGGEST_MAX)
		return;
	snprintf(want, sizeof(want), "%s.%s", section, name);
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		snprintf(have, sizeof(have), "%s.%s", config_keys[i].section,
		    config_keys[i].name);
		size_t d = edit_distance(want, have);
		/* Same key name under another section is the likeliest slip. */
		if (strcmp(config_keys[i].name, name) == 0)
			d = 1;
		if (d < best) {
			best = d;
			snprintf(buf, len, "%s", have);
		}
	}
	if (best > 4)
		buf[0] = '\0';
}

bool
config_section_known(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

/* The known section closest to the unknown one, or NULL. */
const char *
config_section_suggest(const char *section)
{
	const char *best = NULL;
	size_t best_d = 3;	/* at most 2 edits away */

	if (strlen(section) > NAME_SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		size_t d = edit_distance(section, config_keys[i].section);
		if (d < best_d) {
			best_d = d;
			best = config_keys[i].section;
		}
	}
	return best;
}

/*
 * Set section.name to value. origin ("-o", "FILE:LINE") starts the error
 * sentence; echo says whether the key and value may be shown in it (text
 * from the command line) or not (text from a file: see the top comment).
 */
int
config_key_set(struct config *cfg, const char *section, const char *name,
    const char *value, const char *origin, bool echo, char *err, size_t errlen)
{
	char accepts[160], suggestion[160];
	char b1[4 * CONFIG_SHOWN_MAX + 8], b2[4 * CONFIG_SHOWN_MAX + 8];
	const struct config_key *k;
	int r;

	k = key_find(section, name);
	if (k == NULL) {
		key_suggest(section, name, suggestion, sizeof(suggestion));
		if (echo)
			snprintf(err, errlen, "%s: unknown key '%s' in section [%s]%s%s%s",
			    origin, config_shown(name, CONFIG_SHOWN_MAX, b1, sizeof(b1)),
			    config_shown(section, CONFIG_SHOWN_MAX, b2, sizeof(b2)),
			    suggestion[0] ? "; did you mean '" : "", suggestion,
			    suggestion[0] ? "'?" : "");
		else	/* the file's section is a known one (checked by the reader) */
			snprintf(err, errlen, "%s: unknown key in section [%s]%s%s%s",
			    origin, section,
			    suggestion[0] ? "; did you mean '" : "", suggestion,
			    suggestion[0] ? "'?" : "");
		return -EINVAL;
	}
	r = key_store(cfg, k, value);
	if (r == -ENOMEM) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return r;
	}
	if (r < 0) {
		if (echo)
			snprintf(err, errlen, "%s: bad value '%s' for key [%s] %s: ", origin,
			    config_shown(value, CONFIG_SHOWN_MAX, b1, sizeof(b1)),
			    k->section, k->name);
		else
			snprintf(err, errlen, "%s: bad value for key [%s] %s: ", origin,
			    k->section, k->name);
		size_t used = strlen(err);
		if (r == -EILSEQ)
			snprintf(err + used, errlen - used, "control characters are not allowed");
		else
			snprintf(err + used, errlen - used, "expected %s",
			    key_accepts(k, accepts, sizeof(accepts)));
		return -EINVAL;
	}
	return 0;
}

void
config_dump(const struct config *cfg, FILE *out)
{
	const char *section = "";
	char accepts[160], buf[32], spath[4 * CONFIG_SHOWN_PATH_MAX + 8];

	/* the path escaped: a newline in it would start a line of config */
	fprintf(out, "# cephvol configuration%s%s\n", cfg->path ? " read from " : "",
	    cfg->path ? config_shown(cfg->path, CONFIG_SHOWN_PATH_MAX, spath,
	    sizeof(spath)) : " (built-in defaults)");
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		fprintf(out, "# %s (%s; default: %s)\n", k->help,
		    key_accepts(k, accepts, sizeof(accepts)), k->def[0] ? k->def : "empty");
		if (key_is_string(k))
			fprintf(out, "%s = %s\n", k->name,
			    *str_field((struct config *)cfg, k));
		else if (k->type == KEY_SECONDS)
			fprintf(out, "%s = %" PRIu64 "\n", k->name,
			    *u64_field((struct config *)cfg, k));
		else
			fprintf(out, "%s = %s\n", k->name,
			    size_format(*u64_field((struct config *)cfg, k), buf, sizeof(buf)));
	}
}
