/*
 * backup_stream.c - the rbd diff v1 and rbd image v2 streams
 * (store/backup_stream.h).
 *
 * Little-endian fields, written through a 1 MiB buffer (data records of
 * a full object are written straight through, after what is buffered) and
 * read through a 64 KiB one. A reader trusts nothing: a tag it does not know
 * in a v1 stream, a name longer than any we accept, a record past the
 * stream's size or before it, a length that does not add up, bytes after
 * the end: each is -EINVAL with the offset of the record that was wrong.
 *
 * State lives in the caller's struct; no locking (one thread per stream).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/backup_stream.h"

#define BANNER_DIFF_V1	"rbd diff v1\n"
#define BANNER_IMAGE_V2	"rbd image v2\n"
#define BANNER_DIFFS_V2	"rbd image diffs v2\n"
#define BANNER_DIFF_V2	"rbd diff v2\n"
#define OUT_BUF		(1u << 20)
#define IN_BUF		(64u << 10)
/* rbd's default features for a new image (layering, exclusive-lock,
 * object-map, fast-diff, deep-flatten): what an import into RBD gets. */
#define RBD_FEATURES	0x3dull
/* v2 sections a reader accepts: rbd writes one per snapshot, plus one */
#define MAX_DIFFS	100000

/* ---- writing ---- */

static int
out_flush(struct stream_out *w)
{
	size_t done = 0;

	while (done < w->used && w->err == 0) {
		ssize_t n = write(w->fd, w->buf + done, w->used - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	w->bytes += done;
	w->used = 0;
	return w->err;
}

static int
out_put(struct stream_out *w, const void *p, size_t len)
{
	if (w->err)
		return w->err;
	if (len > OUT_BUF - w->used) {
		if (out_flush(w) < 0)
			return w->err;
		if (len >= OUT_BUF) {	/* a big data record: straight through */
			const unsigned char *c = p;
			while (len > 0) {
				ssize_t n = write(w->fd, c, len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					return w->err = n < 0 ? -errno : -EIO;
				c += n;
				len -= (size_t)n;
				w->bytes += (uint64_t)n;
			}
			return 0;
		}
	}
	memcpy(w->buf + w->used, p, len);
	w->used += len;
	return 0;
}

static void
out_u8(struct stream_out *w, char tag)
{
	(void)out_put(w, &tag, 1);
}

static void
out_le64(struct stream_out *w, uint64_t v)
{
	uint64_t le = htole64(v);
	(void)out_put(w, &le, 8);
}

/* A v2 record's length (the bytes after it), nothing in v1. */
static void
out_len(struct stream_out *w, uint64_t len)
{
	if (w->format == BACKUP_IMAGE_V2)
		out_le64(w, len);
}

static void
out_name(struct stream_out *w, char tag, const char *name)
{
	uint32_t n = (uint32_t)strlen(name), le = htole32(n);

	out_u8(w, tag);
	out_len(w, 4 + (uint64_t)n);
	(void)out_put(w, &le, 4);
	(void)out_put(w, name, n);
}

static void
out_size(struct stream_out *w, uint64_t size)
{
	out_u8(w, 's');
	out_len(w, 8);
	out_le64(w, size);
}

int
stream_out_begin(struct stream_out *w, int fd, enum backup_format format,
    const char *from, const char *to, uint64_t size, uint64_t object_size)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->format = format;
	w->size = size;
	if (strlen(to) > NAME_MAX_LEN || (from && strlen(from) > NAME_MAX_LEN) ||
	    (from && format == BACKUP_IMAGE_V2))
		return -EINVAL;
	snprintf(w->to, sizeof(w->to), "%s", to);
	if ((w->buf = malloc(OUT_BUF)) == NULL)
		return -ENOMEM;
	if (format == BACKUP_IMAGE_V2) {
		(void)out_put(w, BANNER_IMAGE_V2, strlen(BANNER_IMAGE_V2));
		out_u8(w, 'O');
		out_le64(w, 8);
		out_le64(w, (uint64_t)__builtin_ctzll(object_size));
		out_u8(w, 'T');
		out_le64(w, 8);
		out_le64(w, RBD_FEATURES);
		out_u8(w, 'U');
		out_le64(w, 8);
		out_le64(w, object_size);
		out_u8(w, 'C');
		out_le64(w, 8);
		out_le64(w, 1);
		out_u8(w, 'E');
		(void)out_put(w, BANNER_DIFFS_V2, strlen(BANNER_DIFFS_V2));
		out_le64(w, 2);
		(void)out_put(w, BANNER_DIFF_V2, strlen(BANNER_DIFF_V2));
		out_name(w, 't', to);
		/* the protection record as rbd writes it: length 8, one byte */
		out_u8(w, 'p');
		out_le64(w, 8);
		out_u8(w, 0);
	} else {
		(void)out_put(w, BANNER_DIFF_V1, strlen(BANNER_DIFF_V1));
		if (from)
			out_name(w, 'f', from);
		out_name(w, 't', to);
	}
	out_size(w, size);
	return w->err;
}

int
stream_out_data(struct stream_out *w, uint64_t off, const void *data, size_t len)
{
	out_u8(w, 'w');
	out_len(w, 16 + (uint64_t)len);
	out_le64(w, off);
	out_le64(w, len);
	return out_put(w, data, len);
}

int
stream_out_zero(struct stream_out *w, uint64_t off, uint64_t len)
{
	out_u8(w, 'z');
	out_len(w, 16);
	out_le64(w, off);
	out_le64(w, len);
	return w->err;
}

int
stream_out_end(struct stream_out *w)
{
	out_u8(w, 'e');
	if (w->format == BACKUP_IMAGE_V2) {
		/* the second diff: from the snapshot to the export's end */
		(void)out_put(w, BANNER_DIFF_V2, strlen(BANNER_DIFF_V2));
		out_name(w, 'f', w->to);
		out_size(w, w->size);
		out_u8(w, 'e');
	}
	return out_flush(w);
}

void
stream_out_free(struct stream_out *w)
{
	free(w->buf);
	w->buf = NULL;
}

/* ---- reading ---- */

/* Fill the buffer so that at least want bytes are there (fewer at the
 * end of the stream). */
static int
in_fill(struct stream_in *r, size_t want)
{
	if (r->tail - r->head >= want || r->eof)
		return 0;
	if (r->head > 0) {
		memmove(r->buf, r->buf + r->head, r->tail - r->head);
		r->tail -= r->head;
		r->head = 0;
	}
	while (r->tail < want && !r->eof) {
		ssize_t n = read(r->fd, r->buf + r->tail, IN_BUF - r->tail);
		if (n < 0 && errno == EINTR && !(r->stop && *r->stop))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = true;
		r->tail += (size_t)n;
	}
	return 0;
}

static int
read_error(const struct stream_in *r, int e, char *err, size_t errlen)
{
	if (e == -EINTR)
		snprintf(err, errlen, "interrupted at byte %" PRIu64 " of the stream",
		    r->pos);
	else
		snprintf(err, errlen, "cannot read the stream at byte %" PRIu64 ": %s",
		    r->pos, strerror(-e));
	return e;
}

#define CUT(r, at, what) \
	(snprintf(err, errlen, "the stream is cut short at byte %" PRIu64 \
	    " (in %s)", (at), (what)), -EINVAL)

/* Exactly len (<= IN_BUF) bytes, or -EINVAL: cut short. */
static int
in_get(struct stream_in *r, void *p, size_t len, const char *what, char *err,
    size_t errlen)
{
	int e;

	if ((e = in_fill(r, len)) < 0)
		return read_error(r, e, err, errlen);
	if (r->tail - r->head < len)
		return CUT(r, r->pos + (r->tail - r->head), what);
	memcpy(p, r->buf + r->head, len);
	r->head += len;
	r->pos += len;
	return 0;
}

static int
in_le64(struct stream_in *r, uint64_t *v, const char *what, char *err, size_t errlen)
{
	uint64_t le;
	int e = in_get(r, &le, 8, what, err, errlen);
	*v = le64toh(le);
	return e;
}

/* Skip len bytes (an unknown v2 record). */
static int
in_skip(struct stream_in *r, uint64_t len, char *err, size_t errlen)
{
	unsigned char scratch[4096];

	while (len > 0) {
		size_t n = len > sizeof(scratch) ? sizeof(scratch) : (size_t)len;
		int e = in_get(r, scratch, n, "a record this reader skips", err, errlen);
		if (e < 0)
			return e;
		len -= n;
	}
	return 0;
}

static int
in_banner(struct stream_in *r, const char *banner, char *err, size_t errlen)
{
	char got[32];
	uint64_t at = r->pos;
	size_t n = strlen(banner);
	int e;

	if ((e = in_get(r, got, n, "a banner", err, errlen)) < 0)
		return e;
	if (memcmp(got, banner, n) != 0) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": "
		    "expected the banner \"%.*s\"", at, (int)n - 1, banner);
		return -EINVAL;
	}
	return 0;
}

/* v2: the length after a tag; must be want (when want != 0). */
static int
in_len(struct stream_in *r, uint64_t at, char tag, uint64_t want, uint64_t *len,
    char *err, size_t errlen)
{
	int e;

	*len = want;
	if (r->format != BACKUP_IMAGE_V2)
		return 0;
	if ((e = in_le64(r, len, "a record's length", err, errlen)) < 0)
		return e;
	if (want != 0 && *len != want) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": "
		    "record '%c' says %" PRIu64 " bytes, not %" PRIu64, at, tag,
		    *len, want);
		return -EINVAL;
	}
	return 0;
}

int
stream_in_begin(struct stream_in *r, int fd, volatile sig_atomic_t *stop,
    char *err, size_t errlen)
{
	char first[12];
	int e;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->stop = stop;
	if ((r->buf = malloc(IN_BUF)) == NULL)
		return -ENOMEM;
	if ((e = in_fill(r, sizeof(first))) < 0) {
		snprintf(err, errlen, "cannot read the stream: %s", strerror(-e));
		return e;
	}
	memcpy(first, r->buf, r->tail < sizeof(first) ? r->tail : sizeof(first));
	if (r->tail >= 12 && memcmp(first, BANNER_DIFF_V1, 12) == 0) {
		r->format = BACKUP_DIFF_V1;
		r->head = 12;
		r->pos = 12;
		r->diffs = r->diff = 1;
		r->in_diff = true;
		return 0;
	}
	if (r->tail < 12 || memcmp(first, BANNER_IMAGE_V2, 12) != 0) {
		snprintf(err, errlen, "not an rbd backup stream: it begins neither "
		    "with \"rbd diff v1\" (rbd export-diff) nor with \"rbd image "
		    "v2\" (rbd export --export-format 2)%s", r->tail < 12 ?
		    " (it is shorter than either banner)" : "");
		return -EINVAL;
	}
	r->format = BACKUP_IMAGE_V2;
	if ((e = in_banner(r, BANNER_IMAGE_V2, err, errlen)) < 0)
		return e;
	for (;;) {		/* metadata up to 'E' */
		uint64_t at = r->pos, len, v;
		char tag;
		if ((e = in_get(r, &tag, 1, "the metadata", err, errlen)) < 0)
			return e;
		if (tag == 'E')
			break;
		if ((e = in_le64(r, &len, "the metadata", err, errlen)) < 0)
			return e;
		if (tag == 'O') {
			if (len != 8) {
				snprintf(err, errlen, "the stream is damaged at byte "
				    "%" PRIu64 ": the image order record says %" PRIu64
				    " bytes, not 8", at, len);
				return -EINVAL;
			}
			if ((e = in_le64(r, &v, "the metadata", err, errlen)) < 0)
				return e;
			r->order = v;
		} else if ((e = in_skip(r, len, err, errlen)) < 0)
			return e;
	}
	if ((e = in_banner(r, BANNER_DIFFS_V2, err, errlen)) < 0)
		return e;
	{
		uint64_t at = r->pos;
		if ((e = in_le64(r, &r->diffs, "the count of diffs", err, errlen)) < 0)
			return e;
		if (r->diffs == 0 || r->diffs > MAX_DIFFS) {
			snprintf(err, errlen, "the stream is damaged at byte %" PRIu64
			    ": it announces %" PRIu64 " diffs", at, r->diffs);
			return -EINVAL;
		}
	}
	return 0;
}

static int
in_name(struct stream_in *r, uint64_t at, char tag, char *name, char *err,
    size_t errlen)
{
	uint64_t len;
	uint32_t le;
	int e;

	if ((e = in_len(r, at, tag, 0, &len, err, errlen)) < 0 ||
	    (e = in_get(r, &le, 4, "a snapshot name", err, errlen)) < 0)
		return e;
	le = le32toh(le);
	if (le == 0 || le > NAME_MAX_LEN || (r->format == BACKUP_IMAGE_V2 &&
	    len != 4 + (uint64_t)le)) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": a "
		    "snapshot name of %u bytes%s", at, le, le > NAME_MAX_LEN ?
		    " (at most 255)" : le == 0 ? "" : " in a record that says otherwise");
		return -EINVAL;
	}
	if ((e = in_get(r, name, le, "a snapshot name", err, errlen)) < 0)
		return e;
	name[le] = '\0';
	if (strlen(name) != le) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": a "
		    "snapshot name with a NUL byte in it", at);
		return -EINVAL;
	}
	return 0;
}

/* off and len of a 'w' or 'z' record, checked against the size. */
static int
in_extent(struct stream_in *r, uint64_t at, char tag, struct stream_record *rec,
    char *err, size_t errlen)
{
	uint64_t len;
	int e;

	if ((e = in_len(r, at, tag, tag == 'z' ? 16 : 0, &len, err, errlen)) < 0 ||
	    (e = in_le64(r, &rec->off, "a data record", err, errlen)) < 0 ||
	    (e = in_le64(r, &rec->len, "a data record", err, errlen)) < 0)
		return e;
	if (!r->have_size) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": a "
		    "data record before the image size", at);
		return -EINVAL;
	}
	if (rec->len > r->size || rec->off > r->size - rec->len) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": "
		    "record '%c' for %" PRIu64 " bytes at %" PRIu64 " lies past the "
		    "image's end (%" PRIu64 " bytes)", at, tag, rec->len, rec->off,
		    r->size);
		return -EINVAL;
	}
	if (tag == 'w' && r->format == BACKUP_IMAGE_V2 && len != 16 + rec->len) {
		snprintf(err, errlen, "the stream is damaged at byte %" PRIu64 ": a "
		    "data record of %" PRIu64 " bytes says it is %" PRIu64 " long",
		    at, rec->len, len);
		return -EINVAL;
	}
	return 0;
}

int
stream_in_next(struct stream_in *r, struct stream_record *rec, char *err,
    size_t errlen)
{
	uint64_t at, len;
	char tag;
	int e;

	memset(rec, 0, sizeof(*rec));
	if (r->data_left > 0) {
		snprintf(err, errlen, "internal: %" PRIu64 " bytes of a data record "
		    "left unread", r->data_left);
		return -EINVAL;
	}
	if (!r->in_diff) {
		if (r->diff == r->diffs) {	/* the end: nothing may follow */
			if ((e = in_fill(r, 1)) < 0)
				return e;
			if (r->tail > r->head) {
				snprintf(err, errlen, "the stream is damaged at byte %"
				    PRIu64 ": bytes after its end", r->pos);
				return -EINVAL;
			}
			rec->type = REC_DONE;
			return 0;
		}
		if ((e = in_banner(r, BANNER_DIFF_V2, err, errlen)) < 0)
			return e;
		r->diff++;
		r->in_diff = true;
	}
	for (;;) {
		at = r->pos;
		if ((e = in_get(r, &tag, 1, "a record", err, errlen)) < 0)
			return e;
		switch (tag) {
		case 'f':
		case 't':
			rec->type = tag == 'f' ? REC_FROM : REC_TO;
			return in_name(r, at, tag, rec->name, err, errlen);
		case 's':
			if ((e = in_len(r, at, tag, 8, &len, err, errlen)) < 0 ||
			    (e = in_le64(r, &rec->size, "the size", err, errlen)) < 0)
				return e;
			r->size = rec->size;
			r->have_size = true;
			rec->type = REC_SIZE;
			return 0;
		case 'w':
			if ((e = in_extent(r, at, tag, rec, err, errlen)) < 0)
				return e;
			r->data_left = rec->len;
			rec->type = REC_DATA;
			return 0;
		case 'z':
			if ((e = in_extent(r, at, tag, rec, err, errlen)) < 0)
				return e;
			rec->type = REC_ZERO;
			return 0;
		case 'e':
			r->in_diff = false;
			rec->type = REC_END;
			return 0;
		case 'p':	/* v2: says 8 bytes, carries one (rbd 16.2) */
			if (r->format == BACKUP_IMAGE_V2) {
				char prot;
				if ((e = in_len(r, at, tag, 8, &len, err, errlen)) < 0 ||
				    (e = in_get(r, &prot, 1, "the protection record",
				    err, errlen)) < 0)
					return e;
				continue;
			}
			/* FALLTHROUGH */
		default:
			if (r->format == BACKUP_IMAGE_V2) {
				if ((e = in_len(r, at, tag, 0, &len, err, errlen)) < 0 ||
				    (e = in_skip(r, len, err, errlen)) < 0)
					return e;
				continue;
			}
			snprintf(err, errlen, "the stream is damaged at byte %" PRIu64
			    ": unknown record tag 0x%02x", at, (unsigned char)tag);
			return -EINVAL;
		}
	}
}

long
stream_in_data(struct stream_in *r, void *buf, size_t len, char *err, size_t errlen)
{
	size_t n;
	int e;

	if (r->data_left == 0)
		return 0;
	if ((e = in_fill(r, 1)) < 0)
		return read_error(r, e, err, errlen);
	if (r->tail == r->head)
		return CUT(r, r->pos, "a data record");
	n = r->tail - r->head;
	if (n > len)
		n = len;
	if (n > r->data_left)
		n = (size_t)r->data_left;
	memcpy(buf, r->buf + r->head, n);
	r->head += n;
	r->pos += n;
	r->data_left -= n;
	return (long)n;
}

void
stream_in_free(struct stream_in *r)
{
	free(r->buf);
	r->buf = NULL;
}
