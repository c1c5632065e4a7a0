/*
 * config_file.c - reading a configuration (common/config.h): the config
 * file, -o section.key=value overrides, and config_init, which every
 * program starts with. Each value goes through the table (config.c).
 *
 * File format (like ceph.conf): "[section]" lines, "key = value" lines,
 * '#' or ';' start a comment; in a key, a space means '_'. A file is read
 * only if it is a regular file (or /dev/null) of at most CONFIG_MAX_BYTES,
 * so /dev/zero, a FIFO or a growing file cannot keep us reading. An error
 * about a file names it (escaped, as config_shown) and the line, never its
 * text; an error about -o text shows it escaped and cut short.
 * No state outside the struct config the caller owns; no locking.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/config.h"
#include "common/config_internal.h"

int
config_set(struct config *cfg, const char *key, const char *value,
    const char *origin, char *err, size_t errlen)
{
	char section[128], b[4 * CONFIG_SHOWN_MAX + 8];
	const char *dot = strchr(key, '.');

	if (dot == NULL || (size_t)(dot - key) >= sizeof(section)) {
		snprintf(err, errlen, "%s: key '%s' must be written section.key, "
		    "like volume.default_size", origin, config_shown(key, CONFIG_SHOWN_MAX, b, sizeof(b)));
		return -EINVAL;
	}
	memcpy(section, key, (size_t)(dot - key));
	section[dot - key] = '\0';
	return config_key_set(cfg, section, dot + 1, value, origin, true, err, errlen);
}

int
config_set_arg(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char key[256], b[4 * CONFIG_SHOWN_MAX + 8];

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(key)) {
		snprintf(err, errlen, "-o %s: expected section.key=value, like "
		    "ceph.pool=volumes", config_shown(arg, CONFIG_SHOWN_MAX, b, sizeof(b)));
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
	char spath[4 * CONFIG_SHOWN_PATH_MAX + 8], origin[sizeof(spath) + 16];
	char *text = NULL, *line, *next;
	size_t len = 0;
	unsigned lineno = 0;
	int r;

	config_shown(path, CONFIG_SHOWN_PATH_MAX, spath, sizeof(spath));
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
			if (!config_section_known(section)) {
				const char *like = config_section_suggest(section);
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
		r = config_key_set(cfg, section, name, value, origin, false, err, errlen);
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
		char spath[4 * CONFIG_SHOWN_PATH_MAX + 8];
		snprintf(err, errlen, "config file %s does not exist",
		    config_shown(path, CONFIG_SHOWN_PATH_MAX, spath, sizeof(spath)));
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
