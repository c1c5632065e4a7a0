/*
 * secrets_stub.c - TEMPORARY: -ENOSYS stand-ins for the secret store and
 * the master key so cephvol-mount links until store/secretstore.c and
 * secrets/masterkey.c land. Each half compiles only while its real file is
 * absent, so the real code always wins; delete this file once both exist.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "secrets/masterkey.h"
#include "store/secretstore.h"

#if !__has_include("secrets/masterkey.c")
int
masterkey_load(const char *path, struct masterkey **out, char *err, size_t errlen)
{
	(void)path;
	*out = NULL;
	snprintf(err, errlen, "secrets are not built into this cephvol-mount yet");
	return -ENOSYS;
}

void
masterkey_free(struct masterkey *mk)
{
	(void)mk;
}
#endif

#if !__has_include("store/secretstore.c")
int
secret_meta_get(struct store *st, const char *name, struct secret_meta *out)
{
	(void)st; (void)name; (void)out;
	return -ENOSYS;
}

void
secret_meta_free(struct secret_meta *m)
{
	(void)m;
}

int
secret_value_get(struct store *st, const struct masterkey *mk, const char *name,
    uint32_t version, struct secret_value *out, char *err, size_t errlen)
{
	(void)st; (void)mk; (void)name; (void)version; (void)out;
	snprintf(err, errlen, "secrets are not built in yet");
	return -ENOSYS;
}

void
secret_value_free(struct secret_value *v)
{
	(void)v;
}

int
secret_watch(struct store *st, const char *name, void (*cb)(void *, const char *),
    void *arg, uint64_t *handle)
{
	(void)st; (void)name; (void)cb; (void)arg; (void)handle;
	return -ENOSYS;
}

void
secret_unwatch(struct store *st, uint64_t handle)
{
	(void)st; (void)handle;
}

int
secret_grant_parse(const char *grant, char *name, size_t namelen, uint32_t *version)
{
	(void)grant; (void)name; (void)namelen; (void)version;
	return -ENOSYS;
}
#endif
