/*
 * snapshot_record.c - a block volume's snapshot records, read from its
 * metadata (store/snapshot_record.h). Pure: no RADOS, no state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/snapshot_record.h"

static int
record_decode(json_t *j, struct snapshot *s)
{
	const char *name, *state = NULL;
	json_int_t id, created = 0, size = 0;

	memset(s, 0, sizeof(*s));
	if (json_unpack(j, "{s:s, s:I, s?:I, s?:I, s?:s}", "name", &name, "id", &id,
	    "created", &created, "size", &size, "state", &state) < 0 ||
	    !name_valid(name) || id <= 0 || size < 0)
		return -EINVAL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id = (uint64_t)id;
	s->created = created;
	s->size = (uint64_t)size;
	s->removing = state != NULL && strcmp(state, "removing") == 0;
	return 0;
}

static int
records_from(json_t *snaps, struct snapshot **list, size_t *n, uint64_t *seq)
{
	json_t *arr, *it;
	json_int_t s = 0;
	size_t i;

	*list = NULL;
	*n = 0;
	*seq = 0;
	if (snaps == NULL)
		return 0;
	if (json_unpack(snaps, "{s:I, s:o}", "seq", &s, "list", &arr) < 0 ||
	    !json_is_array(arr) || s < 0)
		return -EINVAL;
	*seq = (uint64_t)s;
	if (json_array_size(arr) == 0)
		return 0;
	if ((*list = calloc(json_array_size(arr), sizeof(**list))) == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, it) {
		if (record_decode(it, &(*list)[i]) < 0) {
			free(*list);
			*list = NULL;
			return -EINVAL;
		}
	}
	*n = json_array_size(arr);
	return 0;
}

int
snapshot_records(const struct volume_meta *m, struct snapshot **list, size_t *n,
    uint64_t *seq)
{
	return records_from(m->snapshots, list, n, seq);
}

int
snapshot_find(const struct volume_meta *m, const char *name, struct snapshot *out)
{
	struct snapshot *list;
	uint64_t seq;
	size_t n;
	int r;

	if ((r = snapshot_records(m, &list, &n, &seq)) < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (!list[i].removing && (name == NULL ? r == -ENOENT ||
		    list[i].id > out->id : strcmp(list[i].name, name) == 0)) {
			*out = list[i];
			r = 0;
		}
	free(list);
	return r;
}

int
snapshot_context(const struct volume_meta *m, uint64_t *seq, uint64_t **ids,
    size_t *n)
{
	struct snapshot *list;
	size_t nl, k = 0;
	int r;

	*ids = NULL;
	*n = 0;
	if ((r = snapshot_records(m, &list, &nl, seq)) < 0)
		return r;
	if (nl > 0 && (*ids = calloc(nl, sizeof(**ids))) == NULL) {
		free(list);
		return -ENOMEM;
	}
	/* Newest first: ids grow with time, so by id, descending. */
	/* A snapshot marked "removing" stays in: until its id is given back
	 * (then the OSDs ignore it), volumes made from it may still need what
	 * it keeps (snapshot rm checks for them after marking). */
	for (size_t i = 0; i < nl; i++) {
		size_t j = k++;
		while (j > 0 && (*ids)[j - 1] < list[i].id) {
			(*ids)[j] = (*ids)[j - 1];
			j--;
		}
		(*ids)[j] = list[i].id;
	}
	*n = k;
	free(list);
	return 0;
}

void
snapshot_clone_names(const struct volume_meta *m, const char *snap,
    void (*fn)(const char *snap, uint64_t id, const char *clone, void *arg),
    void *arg)
{
	json_t *list = json_object_get(m->snapshots, "list"), *rec, *c;
	size_t i, j;

	json_array_foreach(list, i, rec) {
		const char *name = json_string_value(json_object_get(rec, "name"));
		json_int_t id = json_integer_value(json_object_get(rec, "id"));

		if (name == NULL || (snap != NULL && strcmp(name, snap) != 0))
			continue;
		json_array_foreach(json_object_get(rec, "clones"), j, c)
			if (json_is_string(c))
				fn(name, (uint64_t)id, json_string_value(c), arg);
	}
}

int
snapshot_record_drop_clone(json_t *meta, void *ref)
{
	const char *snap = ((struct snapshot_clone_ref *)ref)->snap;
	const char *clone = ((struct snapshot_clone_ref *)ref)->clone;
	json_t *list = json_object_get(json_object_get(meta, "snapshots"), "list"), *rec;
	size_t i, j;

	json_array_foreach(list, i, rec) {
		json_t *clones = json_object_get(rec, "clones"), *c;
		const char *name = json_string_value(json_object_get(rec, "name"));

		if (name == NULL || strcmp(name, snap) != 0)
			continue;
		json_array_foreach(clones, j, c)
			if (json_is_string(c) && strcmp(json_string_value(c), clone) == 0)
				return json_array_remove(clones, j) < 0 ? -EINVAL : 0;
	}
	return 1;
}
