/*
 * secrets/seal.h - sealing and opening one secret record.
 *
 * A record is "CVS1" | key id (8) | nonce (24) | XChaCha20-Poly1305
 * ciphertext with its 16-byte tag. The nonce is random per record. The
 * magic and key id are authenticated, and so is the caller's associated
 * data (store/secretstore.c binds pool, name, version, owner, mode and key
 * id), which is never stored. Pure functions,
 * no I/O: every call returns 0 or -errno, and any libsodium failure or
 * malformed record is -EBADMSG.
 */
#ifndef CEPHVOL_SEAL_H
#define CEPHVOL_SEAL_H

#include <stddef.h>

#define SEAL_MAGIC	"CVS1"
#define SEAL_KEYID_BYTES 8
#define SEAL_NONCE_BYTES 24
#define SEAL_HDR_BYTES	(4 + SEAL_KEYID_BYTES + SEAL_NONCE_BYTES)
#define SEAL_TAG_BYTES	16
#define SEAL_OVERHEAD	(SEAL_HDR_BYTES + SEAL_TAG_BYTES)

/*
 * Seal pt (ptlen bytes) under key (32 bytes) whose id is keyid. *rec is new
 * (plain malloc: it holds only ciphertext), free() it; *reclen is
 * ptlen + SEAL_OVERHEAD.
 */
int	seal_record(const unsigned char *key, const unsigned char *keyid,
	    const unsigned char *ad, size_t adlen, const unsigned char *pt,
	    size_t ptlen, unsigned char **rec, size_t *reclen);
/* Point *keyid (borrowed, SEAL_KEYID_BYTES) into rec; -EBADMSG if rec is
 * not a record. */
int	seal_keyid(const unsigned char *rec, size_t reclen,
	    const unsigned char **keyid);
/*
 * Open rec with key and ad. *pt is new sodium_malloc()'d memory (at least
 * one byte even for an empty value): sodium_free() it. -EBADMSG if rec is
 * not a record or fails authentication, -ENOMEM.
 */
int	seal_open(const unsigned char *key, const unsigned char *ad, size_t adlen,
	    const unsigned char *rec, size_t reclen, unsigned char **pt,
	    size_t *ptlen);

#endif
