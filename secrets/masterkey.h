/*
 * secrets/masterkey.h - the 32-byte master key that seals every secret.
 *
 * The key file holds the raw key (32 bytes), mode 0600, owned by root.
 * In memory the key lives only in sodium_malloc()'d, mlock'ed memory made
 * read-only after loading; loading also makes the process non-dumpable.
 */
#ifndef CEPHVOL_MASTERKEY_H
#define CEPHVOL_MASTERKEY_H

#include <stddef.h>
#include <stdint.h>

#define MASTERKEY_BYTES	32

struct masterkey {
	unsigned char	*key;		/* sodium_malloc'd, MASTERKEY_BYTES, read-only */
	unsigned char	 id[8];		/* public fingerprint: BLAKE2b of the key */
};

/* Create a new random key file at path; -EEXIST (never overwrites). */
int	masterkey_create_file(const char *path, char *err, size_t errlen);
/* Load path; refuses a file that is not 0600/0400 root-owned or not 32
 * bytes, with a sentence in err. *out is new: masterkey_free(). */
int	masterkey_load(const char *path, struct masterkey **out, char *err,
	    size_t errlen);
void	masterkey_free(struct masterkey *mk);
/* Hex of mk->id into buf (17 bytes). */
const char *masterkey_id_hex(const struct masterkey *mk, char *buf, size_t len);

#endif
