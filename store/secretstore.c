/*
 * secretstore.c - secrets as sealed records in RADOS.
 *
 * Layout (configured pool):
 *   "cephvol.secrets"         omap: secret name -> "" (the list of secrets)
 *   "cephvol.secret.<name>"   xattr "meta": JSON {uid, gid, mode, labels,
 *                             created, latest}; omap "v%010u" -> record of
 *                             that version. Clients watch this object
 *                             (store/secret_watch.c).
 * A record is sealed so that it opens only in its place: this secret,
 * this version, this owner and mode (store/secret_record.c). A rollback
 * (meta's latest pointing below the newest record present) fails too.
 * What the cluster's administrator can still do (delete records) is in
 * docs/threat-model.md.
 *
 * Crash order: every update of one secret (new version, rotation) is one
 * atomic write op on its object guarded by cmpxattr on "meta". Create
 * writes the object first (exclusive), then the list entry; a crash between
 * leaves an unlisted object that the next create of that name lists again
 * (and says so). Remove deletes the object first, then the list entry.
 *
 * Plaintext exists only in sodium_malloc()'d buffers handed in or out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>
#include <sodium.h>

#include "common/log.h"
#include "secrets/masterkey.h"
#include "store/conn.h"
#include "store/omap.h"
#include "store/secret_internal.h"
#include "store/secretstore.h"

#define LIST_OID	"cephvol.secrets"
#define META_MAX	(64 * 1024)

void
secret_oid(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "cephvol.secret.%s", name);
}

static void
version_key(uint32_t v, char *buf, size_t len)
{
	snprintf(buf, len, "v%010" PRIu32, v);
}

/* ---- metadata --------------------------------------------------------- */

static json_t *
meta_to_json(const struct secret_meta *m)
{
	return json_pack("{s:I, s:I, s:I, s:O, s:I, s:I}",
	    "uid", (json_int_t)m->uid, "gid", (json_int_t)m->gid,
	    "mode", (json_int_t)m->mode,
	    "labels", m->labels ? m->labels : json_object(),
	    "created", (json_int_t)m->created, "latest", (json_int_t)m->latest);
}

static int
meta_from_json(const char *name, const char *buf, size_t len, struct secret_meta *out)
{
	json_int_t uid, gid, mode, created, latest;
	json_t *o, *labels = NULL;

	o = json_loadb(buf, len, 0, NULL);
	if (o == NULL)
		return -EBADMSG;
	if (json_unpack(o, "{s:I, s:I, s:I, s?o, s:I, s:I}", "uid", &uid, "gid", &gid,
	    "mode", &mode, "labels", &labels, "created", &created, "latest", &latest) < 0 ||
	    uid < 0 || gid < 0 || mode < 0 || mode > 07777 || latest < 1 ||
	    latest > UINT32_MAX) {
		json_decref(o);
		return -EBADMSG;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	out->mode = (mode_t)mode;
	out->created = created;
	out->latest = (uint32_t)latest;
	out->labels = json_is_object(labels) ? json_incref(labels) : json_object();
	json_decref(o);
	return 0;
}

void
secret_meta_free(struct secret_meta *m)
{
	if (m == NULL)
		return;
	json_decref(m->labels);
	m->labels = NULL;
}

/* Raw "meta" xattr of a secret: *out malloc'd. */
static int
meta_read_raw(struct store *st, const char *name, char **out, size_t *len)
{
	char oid[300];
	char *buf = malloc(META_MAX);
	int r;

	if (buf == NULL)
		return -ENOMEM;
	secret_oid(name, oid, sizeof(oid));
	r = rados_getxattr(store_ioctx(st), oid, "meta", buf, META_MAX);
	if (r < 0) {
		free(buf);
		return r == -ENODATA ? -ENOENT : r;
	}
	*out = buf;
	*len = (size_t)r;
	return 0;
}

int
secret_meta_get(struct store *st, const char *name, struct secret_meta *out)
{
	char *raw;
	size_t len;
	int r;

	if (!name_valid(name))
		return -EINVAL;
	r = meta_read_raw(st, name, &raw, &len);
	if (r < 0)
		return r;
	r = meta_from_json(name, raw, len, out);
	free(raw);
	return r;
}

/* ---- versions --------------------------------------------------------- */

static int
parse_version_key(const char *k, uint32_t *v)
{
	uint64_t n;

	if (k[0] != 'v' || strlen(k) != 11 || uint_parse(k + 1, 1, UINT32_MAX, &n) < 0)
		return -EINVAL;
	*v = (uint32_t)n;
	return 0;
}

int
secret_versions(struct store *st, const char *name, uint32_t **out, size_t *n)
{
	rados_omap_iter_t it;
	rados_read_op_t op;
	uint32_t *vs = NULL;
	size_t cnt = 0, cap = 0;
	char oid[300];
	int r, rv = 0;

	if (!name_valid(name))
		return -EINVAL;
	secret_oid(name, oid, sizeof(oid));
	op = rados_create_read_op();
	rados_read_op_omap_get_keys2(op, "", 1u << 20, &it, NULL, &rv);
	r = rados_read_op_operate(op, store_ioctx(st), oid, 0);
	if (r == 0 && rv < 0)
		r = rv;
	if (r == 0) {
		char *key;
		size_t klen;
		while (rados_omap_get_next2(it, &key, NULL, &klen, NULL) == 0 && key) {
			uint32_t v;
			char kb[32];
			if (klen >= sizeof(kb))
				continue;
			memcpy(kb, key, klen);
			kb[klen] = '\0';
			if (parse_version_key(kb, &v) < 0)
				continue;
			if ((r = array_grow(&vs, &cap, cnt, sizeof(*vs), 8)) < 0)
				break;
			vs[cnt++] = v;
		}
		rados_omap_get_end(it);
	}
	rados_release_read_op(op);
	if (r < 0) {
		free(vs);
		return r;
	}
	*out = vs;
	*n = cnt;
	return 0;
}

int
secret_value_get(struct store *st, const struct masterkey *mk, const char *name,
    uint32_t version, struct secret_value *out, char *err, size_t errlen)
{
	struct secret_meta m;
	uint32_t *vs = NULL, newest = 0;
	char oid[300], vk[32], *rec = NULL;
	size_t n = 0, reclen;
	int r;

	memset(out, 0, sizeof(*out));
	if (!name_valid(name)) {
		snprintf(err, errlen, "bad secret name '%s': %s", name, NAME_RULE);
		return -EINVAL;
	}
	r = secret_meta_get(st, name, &m);
	if (r < 0) {
		snprintf(err, errlen, r == -ENOENT ? "no secret named %s" :
		    "cannot read secret %s: %s", name, strerror(-r));
		return r;
	}
	r = secret_versions(st, name, &vs, &n);
	if (r < 0) {
		snprintf(err, errlen, "cannot list versions of secret %s: %s", name,
		    strerror(-r));
		goto out_meta;
	}
	for (size_t i = 0; i < n; i++)
		if (vs[i] > newest)
			newest = vs[i];
	free(vs);
	if (newest != m.latest) {
		snprintf(err, errlen, "secret %s was rolled back or damaged: its "
		    "metadata names version %" PRIu32 " as the latest but version %"
		    PRIu32 " exists; nothing served", name, m.latest, newest);
		r = -EBADMSG;
		goto out_meta;
	}
	if (version == 0)
		version = m.latest;
	secret_oid(name, oid, sizeof(oid));
	version_key(version, vk, sizeof(vk));
	r = omap_get(st, oid, vk, &rec, &reclen);
	if (r < 0) {
		snprintf(err, errlen, r == -ENOENT ? "secret %s has no version %" PRIu32 :
		    "cannot read secret %s version %" PRIu32 ": %s", name, version,
		    strerror(-r));
		goto out_meta;
	}
	r = secret_record_open(st, mk, &m, version, (unsigned char *)rec, reclen, out, err, errlen);
	free(rec);
out_meta:
	secret_meta_free(&m);
	return r;
}

/* ---- changes ---------------------------------------------------------- */

static int
check_value(const char *name, const struct secret_value *val, char *err, size_t errlen)
{
	if (!name_valid(name)) {
		snprintf(err, errlen, "bad secret name '%s': %s", name, NAME_RULE);
		return -EINVAL;
	}
	if (val->len > SECRET_MAX_BYTES) {
		snprintf(err, errlen, "secret %s is %zu bytes; the limit is %u bytes (1 MiB)",
		    name, val->len, SECRET_MAX_BYTES);
		return -EFBIG;
	}
	return 0;
}

/* Tell the watchers of secret name that it changed (store/secret_watch.c);
 * wait 5 s at most for their acks. */
static void
notify_watchers(struct store *st, const char *name)
{
	char oid[300], *reply = NULL;
	size_t rlen = 0;

	secret_oid(name, oid, sizeof(oid));
	if (rados_notify2(store_ioctx(st), oid, "changed", 7, 5000, &reply, &rlen) == 0)
		rados_buffer_free(reply);
}

static int
list_add(struct store *st, const char *name)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[] = { name };
	const char *vals[] = { "" };
	const size_t lens[] = { 0 };
	int r;

	rados_write_op_omap_set(op, keys, vals, lens, 1);
	r = rados_write_op_operate(op, store_ioctx(st), LIST_OID, NULL, 0);
	rados_release_write_op(op);
	return r;
}

static bool
list_has(struct store *st, const char *name)
{
	char *v = NULL;
	size_t len;
	int r = omap_get(st, LIST_OID, name, &v, &len);

	free(v);
	return r == 0;
}

int
secret_create(struct store *st, const struct masterkey *mk,
    const struct secret_meta *meta, const struct secret_value *val,
    char *err, size_t errlen)
{
	struct secret_meta m = *meta;
	char oid[300], vk[32], *rec, *mj;
	size_t reclen;
	rados_write_op_t op;
	json_t *j;
	int r;

	r = check_value(meta->name, val, err, errlen);
	if (r < 0)
		return r;
	if (meta->mode & ~07777) {
		snprintf(err, errlen, "bad mode %o for secret %s: only permission bits "
		    "(0000 to 7777 octal) are accepted", (unsigned)meta->mode, meta->name);
		return -EINVAL;
	}
	m.latest = 1;
	if (m.created == 0)
		m.created = (int64_t)time(NULL);
	r = secret_record_seal(st, mk, &m, 1, val->data, val->len, &rec, &reclen);
	if (r < 0) {
		snprintf(err, errlen, "cannot seal secret %s", meta->name);
		return r;
	}
	j = meta_to_json(&m);
	mj = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (mj == NULL) {
		free(rec);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	secret_oid(m.name, oid, sizeof(oid));
	version_key(1, vk, sizeof(vk));
	op = rados_create_write_op();
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_setxattr(op, "meta", mj, strlen(mj));
	rados_write_op_omap_set(op, (const char *[]){ vk }, (const char *[]){ rec },
	    (const size_t[]){ reclen }, 1);
	r = rados_write_op_operate(op, store_ioctx(st), oid, NULL, 0);
	rados_release_write_op(op);
	free(rec);
	free(mj);
	if (r == -EEXIST) {
		if (!list_has(st, m.name) && list_add(st, m.name) == 0)
			snprintf(err, errlen, "secret %s already exists (an interrupted "
			    "create left it unlisted; it is listed again); use 'cephvol "
			    "secret update' to change its value", m.name);
		else
			snprintf(err, errlen, "secret %s already exists; use 'cephvol "
			    "secret update' to change its value", m.name);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot store secret %s: %s", m.name, strerror(-r));
		return r;
	}
	r = list_add(st, m.name);
	if (r < 0) {
		snprintf(err, errlen, "stored secret %s but cannot list it: %s (run "
		    "the command again to finish)", m.name, strerror(-r));
		return r;
	}
	log_info("secret created name=%s version=1 bytes=%zu", m.name, val->len);
	return 0;
}

int
secret_update(struct store *st, const struct masterkey *mk, const char *name,
    const struct secret_value *val, uint32_t *version, char *err, size_t errlen)
{
	char oid[300], vk[32], *raw = NULL, *rec = NULL, *mj = NULL;
	struct secret_meta m;
	size_t rawlen, reclen;
	int r, tries;

	r = check_value(name, val, err, errlen);
	if (r < 0)
		return r;
	secret_oid(name, oid, sizeof(oid));
	for (tries = 0; tries < 10; tries++) {
		r = meta_read_raw(st, name, &raw, &rawlen);
		if (r < 0) {
			snprintf(err, errlen, r == -ENOENT ? "no secret named %s" :
			    "cannot read secret %s: %s", name, strerror(-r));
			return r;
		}
		r = meta_from_json(name, raw, rawlen, &m);
		if (r < 0) {
			free(raw);
			snprintf(err, errlen, "metadata of secret %s is damaged", name);
			return r;
		}
		m.latest++;
		r = secret_record_seal(st, mk, &m, m.latest, val->data, val->len, &rec, &reclen);
		json_t *j = r == 0 ? meta_to_json(&m) : NULL;
		mj = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(j);
		if (mj == NULL) {
			free(raw);
			free(rec);
			secret_meta_free(&m);
			snprintf(err, errlen, "cannot seal secret %s", name);
			return -ENOMEM;
		}
		version_key(m.latest, vk, sizeof(vk));
		rados_write_op_t op = rados_create_write_op();
		rados_write_op_assert_exists(op);
		rados_write_op_cmpxattr(op, "meta", LIBRADOS_CMPXATTR_OP_EQ, raw, rawlen);
		rados_write_op_setxattr(op, "meta", mj, strlen(mj));
		rados_write_op_omap_set(op, (const char *[]){ vk }, (const char *[]){ rec },
		    (const size_t[]){ reclen }, 1);
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL, 0);
		rados_release_write_op(op);
		free(raw);
		free(rec);
		free(mj);
		*version = m.latest;
		secret_meta_free(&m);
		if (r != -ECANCELED)
			break;	/* -ECANCELED: someone updated it meanwhile; again */
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot update secret %s: %s", name, strerror(-r));
		return r;
	}
	log_info("secret updated name=%s version=%" PRIu32 " bytes=%zu", name,
	    *version, val->len);
	notify_watchers(st, name);
	return 0;
}

int
secret_rekey(struct store *st, const struct masterkey *oldk,
    const struct masterkey *newk, const char *name, bool *changed,
    char *err, size_t errlen)
{
	char oid[300], *raw = NULL;
	struct secret_meta m;
	uint32_t *vs = NULL;
	size_t rawlen, n = 0;
	char **keys = NULL, **vals = NULL;
	size_t *lens = NULL;
	int r;

	*changed = false;
	secret_oid(name, oid, sizeof(oid));
	r = meta_read_raw(st, name, &raw, &rawlen);
	if (r < 0) {
		snprintf(err, errlen, "cannot read secret %s: %s", name, strerror(-r));
		return r;
	}
	r = meta_from_json(name, raw, rawlen, &m);
	if (r < 0) {
		free(raw);
		snprintf(err, errlen, "metadata of secret %s is damaged", name);
		return r;
	}
	r = secret_versions(st, name, &vs, &n);
	if (r < 0) {
		snprintf(err, errlen, "cannot list versions of secret %s", name);
		goto out;
	}
	keys = calloc(n + 1, sizeof(*keys));
	vals = calloc(n + 1, sizeof(*vals));
	lens = calloc(n + 1, sizeof(*lens));
	if (keys == NULL || vals == NULL || lens == NULL) {
		r = -ENOMEM;
		goto out;
	}
	size_t todo = 0;
	for (size_t i = 0; i < n; i++) {
		char vk[32], *rec;
		size_t reclen;
		struct secret_value v;

		version_key(vs[i], vk, sizeof(vk));
		r = omap_get(st, oid, vk, &rec, &reclen);
		if (r < 0) {
			snprintf(err, errlen, "cannot read secret %s version %" PRIu32,
			    name, vs[i]);
			goto out;
		}
		if (reclen >= 12 && sodium_memcmp(rec + 4, newk->id, 8) == 0) {
			free(rec);
			continue;	/* already under the new key */
		}
		r = secret_record_open(st, oldk, &m, vs[i], (unsigned char *)rec, reclen,
		    &v, err, errlen);
		free(rec);
		if (r < 0)
			goto out;
		r = secret_record_seal(st, newk, &m, vs[i], v.data, v.len, &vals[todo], &lens[todo]);
		secret_value_free(&v);
		if (r < 0) {
			snprintf(err, errlen, "cannot seal secret %s", name);
			goto out;
		}
		keys[todo] = strdup(vk);
		if (keys[todo++] == NULL) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (todo > 0) {
		rados_write_op_t op = rados_create_write_op();
		rados_write_op_cmpxattr(op, "meta", LIBRADOS_CMPXATTR_OP_EQ, raw, rawlen);
		rados_write_op_omap_set(op, (const char *const *)keys,
		    (const char *const *)vals, lens, todo);
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL, 0);
		rados_release_write_op(op);
		if (r < 0) {
			snprintf(err, errlen, "cannot re-seal secret %s: %s%s", name,
			    strerror(-r), r == -ECANCELED ? " (it changed meanwhile; "
			    "run the rotation again)" : "");
			goto out;
		}
		*changed = true;
	}
	r = 0;
out:
	for (size_t i = 0; keys && i < n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	free(lens);
	free(vs);
	free(raw);
	secret_meta_free(&m);
	return r;
}

int
secret_remove(struct store *st, const char *name, char *err, size_t errlen)
{
	rados_write_op_t op;
	char oid[300];
	int r, r2;

	if (!name_valid(name)) {
		snprintf(err, errlen, "bad secret name '%s': %s", name, NAME_RULE);
		return -EINVAL;
	}
	secret_oid(name, oid, sizeof(oid));
	r = rados_remove(store_ioctx(st), oid);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "cannot remove secret %s: %s", name, strerror(-r));
		return r;
	}
	op = rados_create_write_op();
	rados_write_op_omap_rm_keys(op, (const char *[]){ name }, 1);
	r2 = rados_write_op_operate(op, store_ioctx(st), LIST_OID, NULL, 0);
	rados_release_write_op(op);
	if (r == -ENOENT && (r2 == -ENOENT || !list_has(st, name))) {
		snprintf(err, errlen, "no secret named %s", name);
		return -ENOENT;
	}
	if (r2 < 0 && r2 != -ENOENT) {
		snprintf(err, errlen, "removed secret %s but cannot unlist it: %s "
		    "(run the command again to finish)", name, strerror(-r2));
		return r2;
	}
	log_info("secret removed name=%s", name);
	return 0;
}

int
secret_list(struct store *st, struct secret_meta **out, size_t *n)
{
	rados_omap_iter_t it;
	rados_read_op_t op = rados_create_read_op();
	struct secret_meta *list = NULL;
	size_t cnt = 0, cap = 0;
	int r, rv = 0;

	rados_read_op_omap_get_keys2(op, "", 1u << 20, &it, NULL, &rv);
	r = rados_read_op_operate(op, store_ioctx(st), LIST_OID, 0);
	if (r == 0 && rv < 0)
		r = rv;
	if (r == -ENOENT) {
		rados_release_read_op(op);
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (r == 0) {
		char *key;
		size_t klen;
		while (rados_omap_get_next2(it, &key, NULL, &klen, NULL) == 0 && key) {
			char name[NAME_MAX_LEN + 1];
			if (klen > NAME_MAX_LEN)
				continue;
			memcpy(name, key, klen);
			name[klen] = '\0';
			if ((r = array_grow(&list, &cap, cnt, sizeof(*list), 16)) < 0)
				break;
			if (secret_meta_get(st, name, &list[cnt]) < 0) {
				/* listed but unreadable: show the name only */
				memset(&list[cnt], 0, sizeof(list[cnt]));
				snprintf(list[cnt].name, sizeof(list[cnt].name), "%s", name);
			}
			cnt++;
		}
		rados_omap_get_end(it);
	}
	rados_release_read_op(op);
	if (r < 0) {
		for (size_t i = 0; i < cnt; i++)
			secret_meta_free(&list[i]);
		free(list);
		return r;
	}
	*out = list;
	*n = cnt;
	return 0;
}
