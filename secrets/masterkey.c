/*
 * masterkey.c - the master key file and its copy in locked memory.
 *
 * The file is exactly MASTERKEY_BYTES raw bytes, mode 0600 (or 0400),
 * owned by root, created with O_EXCL so an existing key is never
 * overwritten. Loaded keys live in sodium_malloc()'d memory (guard pages,
 * mlock'ed, never swapped) made read-only, and loading marks the process
 * non-dumpable so no core file or ptrace by another uid can copy the key.
 * The key's id is a public 8-byte BLAKE2b fingerprint stored with every
 * record, so a reader knows which key sealed it (key rotation).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "secrets/masterkey.h"

static int
sodium_ready(void)
{
	return sodium_init() < 0 ? -ENOMEM : 0;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
masterkey_write_file(const char *path, const unsigned char *key, char *err,
    size_t errlen)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		if (r == -EEXIST)
			snprintf(err, errlen, "master key file %s already exists; "
			    "refusing to overwrite it (use 'cephvol key rotate' "
			    "to replace a key)", path);
		else
			snprintf(err, errlen, "cannot create master key file %s: %s",
			    path, strerror(errno));
		return r;
	}
	if (fchmod(fd, 0600) < 0 || fchown(fd, 0, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot set mode 0600 root:root on %s: %s",
		    path, strerror(errno));
		goto out_unlink;
	}
	r = write_all(fd, key, MASTERKEY_BYTES);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "cannot write master key file %s: %s", path,
		    strerror(-r));
		goto out_unlink;
	}
	close(fd);
	return 0;

out_unlink:
	close(fd);
	unlink(path);
	return r;
}

int
masterkey_create_file(const char *path, char *err, size_t errlen)
{
	unsigned char *key;
	int r;

	if (sodium_ready() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	key = sodium_malloc(MASTERKEY_BYTES);
	if (key == NULL) {
		snprintf(err, errlen, "cannot allocate locked memory for a key");
		return -ENOMEM;
	}
	randombytes_buf(key, MASTERKEY_BYTES);
	r = masterkey_write_file(path, key, err, errlen);
	sodium_free(key);
	return r;
}

int
masterkey_load(const char *path, struct masterkey **out, char *err, size_t errlen)
{
	struct masterkey *mk;
	struct stat sb;
	ssize_t n;
	int fd, r;

	if (sodium_ready() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	/* Before the key is in memory: no core dump, no ptrace by others. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open master key file %s: %s%s", path,
		    strerror(errno), r == -ENOENT ? " (create one with 'cephvol key "
		    "init')" : "");
		return r;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat master key file %s: %s", path,
		    strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 0077) != 0) {
		snprintf(err, errlen, "master key file %s must be a regular file owned "
		    "by root with mode 0600 or 0400 (it is mode %04o, uid %u)", path,
		    (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		r = -EPERM;
		goto out_close;
	}
	if (sb.st_size != MASTERKEY_BYTES) {
		snprintf(err, errlen, "master key file %s must hold exactly %d bytes "
		    "(it holds %lld)", path, MASTERKEY_BYTES, (long long)sb.st_size);
		r = -EINVAL;
		goto out_close;
	}
	mk = calloc(1, sizeof(*mk));
	if (mk == NULL || (mk->key = sodium_malloc(MASTERKEY_BYTES)) == NULL) {
		free(mk);
		snprintf(err, errlen, "cannot allocate locked memory for the master key");
		r = -ENOMEM;
		goto out_close;
	}
	n = read(fd, mk->key, MASTERKEY_BYTES);
	if (n != MASTERKEY_BYTES) {
		snprintf(err, errlen, "cannot read master key file %s: %s", path,
		    n < 0 ? strerror(errno) : "short read");
		masterkey_free(mk);
		r = -EIO;
		goto out_close;
	}
	crypto_generichash(mk->id, sizeof(mk->id), mk->key, MASTERKEY_BYTES,
	    (const unsigned char *)"cephvol-key-id", 14);
	sodium_mprotect_readonly(mk->key);
	mk->path = strdup(path);
	close(fd);
	*out = mk;
	return 0;

out_close:
	close(fd);
	return r;
}

void
masterkey_free(struct masterkey *mk)
{
	if (mk == NULL)
		return;
	sodium_free(mk->key);		/* zeroes before unmapping */
	free(mk->path);
	free(mk);
}

const char *
masterkey_id_hex(const struct masterkey *mk, char *buf, size_t len)
{
	if (len < 2 * sizeof(mk->id) + 1) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	sodium_bin2hex(buf, len, mk->id, sizeof(mk->id));
	return buf;
}
