/*
 * secret_grant.c - a secrets volume's grants (store/secret_grant.h): the
 * one parser of "NAME[@VERSION]", and the check at create that every
 * grant names a secret and a version that exist.
 *
 * The check reads each secret's metadata (store/secretstore.h) once; a
 * secret removed after the check is the secrets tree's to report. No
 * state, no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "store/secret_grant.h"
#include "store/secretstore.h"

int
secret_grant_parse(const char *grant, char *name, size_t namelen, uint32_t *version)
{
	const char *at = strchr(grant, '@');
	size_t n = at ? (size_t)(at - grant) : strlen(grant);
	uint64_t v = 0;

	if (n >= namelen || n > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	memcpy(name, grant, n);
	name[n] = '\0';
	if (!name_valid(name))
		return -EINVAL;
	if (at && uint_parse(at + 1, 1, UINT32_MAX, &v) < 0)
		return -ERANGE;
	*version = (uint32_t)v;
	return 0;
}

int
secret_grants_check(struct store *st, json_t *grants, char *err, size_t errlen)
{
	size_t i;
	json_t *g;

	json_array_foreach(grants, i, g) {
		char name[NAME_MAX_LEN + 1];
		struct secret_meta m;
		uint32_t version;
		int r;

		if (!json_is_string(g) || secret_grant_parse(json_string_value(g),
		    name, sizeof(name), &version) < 0) {
			snprintf(err, errlen, "bad secret grant: expected NAME or "
			    "NAME@VERSION; %s", NAME_RULE);
			return -EINVAL;
		}
		r = secret_meta_get(st, name, &m);
		if (r < 0) {
			snprintf(err, errlen, r == -ENOENT ? "no secret named %s (create "
			    "it first with 'cephvol secret create %s')" :
			    "cannot read secret %s: %s", name,
			    r == -ENOENT ? name : strerror(-r));
			return r;
		}
		uint32_t latest = m.latest;
		secret_meta_free(&m);
		if (version > latest) {
			snprintf(err, errlen, "secret %s has no version %" PRIu32
			    " (its latest is %" PRIu32 ")", name, version, latest);
			return -ENOENT;
		}
	}
	return 0;
}
