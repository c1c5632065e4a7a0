/*
 * mountinfo.c - what is mounted on this host (host/mountinfo.h).
 *
 * A line of /proc/PID/mountinfo is
 *	ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ...
 * with space, tab, newline and backslash in paths written as \ooo (octal);
 * we unescape MOUNTPOINT and SOURCE before comparing them. Nothing is
 * cached: the table is read whole at every call, so the answer is never
 * older than the call. No state, no locks.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "host/mountinfo.h"

static void
unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && isdigit((unsigned char)s[1]) &&
		    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3])) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*d++ = *s;
	}
	*d = '\0';
}

/* Split line in place: its mount point (unescaped), fstype and source
 * (escaped; NULL if missing). False if it has no mount point. */
static bool
parse(char *line, char **mp, char **type, char **src)
{
	char *save = NULL, *tok;
	bool dash = false;
	int i = 0;

	*mp = *type = *src = NULL;
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
		if (i == 4)
			*mp = tok;
		else if (!dash && i > 5 && strcmp(tok, "-") == 0)
			dash = true;
		else if (dash && *type == NULL)
			*type = tok;
		else if (dash && *src == NULL)
			*src = tok;
	}
	if (*mp == NULL)
		return false;
	unescape(*mp);
	return true;
}

bool
mountinfo_find(const char *path, char *fstype, size_t flen, char *source, size_t slen)
{
	char real[PATH_MAX], *line = NULL, *mp, *type, *src;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (!parse(line, &mp, &type, &src))
			continue;
		if (strcmp(mp, real) != 0 && strcmp(mp, path) != 0)
			continue;
		found = true;
		if (fstype)
			snprintf(fstype, flen, "%s", type ? type : "");
		if (source) {
			if (src)
				unescape(src);
			snprintf(source, slen, "%s", src ? src : "");
		}
	}
	free(line);
	fclose(f);
	return found;
}

bool
mountinfo_by_source(const char *source, char *mountpoint, size_t len)
{
	char *line = NULL, *mp, *type, *src;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		if (!parse(line, &mp, &type, &src) || src == NULL)
			continue;
		unescape(src);
		if (strcmp(src, source) == 0) {
			snprintf(mountpoint, len, "%s", mp);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

int
mountinfo_each(void (*fn)(const char *mountpoint, void *arg), void *arg)
{
	char *line = NULL, *mp, *type, *src;
	size_t cap = 0;
	FILE *f;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (parse(line, &mp, &type, &src))
			fn(mp, arg);
	free(line);
	fclose(f);
	return 0;
}

int
mountinfo_elsewhere(const char *mountpoint)
{
	struct stat st;
	char self[64], dev[32], seen[64][64];
	size_t nseen = 0;
	ssize_t n;
	int users = 0;
	DIR *d;
	struct dirent *de;

	if (stat(mountpoint, &st) < 0 ||
	    (n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	snprintf(dev, sizeof(dev), "%u:%u", major(st.st_dev), minor(st.st_dev));
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char path[300], ns[64], *line = NULL;
		size_t cap = 0, i;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/mnt", de->d_name);
		if ((n = readlink(path, ns, sizeof(ns) - 1)) <= 0)
			continue;
		ns[n] = '\0';
		if (strcmp(ns, self) == 0)
			continue;
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], ns) == 0)
				break;
		if (i < nseen)
			continue;
		if (nseen < ARRAY_SIZE(seen))
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", ns);
		snprintf(path, sizeof(path), "/proc/%s/mountinfo", de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (getline(&line, &cap, f) > 0) {
			char mm[32];
			if (sscanf(line, "%*s %*s %31s", mm) == 1 && strcmp(mm, dev) == 0) {
				users++;
				break;
			}
		}
		free(line);
		fclose(f);
	}
	closedir(d);
	return users;
}
