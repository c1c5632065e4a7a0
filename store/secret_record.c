/*
 * secret_record.c - one version of a secret as a sealed record
 * (store/secret_record.h): sealed under the master key with associated
 * data that binds it to its place, and opened with whichever key sealed it.
 *
 * Record: "CVS1" | key id (8) | nonce (24) | XChaCha20-Poly1305 ciphertext
 * (secrets/seal.c). The associated data binds pool, name, version, uid,
 * gid, mode and key id, so a record moved to another secret or version,
 * or a secret whose owner or mode was edited in RADOS, fails to open.
 *
 * A record sealed under another key than the one given is opened with the
 * key file beside it, "<path>.new" (a rotation under way) or "<path>" (a
 * rotation finished since the caller loaded its key), so readers never
 * stop during `cephvol key rotate`. Plaintext exists only in
 * sodium_malloc()'d buffers. No state in this file; no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "secrets/masterkey.h"
#include "secrets/seal.h"
#include "store/conn.h"
#include "store/secret_record.h"

static size_t
make_ad(struct store *st, const struct secret_meta *m, uint32_t version,
    const unsigned char keyid[8], unsigned char *ad, size_t cap)
{
	int n = snprintf((char *)ad, cap, "cephvol-secret-v1|%s|%s|%" PRIu32 "|%u|%u|%o|",
	    store_pool(st), m->name, version, (unsigned)m->uid, (unsigned)m->gid,
	    (unsigned)m->mode);
	size_t len = n < 0 ? 0 : (size_t)n;

	if (len + 8 > cap)
		len = cap - 8;
	memcpy(ad + len, keyid, 8);
	return len + 8;
}

int
secret_record_seal(struct store *st, const struct masterkey *mk, const struct secret_meta *m,
    uint32_t version, const unsigned char *pt, size_t ptlen, char **rec, size_t *reclen)
{
	unsigned char ad[600];
	size_t adlen = make_ad(st, m, version, mk->id, ad, sizeof(ad));

	return seal_record(mk->key, mk->id, ad, adlen, pt, ptlen,
	    (unsigned char **)rec, reclen);
}

/*
 * The key that sealed rec: mk itself, or the key file beside mk (a rotation
 * under way: "<path>.new", or finished: "<path>"). *tmp is set when a key
 * was loaded for this call; the caller frees it.
 */
static int
key_for_record(const struct masterkey *mk, const unsigned char *rec_id,
    const struct masterkey **use, struct masterkey **tmp)
{
	char path[4200], e[256];
	const char *suffix[] = { ".new", "" };

	*tmp = NULL;
	if (sodium_memcmp(mk->id, rec_id, 8) == 0) {
		*use = mk;
		return 0;
	}
	for (size_t i = 0; mk->path && i < 2; i++) {
		struct masterkey *k;
		snprintf(path, sizeof(path), "%s%s", mk->path, suffix[i]);
		if (masterkey_load(path, &k, e, sizeof(e)) < 0)
			continue;
		if (sodium_memcmp(k->id, rec_id, 8) == 0) {
			*use = *tmp = k;
			return 0;
		}
		masterkey_free(k);
	}
	return -ENOKEY;
}

int
secret_record_open(struct store *st, const struct masterkey *mk, const struct secret_meta *m,
    uint32_t version, const unsigned char *rec, size_t reclen,
    struct secret_value *out, char *err, size_t errlen)
{
	const unsigned char *keyid;
	const struct masterkey *k;
	struct masterkey *tmp;
	unsigned char ad[600];
	size_t adlen;
	char idhex[17];
	int r;

	if (seal_keyid(rec, reclen, &keyid) < 0) {
		snprintf(err, errlen, "secret %s version %" PRIu32 " is not a cephvol "
		    "record (damaged or tampered with); nothing served", m->name, version);
		return -EBADMSG;
	}
	r = key_for_record(mk, keyid, &k, &tmp);
	if (r < 0) {
		sodium_bin2hex(idhex, sizeof(idhex), keyid, 8);
		snprintf(err, errlen, "secret %s version %" PRIu32 " was sealed with "
		    "master key %s, which is not the configured key %s (wrong key "
		    "file?); nothing served", m->name, version, idhex,
		    masterkey_id_hex(mk, (char[17]){ 0 }, 17));
		return -EBADMSG;
	}
	adlen = make_ad(st, m, version, keyid, ad, sizeof(ad));
	out->version = version;
	r = seal_open(k->key, ad, adlen, rec, reclen, (unsigned char **)&out->data,
	    &out->len);
	masterkey_free(tmp);
	if (r == -ENOMEM) {
		out->data = NULL;
		snprintf(err, errlen, "cannot allocate locked memory for secret %s", m->name);
		return r;
	}
	if (r < 0) {
		out->data = NULL;
		out->len = 0;
		snprintf(err, errlen, "secret %s version %" PRIu32 " failed "
		    "authentication: the record, its owner or mode was altered, "
		    "or it was moved from another secret or version; nothing served",
		    m->name, version);
		return -EBADMSG;
	}
	return 0;
}

void
secret_value_free(struct secret_value *v)
{
	if (v == NULL)
		return;
	sodium_free(v->data);
	v->data = NULL;
	v->len = 0;
}
