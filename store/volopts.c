/*
 * volopts.c - a volume's options: Docker's `-o key=value` map to struct
 * volume_meta and back, and the JSON form stored in the header
 * (store/volopts.h).
 *
 * One parser serves `docker volume create -o` (cephvold) and
 * `cephvol volume create -o` so both accept exactly the same keys with the
 * same rules. Pure code: no RADOS, no state, no locking. Every error is a
 * sentence that says what is accepted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "store/secret_grant.h"
#include "store/volopts.h"

#define ACCEPTED_OPTS \
	"accepted options: size=SIZE (e.g. 10G, 512M), fs=ext4|xfs, " \
	"objectsize=SIZE (power of two, 64K to 64M), type=block|secrets, " \
	"secrets=NAME[@VERSION][,...] (type=secrets only), labels=K=V[,K=V...], " \
	"label.KEY=VALUE, from=VOLUME@SNAPSHOT (a clone), " \
	"snapshot=VOLUME@SNAPSHOT (a read-only snapshot volume), " \
	"iops_limit=N, bps_limit=SIZE (a second; also read_ and write_)"

#define OBJECT_SIZE_MIN	((uint64_t)64 << 10)
#define OBJECT_SIZE_MAX	((uint64_t)64 << 20)

static const char *const known_opts[] = {
	"size", "fs", "objectsize", "type", "secrets", "labels", "label.",
};

const char *
volume_type_name(enum volume_type t)
{
	return t == VOLUME_SECRETS ? "secrets" : "block";
}

void
volume_meta_free(struct volume_meta *m)
{
	if (m == NULL)
		return;
	json_decref(m->labels);
	json_decref(m->secrets);
	json_decref(m->snapshots);
	json_decref(m->parent);
	m->labels = NULL;
	m->secrets = NULL;
	m->snapshots = NULL;
	m->parent = NULL;
}

int
volume_meta_copy(const struct volume_meta *src, struct volume_meta *dst)
{
	*dst = *src;
	dst->labels = src->labels ? json_deep_copy(src->labels) : json_object();
	dst->secrets = src->secrets ? json_deep_copy(src->secrets) : json_array();
	dst->snapshots = src->snapshots ? json_deep_copy(src->snapshots) : NULL;
	dst->parent = src->parent ? json_deep_copy(src->parent) : NULL;
	if (dst->labels == NULL || dst->secrets == NULL ||
	    (src->snapshots != NULL && dst->snapshots == NULL) ||
	    (src->parent != NULL && dst->parent == NULL)) {
		volume_meta_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool
pow2(uint64_t v)
{
	return v && (v & (v - 1)) == 0;
}

static int
parse_size_opt(const char *key, const char *v, uint64_t *out, char *err,
    size_t errlen)
{
	int r = size_parse(v, out);

	if (r < 0) {
		snprintf(err, errlen, "bad value '%s' for option %s: expected a "
		    "size such as 10G, 512M or 4096 (suffixes K, M, G, T, P are "
		    "powers of 1024)", v, key);
		return -EINVAL;
	}
	return 0;
}

/* "a,b@2" -> ["a", "b@2"]; each a grant (store/secret_grant.h), no secret
 * named twice. */
static int
parse_secrets(const char *v, json_t *arr, char *err, size_t errlen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	int r = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char name[NAME_MAX_LEN + 1];
		uint32_t ver;
		size_t n;

		r = secret_grant_parse(tok, name, sizeof(name), &ver);
		if (r == -ENAMETOOLONG)
			snprintf(err, errlen, "bad secret name in secrets=: %s", NAME_RULE);
		else if (r == -EINVAL)
			snprintf(err, errlen, "bad secret name '%s' in secrets=: %s",
			    name, NAME_RULE);
		else if (r < 0)
			snprintf(err, errlen, "bad version in secrets=%s: expected "
			    "NAME or NAME@VERSION with VERSION a number from 1", tok);
		if (r < 0) {
			r = -EINVAL;
			break;
		}
		n = strlen(name);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			const char *o = json_string_value(json_array_get(arr, i));
			size_t on = strcspn(o, "@");
			if (on == n && strncmp(o, name, n) == 0) {
				snprintf(err, errlen, "secret %s is named twice in "
				    "secrets=", name);
				r = -EINVAL;
				goto out_free;
			}
		}
		json_array_append_new(arr, json_string(tok));
	}
	if (r == 0 && json_array_size(arr) == 0) {
		snprintf(err, errlen, "option secrets needs at least one secret: "
		    "secrets=NAME[@VERSION][,...]");
		r = -EINVAL;
	}
out_free:
	free(copy);
	return r;
}

static bool
label_key_valid(const char *k)
{
	return k[0] != '\0' && strpbrk(k, "=,") == NULL && strlen(k) <= 255;
}

/* "k=v,k2=v2" into labels. */
static int
parse_labels(const char *v, json_t *labels, char *err, size_t errlen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	int r = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq == tok) {
			snprintf(err, errlen, "bad label '%s' in labels=: expected "
			    "KEY=VALUE[,KEY=VALUE...]", tok);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		json_object_set_new(labels, tok, json_string(eq + 1));
	}
	free(copy);
	return r;
}

static void
unknown_opt(const char *key, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < ARRAY_SIZE(known_opts); i++) {
		size_t d = edit_distance(key, known_opts[i]);
		if (d < bestd) {
			bestd = d;
			best = known_opts[i];
		}
	}
	if (best && strcmp(best, "label.") == 0)
		best = "label.KEY";
	if (best)
		snprintf(err, errlen, "unknown option '%s' (did you mean %s?); "
		    ACCEPTED_OPTS, key, best);
	else
		snprintf(err, errlen, "unknown option '%s'; " ACCEPTED_OPTS, key);
}

static const struct {
	const char	*key;
	size_t		 off;
	bool		 bytes;
} qos_keys[] = {
	{ "iops_limit", offsetof(struct volume_qos, iops), false },
	{ "read_iops_limit", offsetof(struct volume_qos, read_iops), false },
	{ "write_iops_limit", offsetof(struct volume_qos, write_iops), false },
	{ "bps_limit", offsetof(struct volume_qos, bps), true },
	{ "read_bps_limit", offsetof(struct volume_qos, read_bps), true },
	{ "write_bps_limit", offsetof(struct volume_qos, write_bps), true },
};

#define QOS_MAX_IOPS	((uint64_t)10000000)

int
volume_qos_set(struct volume_qos *q, const char *key, const char *v,
    bool clear_ok, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(qos_keys); i++) {
		uint64_t n, *dst;
		int r;

		if (strcmp(key, qos_keys[i].key) != 0)
			continue;
		dst = (uint64_t *)((char *)q + qos_keys[i].off);
		if (clear_ok && strcmp(v, "none") == 0) {
			*dst = 0;
			return 0;
		}
		r = qos_keys[i].bytes ? size_parse(v, &n) :
		    uint_parse(v, 1, QOS_MAX_IOPS, &n);
		if (r < 0 || n == 0 || (qos_keys[i].bytes && n > VOLUME_MAX_SIZE)) {
			char shown[64];
			snprintf(err, errlen, "bad value '%s' for %s: expected %s%s",
			    str_escape(shown, sizeof(shown), v, strlen(v) > 40 ? 40 :
			    strlen(v)), key, qos_keys[i].bytes ? "bytes a second, at "
			    "least 1 (e.g. 50M)" : "operations a second, 1 to 10000000",
			    clear_ok ? ", or none" : "");
			return -EINVAL;
		}
		*dst = n;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%.64s': the limits are iops_limit, "
	    "read_iops_limit, write_iops_limit, bps_limit, read_bps_limit, "
	    "write_bps_limit", key);
	return -ENOENT;
}

json_t *
volume_qos_json(const struct volume_qos *q)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < ARRAY_SIZE(qos_keys); i++) {
		uint64_t v = *(const uint64_t *)((const char *)q + qos_keys[i].off);
		if (v > 0)
			json_object_set_new(o, qos_keys[i].key, json_integer((json_int_t)v));
	}
	return o;
}

static int
qos_from_json(json_t *j, struct volume_qos *q)
{
	const char *k;
	json_t *v;

	memset(q, 0, sizeof(*q));
	if (j == NULL)
		return 0;
	if (!json_is_object(j))
		return -EINVAL;
	json_object_foreach(j, k, v) {
		char num[32], err[256];
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return -EINVAL;
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		if (volume_qos_set(q, k, num, false, err, sizeof(err)) < 0)
			return -EINVAL;
	}
	return 0;
}

int
volume_opts_parse(const struct config *cfg, const char *name, json_t *opts,
    struct volume_meta *out, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	int r;

	memset(out, 0, sizeof(*out));
	if (name == NULL || !name_valid(name)) {
		snprintf(err, errlen, "invalid volume name '%.64s%s': %s",
		    name ? name : "", name && strlen(name) > 64 ? "..." : "",
		    NAME_RULE);
		return -EINVAL;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->type = VOLUME_BLOCK;
	out->size = cfg->volume_default_size;
	out->object_size = cfg->volume_object_size;
	snprintf(out->fs, sizeof(out->fs), "%s", cfg->volume_default_fs);
	out->labels = json_object();
	out->secrets = json_array();
	if (out->labels == NULL || out->secrets == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (opts != NULL && !json_is_object(opts) && !json_is_null(opts)) {
		snprintf(err, errlen, "volume options must be an object of strings");
		r = -EINVAL;
		goto out_free;
	}
	json_object_foreach(opts, key, val) {
		const char *v = json_string_value(val);

		if (v == NULL) {
			snprintf(err, errlen, "option %s must be a string", key);
			r = -EINVAL;
			goto out_free;
		}
		if (strcmp(key, "size") == 0) {
			if ((r = parse_size_opt(key, v, &out->size, err, errlen)) < 0)
				goto out_free;
			out->given |= VOLUME_OPT_SIZE;
		} else if (strcmp(key, "fs") == 0) {
			if (strcmp(v, "ext4") != 0 && strcmp(v, "xfs") != 0) {
				snprintf(err, errlen, "bad value '%s' for option fs: "
				    "expected ext4 or xfs", v);
				r = -EINVAL;
				goto out_free;
			}
			snprintf(out->fs, sizeof(out->fs), "%s", v);
			out->given |= VOLUME_OPT_FS;
		} else if (strcmp(key, "objectsize") == 0 ||
		    strcmp(key, "object_size") == 0) {
			if ((r = parse_size_opt(key, v, &out->object_size, err,
			    errlen)) < 0)
				goto out_free;
			if (!pow2(out->object_size) || out->object_size < OBJECT_SIZE_MIN ||
			    out->object_size > OBJECT_SIZE_MAX) {
				snprintf(err, errlen, "bad value '%s' for option %s: "
				    "expected a power of two from 64K to 64M", v, key);
				r = -EINVAL;
				goto out_free;
			}
			out->given |= VOLUME_OPT_OBJECT_SIZE;
		} else if (strcmp(key, "type") == 0) {
			if (strcmp(v, "block") == 0)
				out->type = VOLUME_BLOCK;
			else if (strcmp(v, "secrets") == 0)
				out->type = VOLUME_SECRETS;
			else {
				snprintf(err, errlen, "bad value '%s' for option type: "
				    "expected block or secrets", v);
				r = -EINVAL;
				goto out_free;
			}
			out->given |= VOLUME_OPT_TYPE;
		} else if (strcmp(key, "secrets") == 0) {
			json_array_clear(out->secrets);
			if ((r = parse_secrets(v, out->secrets, err, errlen)) < 0)
				goto out_free;
			out->given |= VOLUME_OPT_SECRETS;
		} else if (strcmp(key, "labels") == 0) {
			if ((r = parse_labels(v, out->labels, err, errlen)) < 0)
				goto out_free;
			out->given |= VOLUME_OPT_LABELS;
		} else if (strncmp(key, "label.", 6) == 0) {
			if (!label_key_valid(key + 6)) {
				snprintf(err, errlen, "bad option '%s': label.KEY=VALUE "
				    "needs a KEY without '=' or ','", key);
				r = -EINVAL;
				goto out_free;
			}
			json_object_set_new(out->labels, key + 6, json_string(v));
			out->given |= VOLUME_OPT_LABELS;
		} else if (strstr(key, "_limit") != NULL) {
			if ((r = volume_qos_set(&out->qos, key, v, false, err,
			    errlen)) < 0) {
				if (r == -ENOENT)
					unknown_opt(key, err, errlen);
				r = -EINVAL;
				goto out_free;
			}
			out->given |= VOLUME_OPT_QOS;
		} else if (strcmp(key, "from") == 0 || strcmp(key, "snapshot") == 0) {
			unsigned bit = key[0] == 'f' ? VOLUME_OPT_FROM :
			    VOLUME_OPT_SNAPSHOT;
			if (!volume_ref_parse(v, NULL, 0, NULL, 0)) {
				char shown[128];
				snprintf(err, errlen, "bad value '%s' for option %s: "
				    "expected VOLUME@SNAPSHOT", str_escape(shown,
				    sizeof(shown), v, strlen(v) > 80 ? 80 : strlen(v)),
				    key);
				r = -EINVAL;
				goto out_free;
			}
			if (out->given & (VOLUME_OPT_FROM | VOLUME_OPT_SNAPSHOT) & ~bit) {
				snprintf(err, errlen, "options from and snapshot exclude "
				    "each other: from= makes a writable clone, "
				    "snapshot= a read-only volume");
				r = -EINVAL;
				goto out_free;
			}
			snprintf(out->origin, sizeof(out->origin), "%s", v);
			out->given |= bit;
		} else {
			unknown_opt(key, err, errlen);
			r = -EINVAL;
			goto out_free;
		}
	}
	if (out->given & (VOLUME_OPT_FROM | VOLUME_OPT_SNAPSHOT)) {
		/* the rest comes from the snapshot (store/clone.c) */
		unsigned clash = VOLUME_OPT_FS | VOLUME_OPT_OBJECT_SIZE |
		    VOLUME_OPT_TYPE | VOLUME_OPT_SECRETS;
		if (out->given & VOLUME_OPT_SNAPSHOT)
			clash |= VOLUME_OPT_SIZE | VOLUME_OPT_QOS;
		if (out->given & clash) {
			snprintf(err, errlen, "option %s takes its %s from the "
			    "snapshot: leave out type, fs, objectsize%s",
			    (out->given & VOLUME_OPT_FROM) ? "from" : "snapshot",
			    (out->given & VOLUME_OPT_FROM) ? "filesystem and object "
			    "size" : "size, filesystem and object size",
			    (out->given & VOLUME_OPT_FROM) ? "" : ", size and limits");
			r = -EINVAL;
			goto out_free;
		}
		out->readonly = (out->given & VOLUME_OPT_SNAPSHOT) != 0;
		return 0;
	}

	if (out->type == VOLUME_SECRETS) {
		static const struct {
			unsigned	 bit;
			const char	*name;
		} block_only[] = {
			{ VOLUME_OPT_SIZE, "size" }, { VOLUME_OPT_FS, "fs" },
			{ VOLUME_OPT_OBJECT_SIZE, "objectsize" },
			{ VOLUME_OPT_QOS, "*_limit" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(block_only); i++) {
			if (out->given & block_only[i].bit) {
				snprintf(err, errlen, "option %s does not apply to "
				    "type=secrets volumes (they hold no blocks); "
				    "a secrets volume takes secrets=NAME[@VERSION][,...] "
				    "and labels", block_only[i].name);
				r = -EINVAL;
				goto out_free;
			}
		}
		if (!(out->given & VOLUME_OPT_SECRETS)) {
			snprintf(err, errlen, "a type=secrets volume needs "
			    "-o secrets=NAME[@VERSION][,...] naming what it grants");
			r = -EINVAL;
			goto out_free;
		}
		out->size = 0;
		out->object_size = 0;
		out->fs[0] = '\0';
	} else {
		char a[32], b[32];

		if (out->given & VOLUME_OPT_SECRETS) {
			snprintf(err, errlen, "option secrets applies only to "
			    "type=secrets volumes (add -o type=secrets)");
			r = -EINVAL;
			goto out_free;
		}
		if (out->size < VOLUME_MIN_SIZE || out->size > VOLUME_MAX_SIZE) {
			snprintf(err, errlen, "bad size %s: a volume is from %s to %s",
			    size_format(out->size, a, sizeof(a)),
			    size_format(VOLUME_MIN_SIZE, b, sizeof(b)), "1P");
			r = -EINVAL;
			goto out_free;
		}
		if (out->size % 4096 != 0) {
			snprintf(err, errlen, "bad size %" PRIu64 ": a volume's size "
			    "must be a multiple of 4K", out->size);
			r = -EINVAL;
			goto out_free;
		}
		/* mkfs.xfs makes no filesystem under 300 MiB: the default
		 * gives way to ext4 there, an explicit fs=xfs is refused */
		if (strcmp(out->fs, "xfs") == 0 && out->size < VOLUME_XFS_MIN_SIZE) {
			if (out->given & VOLUME_OPT_FS) {
				snprintf(err, errlen, "fs=xfs needs a volume of at least "
				    "300M (mkfs.xfs makes no smaller filesystem): give "
				    "a larger size, or fs=ext4");
				r = -EINVAL;
				goto out_free;
			}
			snprintf(out->fs, sizeof(out->fs), "ext4");
		}
	}
	return 0;

out_free:
	volume_meta_free(out);
	return r;
}

json_t *
volume_meta_json(const struct volume_meta *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "type", json_string(volume_type_name(m->type)));
	if (m->type == VOLUME_BLOCK) {
		json_object_set_new(o, "size", json_integer((json_int_t)m->size));
		json_object_set_new(o, "object_size",
		    json_integer((json_int_t)m->object_size));
		json_object_set_new(o, "fs", json_string(m->fs));
		if (m->snapshots != NULL)
			json_object_set_new(o, "snapshots",
			    json_deep_copy(m->snapshots));
		if (m->parent != NULL)
			json_object_set_new(o, "parent", json_deep_copy(m->parent));
		if (m->readonly)
			json_object_set_new(o, "readonly", json_true());
		json_t *q = volume_qos_json(&m->qos);
		if (q != NULL && json_object_size(q) > 0)
			json_object_set_new(o, "qos", q);
		else
			json_decref(q);
	} else {
		json_object_set_new(o, "secrets",
		    m->secrets ? json_deep_copy(m->secrets) : json_array());
	}
	json_object_set_new(o, "labels",
	    m->labels ? json_deep_copy(m->labels) : json_object());
	json_object_set_new(o, "created", json_integer(m->created));
	return o;
}

int
volume_meta_from_json(json_t *j, struct volume_meta *out)
{
	const char *name, *id, *type, *fs = "";
	json_int_t size = 0, objsize = 0, created = 0;
	json_t *labels = NULL, *secrets = NULL, *snapshots = NULL, *parent = NULL;
	json_t *qos = NULL;
	int readonly = 0;

	memset(out, 0, sizeof(*out));
	if (json_unpack(j, "{s:s, s:s, s:s, s?:I, s?:I, s?:s, s?:o, s?:o, s?:I, s?:o, "
	    "s?:o, s?:b, s?:o}",
	    "name", &name, "id", &id, "type", &type, "size", &size,
	    "object_size", &objsize, "fs", &fs, "labels", &labels,
	    "secrets", &secrets, "created", &created, "snapshots", &snapshots,
	    "parent", &parent, "readonly", &readonly, "qos", &qos) < 0)
		return -EINVAL;
	if (!name_valid(name) || strlen(id) != VOLUME_ID_LEN ||
	    strspn(id, "0123456789abcdef") != VOLUME_ID_LEN)
		return -EINVAL;
	if (strcmp(type, "block") == 0) {
		out->type = VOLUME_BLOCK;
		if (size <= 0 || !pow2((uint64_t)objsize) ||
		    (strcmp(fs, "ext4") != 0 && strcmp(fs, "xfs") != 0))
			return -EINVAL;
	} else if (strcmp(type, "secrets") == 0)
		out->type = VOLUME_SECRETS;
	else
		return -EINVAL;
	if ((labels && !json_is_object(labels)) || (secrets && !json_is_array(secrets)) ||
	    (snapshots && !json_is_object(snapshots)) ||
	    (parent && !json_is_object(parent)) || qos_from_json(qos, &out->qos) < 0)
		return -EINVAL;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->fs, sizeof(out->fs), "%s", fs);
	out->size = (uint64_t)size;
	out->object_size = (uint64_t)objsize;
	out->created = created;
	out->labels = labels ? json_deep_copy(labels) : json_object();
	out->secrets = secrets ? json_deep_copy(secrets) : json_array();
	out->snapshots = snapshots ? json_deep_copy(snapshots) : NULL;
	out->parent = parent ? json_deep_copy(parent) : NULL;
	out->readonly = readonly;
	if (out->labels == NULL || out->secrets == NULL ||
	    (snapshots != NULL && out->snapshots == NULL) ||
	    (parent != NULL && out->parent == NULL)) {
		volume_meta_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* Append ", what" to err (the first without the comma). */
static void
add_diff(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
add_diff(char *err, size_t errlen, const char *fmt, ...)
{
	size_t n = strlen(err);
	va_list ap;

	if (n >= errlen - 1)
		return;
	if (n > 0 && err[n - 1] != ' ')
		n += (size_t)snprintf(err + n, errlen - n, ", ");
	if (n >= errlen - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

bool
volume_meta_matches(const struct volume_meta *have, const struct volume_meta *want,
    char *err, size_t errlen)
{
	char a[32], b[32];
	bool same = true;

	if (errlen == 0)
		return false;
	snprintf(err, errlen, "volume %s already exists with different options: ",
	    have->name);
	if (have->type != want->type) {
		add_diff(err, errlen, "type=%s (asked for %s)",
		    volume_type_name(have->type), volume_type_name(want->type));
		return false;
	}
	if ((want->given & VOLUME_OPT_SIZE) && have->size != want->size) {
		add_diff(err, errlen, "size=%s (asked for %s)",
		    size_format(have->size, a, sizeof(a)),
		    size_format(want->size, b, sizeof(b)));
		same = false;
	}
	if ((want->given & VOLUME_OPT_FS) && strcmp(have->fs, want->fs) != 0) {
		add_diff(err, errlen, "fs=%s (asked for %s)", have->fs, want->fs);
		same = false;
	}
	if ((want->given & VOLUME_OPT_OBJECT_SIZE) &&
	    have->object_size != want->object_size) {
		add_diff(err, errlen, "objectsize=%s (asked for %s)",
		    size_format(have->object_size, a, sizeof(a)),
		    size_format(want->object_size, b, sizeof(b)));
		same = false;
	}
	if ((want->given & VOLUME_OPT_SECRETS) &&
	    !json_equal(have->secrets, want->secrets)) {
		char *h = json_dumps(have->secrets, JSON_COMPACT);
		char *w = json_dumps(want->secrets, JSON_COMPACT);
		add_diff(err, errlen, "secrets=%s (asked for %s)", h ? h : "?",
		    w ? w : "?");
		free(h);
		free(w);
		same = false;
	}
	if ((want->given & VOLUME_OPT_LABELS) &&
	    !json_equal(have->labels, want->labels)) {
		char *h = json_dumps(have->labels, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want->labels, JSON_COMPACT | JSON_SORT_KEYS);
		add_diff(err, errlen, "labels=%s (asked for %s)", h ? h : "?",
		    w ? w : "?");
		free(h);
		free(w);
		same = false;
	}
	if ((want->given & VOLUME_OPT_QOS) &&
	    memcmp(&have->qos, &want->qos, sizeof(have->qos)) != 0) {
		json_t *h = volume_qos_json(&have->qos), *w = volume_qos_json(&want->qos);
		char *hs = h ? json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		char *ws = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		add_diff(err, errlen, "limits %s (asked for %s; change them with "
		    "'cephvol volume set')", hs ? hs : "?", ws ? ws : "?");
		free(hs);
		free(ws);
		json_decref(h);
		json_decref(w);
		same = false;
	}
	if (want->given & (VOLUME_OPT_FROM | VOLUME_OPT_SNAPSHOT)) {
		const char *pv = json_string_value(json_object_get(have->parent, "volume"));
		const char *ps = json_string_value(json_object_get(have->parent, "snapshot"));
		char ref[VOLUME_REF_MAX + 1] = "";

		if (pv && ps)
			snprintf(ref, sizeof(ref), "%s@%s", pv, ps);
		if (strcmp(ref, want->origin) != 0 || have->readonly != want->readonly) {
			add_diff(err, errlen, "%s%s (asked for %s=%s)",
			    ref[0] ? (have->readonly ? "snapshot=" : "from=") :
			    "made from no snapshot", ref,
			    want->readonly ? "snapshot" : "from", want->origin);
			same = false;
		}
	}
	if (same)
		err[0] = '\0';
	return same;
}

bool
volume_ref_parse(const char *ref, char *volume, size_t vlen, char *snap,
    size_t slen)
{
	const char *at = strchr(ref, '@');
	char v[NAME_MAX_LEN + 1];
	size_t n;

	if (at == NULL || (n = (size_t)(at - ref)) == 0 || n > NAME_MAX_LEN)
		return false;
	memcpy(v, ref, n);
	v[n] = '\0';
	if (!name_valid(v) || !name_valid(at + 1))
		return false;
	if (volume)
		snprintf(volume, vlen, "%s", v);
	if (snap)
		snprintf(snap, slen, "%s", at + 1);
	return true;
}
