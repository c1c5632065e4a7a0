/*
 * config.c - the table of configuration keys and its three readers: the
 * config file, -o overrides and --dump-config.
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
 * anything but printable ASCII) and cut at SHOWN_MAX bytes. A file is read
 * only if it is a regular file (or /dev/null) of at most CONFIG_MAX_BYTES,
 * and no value may hold a control character, so --dump-config prints one
 * line per key.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/config.h"
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

#define SHOWN_MAX	64	/* bytes of a command-line key or value shown */
#define SHOWN_PATH_MAX	256	/* bytes of a path shown */
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
	{ "volume", "default_fs", KEY_ENUM, F(volume_default_fs), "ext4", 0, 0, "ext4|xfs",
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
static const char *
shown(const char *s, size_t max, char *buf, size_t len)
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

static bool
section_known(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

/* The known section closest to the unknown one, or NULL. */
static const char *
section_suggest(const char *section)
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
static int
key_set(struct config *cfg, const char *section, const char *name,
    const char *value, const char *origin, bool echo, char *err, size_t errlen)
{
	char accepts[160], suggestion[160], b1[4 * SHOWN_MAX + 8], b2[4 * SHOWN_MAX + 8];
	const struct config_key *k;
	int r;

	k = key_find(section, name);
	if (k == NULL) {
		key_suggest(section, name, suggestion, sizeof(suggestion));
		if (echo)
			snprintf(err, errlen, "%s: unknown key '%s' in section [%s]%s%s%s",
			    origin, shown(name, SHOWN_MAX, b1, sizeof(b1)),
			    shown(section, SHOWN_MAX, b2, sizeof(b2)),
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
			    shown(value, SHOWN_MAX, b1, sizeof(b1)), k->section, k->name);
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

int
config_set(struct config *cfg, const char *key, const char *value,
    const char *origin, char *err, size_t errlen)
{
	char section[128], b[4 * SHOWN_MAX + 8];
	const char *dot = strchr(key, '.');

	if (dot == NULL || (size_t)(dot - key) >= sizeof(section)) {
		snprintf(err, errlen, "%s: key '%s' must be written section.key, "
		    "like volume.default_size", origin, shown(key, SHOWN_MAX, b, sizeof(b)));
		return -EINVAL;
	}
	memcpy(section, key, (size_t)(dot - key));
	section[dot - key] = '\0';
	return key_set(cfg, section, dot + 1, value, origin, true, err, errlen);
}

int
config_set_arg(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char key[256], b[4 * SHOWN_MAX + 8];

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(key)) {
		snprintf(err, errlen, "-o %s: expected section.key=value, like "
		    "ceph.pool=volumes", shown(arg, SHOWN_MAX, b, sizeof(b)));
		return -EINVAL;
	}
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	return config_set(cfg, key, eq + 1, "-o", err, errlen);
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * The whole of a config file, NUL-terminated, in *out (new; *len bytes).
 * Only a regular file (or /dev/null, which reads as empty) of at most
 * CONFIG_MAX_BYTES: /dev/zero, a FIFO or a growing file cannot keep us
 * reading. The size is checked before reading and while reading (a file
 * in /proc says 0 and may hold more). spath is path as errors show it.
 */
static int
config_read(const char *path, const char *spath, char **out, size_t *len,
    char *err, size_t errlen)
{
	size_t cap = 4096, n = 0;
	struct stat sb;
	char *buf;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read config file %s: %s", spath, strerror(-r));
		return r;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot read config file %s: %s", spath, strerror(-r));
		goto out_close;
	}
	if (S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 1 && minor(sb.st_rdev) == 3) {
		n = 0;		/* /dev/null: an empty file */
		cap = 1;
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "config file %s is %s; it must be a regular file "
		    "of at most %u KiB", spath, file_kind(sb.st_mode),
		    (unsigned)(CONFIG_MAX_BYTES >> 10));
		r = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
		goto out_close;
	} else if (sb.st_size > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "config file %s is too big: %jd bytes, the limit "
		    "is %u KiB", spath, (intmax_t)sb.st_size,
		    (unsigned)(CONFIG_MAX_BYTES >> 10));
		r = -EFBIG;
		goto out_close;
	} else if ((size_t)sb.st_size + 1 > cap)
		cap = (size_t)sb.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "cannot read config file %s: out of memory", spath);
		goto out_close;
	}
	while (cap > 1) {	/* always one byte spare for the NUL */
		if (n + 1 == cap) {
			if (n > CONFIG_MAX_BYTES) {
				snprintf(err, errlen, "config file %s is too big: more "
				    "than the limit of %u KiB", spath,
				    (unsigned)(CONFIG_MAX_BYTES >> 10));
				r = -EFBIG;
				goto out_free;
			}
			size_t ncap = cap * 2 > CONFIG_MAX_BYTES + 2 ?
			    CONFIG_MAX_BYTES + 2 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				r = -ENOMEM;
				snprintf(err, errlen, "cannot read config file %s: "
				    "out of memory", spath);
				goto out_free;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot read config file %s: %s", spath,
			    strerror(-r));
			goto out_free;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	close(fd);
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return r;
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char section[128] = "";
	char spath[4 * SHOWN_PATH_MAX + 8], origin[sizeof(spath) + 16];
	char *text = NULL, *line, *next;
	size_t len = 0;
	unsigned lineno = 0;
	int r;

	shown(path, SHOWN_PATH_MAX, spath, sizeof(spath));
	r = config_read(path, spath, &text, &len, err, errlen);
	if (r < 0)
		return r;
	/* strtok_r would skip empty lines and miscount: split by hand. */
	for (line = text; line != NULL; line = next) {
		char *nl = memchr(line, '\n', len - (size_t)(line - text));
		next = nl ? nl + 1 : NULL;
		lineno++;
		snprintf(origin, sizeof(origin), "%s:%u", spath, lineno);
		if (memchr(line, '\0', (nl ? nl : text + len) - line) != NULL) {
			snprintf(err, errlen, "%s: a NUL byte: not a text file", origin);
			r = -EINVAL;
			goto out_free;
		}
		if (nl)
			*nl = '\0';

		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (close == NULL || *trim(close + 1) != '\0' ||
			    (size_t)(close - s - 1) >= sizeof(section)) {
				snprintf(err, errlen, "%s: bad section header: expected "
				    "[section]", origin);
				r = -EINVAL;
				goto out_free;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			if (!section_known(section)) {
				const char *like = section_suggest(section);
				snprintf(err, errlen, "%s: unknown section%s%s%s; known "
				    "sections are ceph, plugin, volume, secrets, log, "
				    "metrics", origin, like ? " (did you mean [" : "",
				    like ? like : "", like ? "]?)" : "");
				r = -EINVAL;
				goto out_free;
			}
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s: not 'key = value', a [section] line "
			    "or a comment", origin);
			r = -EINVAL;
			goto out_free;
		}
		if (section[0] == '\0') {
			snprintf(err, errlen, "%s: key outside any section; start the "
			    "file with a [section] line", origin);
			r = -EINVAL;
			goto out_free;
		}
		*eq = '\0';
		char *name = trim(s), *value = trim(eq + 1);
		/* ceph.conf style: "lease seconds" means lease_seconds. */
		for (char *p = name; *p; p++)
			if (*p == ' ')
				*p = '_';
		r = key_set(cfg, section, name, value, origin, false, err, errlen);
		if (r < 0)
			goto out_free;
	}
	free(cfg->path);
	cfg->path = strdup(path);
	r = 0;
out_free:
	free(text);
	return r;
}

int
config_args_add(struct config_args *ca, char *override)
{
	char **grown = realloc(ca->overrides, (ca->n_overrides + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	ca->overrides = grown;
	ca->overrides[ca->n_overrides++] = override;
	return 0;
}

void
config_args_free(struct config_args *ca)
{
	free(ca->overrides);
	ca->overrides = NULL;
	ca->n_overrides = 0;
}

int
config_init(struct config *cfg, const char *path, char *const *overrides,
    size_t n_overrides, char *err, size_t errlen)
{
	bool explicit_path = path != NULL;
	int r;

	config_defaults(cfg);
	if (path == NULL) {
		path = getenv(CONFIG_ENV);
		explicit_path = path != NULL && *path != '\0';
		if (!explicit_path)
			path = CONFIG_DEFAULT_PATH;
	}
	r = config_load_file(cfg, path, err, errlen);
	if (r == -ENOENT && !explicit_path)
		r = 0;
	else if (r == -ENOENT) {
		char spath[4 * SHOWN_PATH_MAX + 8];
		snprintf(err, errlen, "config file %s does not exist",
		    shown(path, SHOWN_PATH_MAX, spath, sizeof(spath)));
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_overrides; i++) {
		r = config_set_arg(cfg, overrides[i], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

void
config_dump(const struct config *cfg, FILE *out)
{
	const char *section = "";
	char accepts[160], buf[32], spath[4 * SHOWN_PATH_MAX + 8];

	/* the path escaped: a newline in it would start a line of config */
	fprintf(out, "# cephvol configuration%s%s\n", cfg->path ? " read from " : "",
	    cfg->path ? shown(cfg->path, SHOWN_PATH_MAX, spath, sizeof(spath)) :
	    " (built-in defaults)");
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
