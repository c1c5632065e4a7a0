/*
 * lockop.c - cls_lock operations inside compound write ops, and the lock's
 * raw record (store/lockop.h).
 *
 * Encoding. Ceph encodes integers little-endian, strings as a u32 length
 * and the bytes, and a versioned structure as u8 version, u8 compat, u32
 * length, body (ENCODE_START(1, 1) ... ENCODE_FINISH). utime_t is u32
 * seconds, u32 nanoseconds; entity_name_t is u8 type (8 = client), i64
 * number. The input structures (Ceph's src/cls/lock/cls_lock_ops.h):
 *	lock:		name, u8 type, cookie, tag, description, utime duration,
 *			u8 flags
 *	unlock:		name, cookie
 *	break_lock:	name, entity_name_t locker, cookie
 * The record (xattr "lock.<name>", lock_info_t): map<locker_id_t,
 * locker_info_t> as u32 count then pairs, u8 lock type, tag; locker_id_t
 * is {entity_name_t, cookie}, locker_info_t {utime expiration,
 * entity_addr_t, description}, each framed.
 *
 * No state, no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "store/lockop.h"

#define ENTITY_CLIENT	8
#define ENTITY_OSD	4
/* The largest lock record read (a shared lock of ~5000 lockers). */
#define LOCKOP_RECORD_MAX	(1 << 20)

/* ---- encoding ------------------------------------------------------------ */

struct enc {
	char	*buf;
	size_t	 len, cap;
	bool	 full;
};

static void
enc_bytes(struct enc *e, const void *p, size_t n)
{
	if (e->full || e->cap - e->len < n) {
		e->full = true;
		return;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void
enc_le(struct enc *e, uint64_t v, unsigned n)
{
	unsigned char b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	enc_bytes(e, b, n);
}

static void
enc_string(struct enc *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	enc_le(e, n, 4);
	enc_bytes(e, s, n);
}

/* ENCODE_START(1, 1): returns where the length goes. */
static size_t
enc_start(struct enc *e)
{
	size_t at;

	enc_le(e, 1, 1);
	enc_le(e, 1, 1);
	at = e->len;
	enc_le(e, 0, 4);
	return at;
}

static void
enc_finish(struct enc *e, size_t at)
{
	uint32_t n = (uint32_t)(e->len - at - 4);

	if (e->full)
		return;
	for (unsigned i = 0; i < 4; i++)
		e->buf[at + i] = (char)(n >> (8 * i));
}

/* "client.4127" -> type, number */
static int
entity_parse(const char *s, uint8_t *type, int64_t *num)
{
	const char *dot = strchr(s, '.');
	char *end;

	if (dot == NULL)
		return -EINVAL;
	if ((size_t)(dot - s) == 6 && strncmp(s, "client", 6) == 0)
		*type = ENTITY_CLIENT;
	else if ((size_t)(dot - s) == 3 && strncmp(s, "osd", 3) == 0)
		*type = ENTITY_OSD;
	else
		return -EINVAL;
	*num = strtoll(dot + 1, &end, 10);
	return *end == '\0' && end != dot + 1 ? 0 : -EINVAL;
}

int
lockop_lock(rados_write_op_t op, const char *name, enum lockop_type type,
    const char *cookie, const char *tag, const char *desc, unsigned seconds,
    uint8_t flags, char *buf, size_t buflen, int *prval)
{
	struct enc e = { .buf = buf, .cap = buflen };
	size_t at = enc_start(&e);

	enc_string(&e, name);
	enc_le(&e, (uint64_t)type, 1);
	enc_string(&e, cookie);
	enc_string(&e, tag);
	enc_string(&e, desc);
	enc_le(&e, seconds, 4);
	enc_le(&e, 0, 4);
	enc_le(&e, flags, 1);
	enc_finish(&e, at);
	if (e.full)
		return -ENAMETOOLONG;
	rados_write_op_exec(op, "lock", "lock", e.buf, e.len, prval);
	return 0;
}

int
lockop_unlock(rados_write_op_t op, const char *name, const char *cookie,
    char *buf, size_t buflen)
{
	struct enc e = { .buf = buf, .cap = buflen };
	size_t at = enc_start(&e);

	enc_string(&e, name);
	enc_string(&e, cookie);
	enc_finish(&e, at);
	if (e.full)
		return -ENAMETOOLONG;
	rados_write_op_exec(op, "lock", "unlock", e.buf, e.len, NULL);
	return 0;
}

int
lockop_break(rados_write_op_t op, const char *name, const char *client,
    const char *cookie, char *buf, size_t buflen)
{
	struct enc e = { .buf = buf, .cap = buflen };
	uint8_t type;
	int64_t num;
	size_t at;

	if (entity_parse(client, &type, &num) < 0)
		return -EINVAL;
	at = enc_start(&e);
	enc_string(&e, name);
	enc_le(&e, type, 1);
	enc_le(&e, (uint64_t)num, 8);
	enc_string(&e, cookie);
	enc_finish(&e, at);
	if (e.full)
		return -ENAMETOOLONG;
	rados_write_op_exec(op, "lock", "break_lock", e.buf, e.len, NULL);
	return 0;
}

/* ---- decoding the record --------------------------------------------------- */

struct dec {
	const unsigned char	*p, *end;
	bool			 bad;
};

static bool
dec_need(struct dec *d, size_t n)
{
	if (d->bad || (size_t)(d->end - d->p) < n) {
		d->bad = true;
		return false;
	}
	return true;
}

static uint64_t
dec_le(struct dec *d, unsigned n)
{
	uint64_t v = 0;

	if (!dec_need(d, n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)d->p[i] << (8 * i);
	d->p += n;
	return v;
}

static void
dec_string(struct dec *d, char *buf, size_t len)
{
	uint32_t n = (uint32_t)dec_le(d, 4);

	buf[0] = '\0';
	if (!dec_need(d, n))
		return;
	snprintf(buf, len, "%.*s", (int)n, (const char *)d->p);
	d->p += n;
}

/* ENCODE_START framing: returns where the structure ends. */
static const unsigned char *
dec_struct(struct dec *d)
{
	uint32_t len;

	dec_le(d, 1);
	dec_le(d, 1);
	len = (uint32_t)dec_le(d, 4);
	if (!dec_need(d, len))
		return d->p;
	return d->p + len;
}

static void
dec_finish(struct dec *d, const unsigned char *end)
{
	if (!d->bad && d->p <= end)
		d->p = end;
	else
		d->bad = true;
}

/* entity_addr_t -> "IP:PORT/NONCE" */
static void
dec_addr(struct dec *d, char *buf, size_t len)
{
	uint32_t nonce;
	unsigned port = 0;
	char ip[64] = "?";

	if (!dec_need(d, 1))
		return;
	if (d->p[0] == 1) {		/* msgr2-era encoding */
		d->p++;
		const unsigned char *end = dec_struct(d);
		dec_le(d, 4);		/* type */
		nonce = (uint32_t)dec_le(d, 4);
		uint32_t elen = (uint32_t)dec_le(d, 4);
		if (elen >= 2 && dec_need(d, elen)) {
			unsigned family = d->p[0] | (unsigned)d->p[1] << 8;
			const unsigned char *data = d->p + 2;
			if (family == 2 && elen >= 8) {
				port = (unsigned)data[0] << 8 | data[1];
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", data[2],
				    data[3], data[4], data[5]);
			} else if (family == 10 && elen >= 24) {
				char tmp[64];
				size_t o = 0;
				port = (unsigned)data[0] << 8 | data[1];
				for (int i = 0; i < 8; i++)
					o += (size_t)snprintf(tmp + o, sizeof(tmp) - o,
					    "%s%x", i ? ":" : "",
					    (unsigned)data[6 + 2 * i] << 8 | data[7 + 2 * i]);
				snprintf(ip, sizeof(ip), "[%s]", tmp);
			}
			d->p += elen;
		}
		dec_finish(d, end);
	} else {			/* legacy: u32 0, u32 nonce, sockaddr_storage */
		dec_le(d, 4);
		nonce = (uint32_t)dec_le(d, 4);
		if (!dec_need(d, 128))
			return;
		unsigned family = (unsigned)d->p[0] << 8 | d->p[1];
		port = (unsigned)d->p[2] << 8 | d->p[3];
		if (family == 2)
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", d->p[4], d->p[5],
			    d->p[6], d->p[7]);
		d->p += 128;
	}
	snprintf(buf, len, "%s:%u/%" PRIu32, ip, port, nonce);
}

static int decode_lockers(const char *buf, size_t len, const char *name,
    const char *oid, struct lockop_locker *out, int max, enum lockop_type *type);

int
lockop_lockers(rados_ioctx_t io, const char *oid, const char *name,
    struct lockop_locker *out, int max, enum lockop_type *type)
{
	char key[128], *buf = NULL;
	size_t cap = 16384;
	int r;

	snprintf(key, sizeof(key), "lock.%s", name);
	/* a shared lock of many hosts outgrows the first guess */
	for (;;) {
		char *nb = realloc(buf, cap);
		if (nb == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		r = rados_getxattr(io, oid, key, buf, cap);
		if (r != -ERANGE || cap >= LOCKOP_RECORD_MAX)
			break;
		cap *= 4;
	}
	if (r == -ENODATA || r == -ENOENT || r == 0)
		r = 0;
	if (r <= 0) {
		free(buf);
		return r;
	}
	r = decode_lockers(buf, (size_t)r, name, oid, out, max, type);
	free(buf);
	return r;
}

static int
decode_lockers(const char *buf, size_t len, const char *name, const char *oid,
    struct lockop_locker *out, int max, enum lockop_type *type)
{
	struct dec d;
	int n = 0;

	d.p = (const unsigned char *)buf;
	d.end = d.p + len;
	d.bad = false;
	const unsigned char *end = dec_struct(&d);
	uint32_t count = (uint32_t)dec_le(&d, 4);
	for (uint32_t i = 0; i < count && !d.bad; i++) {
		struct lockop_locker l;

		memset(&l, 0, sizeof(l));
		const unsigned char *e1 = dec_struct(&d);
		unsigned etype = (unsigned)dec_le(&d, 1);
		int64_t num = (int64_t)dec_le(&d, 8);
		dec_string(&d, l.cookie, sizeof(l.cookie));
		dec_finish(&d, e1);
		const unsigned char *e2 = dec_struct(&d);
		uint32_t sec = (uint32_t)dec_le(&d, 4);
		uint32_t nsec = (uint32_t)dec_le(&d, 4);
		dec_addr(&d, l.addr, sizeof(l.addr));
		dec_string(&d, l.desc, sizeof(l.desc));
		dec_finish(&d, e2);
		if (d.bad)
			break;
		snprintf(l.client, sizeof(l.client), "%s.%" PRId64,
		    etype == ENTITY_CLIENT ? "client" : etype == ENTITY_OSD ?
		    "osd" : "entity", num);
		l.expires = sec;
		l.expires_nsec = nsec;
		l.expired = sec != 0 && (int64_t)sec < (int64_t)time(NULL);
		if (n < max)
			out[n] = l;
		n++;
	}
	unsigned t = (unsigned)dec_le(&d, 1);
	if (!d.bad)
		dec_finish(&d, end);
	if (d.bad) {
		log_warn("cannot decode lock %s on %s", name, oid);
		return -EINVAL;
	}
	if (type)
		*type = t == LOCKOP_SHARED ? LOCKOP_SHARED : LOCKOP_EXCLUSIVE;
	return n < max ? n : max;
}
