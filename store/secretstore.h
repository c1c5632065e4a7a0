/*
 * store/secretstore.h - secrets as sealed records in RADOS.
 *
 * Layout (configured pool):
 *   "cephvol.secrets"          omap: secret name -> "" (the list)
 *   "cephvol.secret.<name>"    xattr "meta": JSON (uid, gid, mode, labels,
 *                              created, latest version); omap "v%010u" ->
 *                              sealed record of that version; also the
 *                              object clients watch for updates
 * A record is sealed with XChaCha20-Poly1305 under the master key; the
 * associated data binds pool, secret name, version, uid, gid, mode and key
 * id, so a record moved to another name or version, or an owner or mode
 * edited in RADOS, fails to open. Values cross this interface only
 * in sodium_malloc()'d buffers. Every call returns 0 or -errno; -EBADMSG
 * means a record failed authentication (tampered, swapped, rolled back or
 * wrong key) and nothing was returned.
 */
#ifndef CEPHVOL_SECRETSTORE_H
#define CEPHVOL_SECRETSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/util.h"
/* struct secret_meta, struct secret_value */
#include "store/secret_record.h"

struct store;
struct masterkey;

int	secret_create(struct store *st, const struct masterkey *mk,
	    const struct secret_meta *meta, const struct secret_value *val,
	    char *err, size_t errlen);
/* A new version; returns it in *version. */
int	secret_update(struct store *st, const struct masterkey *mk,
	    const char *name, const struct secret_value *val, uint32_t *version,
	    char *err, size_t errlen);
int	secret_meta_get(struct store *st, const char *name, struct secret_meta *out);
void	secret_meta_free(struct secret_meta *m);
/* version 0 = latest. out->data is new (secret_value_free). */
int	secret_value_get(struct store *st, const struct masterkey *mk,
	    const char *name, uint32_t version, struct secret_value *out,
	    char *err, size_t errlen);
int	secret_list(struct store *st, struct secret_meta **out, size_t *n);
/* Versions present, ascending, *out new (free()). */
int	secret_versions(struct store *st, const char *name, uint32_t **out, size_t *n);
int	secret_remove(struct store *st, const char *name, char *err, size_t errlen);

/* Watch a secret for updates: cb(arg, name) runs on a librados thread after
 * every secret_update/secret_remove of it. *handle for secret_unwatch. */
int	secret_watch(struct store *st, const char *name,
	    void (*cb)(void *arg, const char *name), void *arg, uint64_t *handle);
void	secret_unwatch(struct store *st, uint64_t handle);

/* Re-seal every version of secret name still under oldk with newk, in one
 * atomic write; *changed says whether anything was rewritten. */
int	secret_rekey(struct store *st, const struct masterkey *oldk,
	    const struct masterkey *newk, const char *name, bool *changed,
	    char *err, size_t errlen);

#endif
