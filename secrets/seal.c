/*
 * seal.c - XChaCha20-Poly1305 records for secrets (format in seal.h).
 *
 * Why XChaCha20: its 192-bit nonce can be drawn at random for every record
 * without a counter to keep across hosts, so two hosts sealing under one
 * key never need to coordinate. The key id travels in clear so a reader
 * knows which key to try (key rotation leaves records under two keys for
 * a while); the magic and key id are authenticated ahead of the caller's
 * associated data, so editing them fails authentication. Plaintext is only ever in sodium_malloc()'d
 * memory; a failed open wipes and frees what it decrypted. No state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secrets/seal.h"

_Static_assert(SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    "nonce size");
_Static_assert(SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
    "tag size");

/* The authenticated data: the record's magic and key id, then the caller's. */
static unsigned char *
full_ad(const unsigned char *hdr, const unsigned char *ad, size_t adlen, size_t *len)
{
	unsigned char *p = malloc(4 + SEAL_KEYID_BYTES + adlen);

	if (p == NULL)
		return NULL;
	memcpy(p, hdr, 4 + SEAL_KEYID_BYTES);
	if (adlen)
		memcpy(p + 4 + SEAL_KEYID_BYTES, ad, adlen);
	*len = 4 + SEAL_KEYID_BYTES + adlen;
	return p;
}

int
seal_record(const unsigned char *key, const unsigned char *keyid,
    const unsigned char *ad, size_t adlen, const unsigned char *pt,
    size_t ptlen, unsigned char **rec, size_t *reclen)
{
	unsigned char *out, *nonce, *fad;
	unsigned long long clen;
	size_t fadlen;
	int rc;

	if (sodium_init() < 0)
		return -EBADMSG;
	out = malloc(ptlen + SEAL_OVERHEAD);
	if (out == NULL)
		return -ENOMEM;
	nonce = out + 4 + SEAL_KEYID_BYTES;
	memcpy(out, SEAL_MAGIC, 4);
	memcpy(out + 4, keyid, SEAL_KEYID_BYTES);
	randombytes_buf(nonce, SEAL_NONCE_BYTES);
	fad = full_ad(out, ad, adlen, &fadlen);
	if (fad == NULL) {
		free(out);
		return -ENOMEM;
	}
	rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_HDR_BYTES, &clen,
	    pt, ptlen, fad, fadlen, NULL, nonce, key);
	free(fad);
	if (rc != 0) {
		free(out);
		return -EBADMSG;
	}
	*rec = out;
	*reclen = SEAL_HDR_BYTES + (size_t)clen;
	return 0;
}

int
seal_keyid(const unsigned char *rec, size_t reclen, const unsigned char **keyid)
{
	if (rec == NULL || reclen < SEAL_OVERHEAD || memcmp(rec, SEAL_MAGIC, 4) != 0)
		return -EBADMSG;
	*keyid = rec + 4;
	return 0;
}

int
seal_open(const unsigned char *key, const unsigned char *ad, size_t adlen,
    const unsigned char *rec, size_t reclen, unsigned char **pt, size_t *ptlen)
{
	const unsigned char *keyid;
	unsigned long long plen;
	unsigned char *buf, *fad;
	size_t clen, fadlen;
	int rc;

	if (seal_keyid(rec, reclen, &keyid) < 0)
		return -EBADMSG;
	if (sodium_init() < 0)
		return -EBADMSG;
	clen = reclen - SEAL_HDR_BYTES;
	fad = full_ad(rec, ad, adlen, &fadlen);
	if (fad == NULL)
		return -ENOMEM;
	buf = sodium_malloc(clen - SEAL_TAG_BYTES ? clen - SEAL_TAG_BYTES : 1);
	if (buf == NULL) {
		free(fad);
		return -ENOMEM;
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(buf, &plen, NULL,
	    rec + SEAL_HDR_BYTES, clen, fad, fadlen, rec + 4 + SEAL_KEYID_BYTES, key);
	free(fad);
	if (rc != 0) {
		sodium_free(buf);	/* wipes */
		return -EBADMSG;
	}
	*pt = buf;
	*ptlen = (size_t)plen;
	return 0;
}
