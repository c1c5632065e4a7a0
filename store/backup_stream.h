/*
 * store/backup_stream.h - Ceph's own backup stream formats, written and
 * read, so that nobody needs cephvol to restore a cephvol backup and an
 * `rbd export` restores into cephvol.
 *
 *  - "rbd diff v1" (what `rbd export-diff` writes and `rbd import-diff`
 *    reads): a banner, then records of a one-byte tag and fixed fields:
 *    'f' from-snapshot and 't' to-snapshot (le32 length, name), 's' the
 *    image size (le64), 'w' data (le64 offset, le64 length, the bytes), 'z'
 *    zeros (le64 offset, le64 length), 'e' the end. No checksum: a flipped
 *    data byte cannot be seen, a damaged record usually can.
 *  - "rbd image v2" (`rbd export --export-format 2`, `rbd import
 *    --export-format 2`): a banner, metadata records (tag, le64 length,
 *    data) up to 'E', then "rbd image diffs v2", a le64 count and that many
 *    "rbd diff v2" sections: the diff v1 records, each with a le64 length
 *    after its tag (so an unknown one can be skipped) but 'e'; and 'p', the
 *    snapshot's protection, which says length 8 and carries one byte (what
 *    Ceph 16.2's rbd writes and reads). A full export of IMAGE@SNAP is two
 *    diffs: nothing -> SNAP with the data, SNAP -> the export's end, empty.
 *
 * Pure byte work on a file descriptor (a file, a pipe): no RADOS. Writers
 * buffer and report the first write error; readers check every record
 * against the stream's size and say at which byte offset it went wrong.
 */
#ifndef CEPHVOL_STORE_BACKUP_STREAM_H
#define CEPHVOL_STORE_BACKUP_STREAM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

enum backup_format {
	BACKUP_DIFF_V1,		/* "rbd diff v1" */
	BACKUP_IMAGE_V2,	/* "rbd image v2" (full exports only) */
};

/* ---- writing ---- */

struct stream_out {
	int			 fd;
	enum backup_format	 format;
	uint64_t		 bytes;		/* handed to the fd so far */
	uint64_t		 size;
	char			 to[NAME_MAX_LEN + 1];
	int			 err;		/* first write error (-errno) */
	unsigned char		*buf;
	size_t			 used;
};

/*
 * Banner and metadata of a stream to fd: the image of `size` bytes at
 * snapshot `to`, as a difference from snapshot `from` (NULL: from nothing,
 * a full export; BACKUP_IMAGE_V2 takes no from). object_size goes in the
 * v2 metadata (the image's order). 0 or -errno.
 */
int	stream_out_begin(struct stream_out *w, int fd, enum backup_format format,
	    const char *from, const char *to, uint64_t size, uint64_t object_size);
int	stream_out_data(struct stream_out *w, uint64_t off, const void *data,
	    size_t len);
int	stream_out_zero(struct stream_out *w, uint64_t off, uint64_t len);
/* The end record(s), everything written out. Without it a stream is cut
 * short: every reader (ours, rbd's) refuses it. */
int	stream_out_end(struct stream_out *w);
void	stream_out_free(struct stream_out *w);

/* ---- reading ---- */

enum stream_rec {
	REC_FROM,	/* name */
	REC_TO,		/* name */
	REC_SIZE,	/* size */
	REC_DATA,	/* off, len: read the len bytes with stream_in_data() */
	REC_ZERO,	/* off, len */
	REC_END,	/* the end of one diff */
	REC_DONE,	/* the end of the stream (nothing follows it) */
};

struct stream_record {
	enum stream_rec	 type;
	char		 name[NAME_MAX_LEN + 1];
	uint64_t	 off, len, size;
};

struct stream_in {
	int			 fd;
	enum backup_format	 format;
	uint64_t		 pos;		/* bytes consumed */
	uint64_t		 order;		/* v2 metadata, 0 if none */
	uint64_t		 diffs;		/* v2: sections announced */
	uint64_t		 diff;		/* v2: sections begun */
	uint64_t		 size;		/* the current diff's 's' */
	bool			 have_size;
	bool			 in_diff;	/* between a banner and its 'e' */
	uint64_t		 data_left;	/* of the current 'w' */
	unsigned char		*buf;
	size_t			 head, tail;
	bool			 eof;
	volatile sig_atomic_t	*stop;		/* see stream_in_begin */
};

/* Read the banner (and a v2 stream's metadata). -EINVAL with a sentence
 * for anything that is not one of the two formats; -errno for a read
 * error. stop may be NULL: a read interrupted by a signal (EINTR) while
 * *stop is nonzero ends with -EINTR instead of being tried again. */
int	stream_in_begin(struct stream_in *r, int fd, volatile sig_atomic_t *stop,
	    char *err, size_t errlen);
/* The next record. A data record's bytes must all be read with
 * stream_in_data() before the next call. -EINVAL (damaged, cut short: err
 * names the byte offset) or -errno. */
int	stream_in_next(struct stream_in *r, struct stream_record *rec, char *err,
	    size_t errlen);
/* Up to len bytes of the current data record into buf: the count read
 * (at least 1 while any is left, 0 when none is), or -errno/-EINVAL. */
long	stream_in_data(struct stream_in *r, void *buf, size_t len, char *err,
	    size_t errlen);
void	stream_in_free(struct stream_in *r);

#endif
