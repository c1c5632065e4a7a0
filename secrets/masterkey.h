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
	char		*path;		/* file it came from (owned), NULL if none */
};

/* Create a new random key file at path; -EEXIST (never overwrites). */
int	masterkey_create_file(const char *path, char *err, size_t errlen);
/* Load path; refuses a file that is not 0600/0400 root-owned or not 32
 * bytes, with a sentence in err. *out is new: masterkey_free(). */
int	masterkey_load(const char *path, struct masterkey **out, char *err,
	    size_t errlen);
void	masterkey_free(struct masterkey *mk);
/* Write key (MASTERKEY_BYTES) to a new file at path (O_EXCL, 0600 root). */
int	masterkey_write_file(const char *path, const unsigned char *key,
	    char *err, size_t errlen);
/* Hex of mk->id into buf (17 bytes). */
const char *masterkey_id_hex(const struct masterkey *mk, char *buf, size_t len);

#endif
