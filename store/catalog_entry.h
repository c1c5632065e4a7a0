/*
 * store/catalog_entry.h - the catalogue object "cephvol.catalog": one omap
 * entry per volume, name -> {"id","type","created","state"}.
 *
 * The raw state under the catalogue (store/catalog.h), for it, fsck
 * (store/fsck.c) and the lease (which checks the entry after locking).
 * An entry moves creating -> ready -> removing -> (gone). Only "ready"
 * volumes are visible to catalog_get/catalog_list.
 *   creating: the entry names the id; the header may not exist yet. The
 *             exclusive create of the header decides the volume's options.
 *   removing: the volume is going away; no lease may be taken on it.
 */
#ifndef CEPHVOL_STORE_CATALOG_ENTRY_H
#define CEPHVOL_STORE_CATALOG_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "store/volopts.h"

struct store;

#define CATALOG_OID	"cephvol.catalog"

enum catalog_state {
	CATALOG_READY = 0,
	CATALOG_CREATING,
	CATALOG_REMOVING,
};

struct catalog_entry {
	char		 name[NAME_MAX_LEN + 1];
	char		 id[VOLUME_ID_LEN + 1];
	enum volume_type type;
	int64_t		 created;
	enum catalog_state state;
	bool		 bad;		/* value did not parse: see raw */
	char		*raw;		/* owned: the stored value */
};

/* The stored value of e (new, malloc'd), or NULL when out of memory. */
char	*catalog_entry_encode(const struct catalog_entry *e);
/* Fill e from name and its stored value raw, which e steals (e->raw).
 * A value that does not decode, or a bad name, sets e->bad. */
void	catalog_entry_decode(const char *name, char *raw, struct catalog_entry *e);
/* Free e->raw. */
void	catalog_entry_clear(struct catalog_entry *e);

/* One entry; -ENOENT if absent. out->raw is new: catalog_entry_clear(). */
int	catalog_entry_get(struct store *st, const char *name, struct catalog_entry *out);
/* Every entry, whatever its state. *out is new: catalog_entries_free(). */
int	catalog_entries(struct store *st, struct catalog_entry **out, size_t *n);
void	catalog_entries_free(struct catalog_entry *e, size_t n);
/*
 * Set entry `name` to the encoding of e, but only if its current value is
 * `expect` (NULL: only if it is absent). -ECANCELED when the guard fails.
 * e == NULL removes the entry.
 */
int	catalog_entry_swap(struct store *st, const char *name, const char *expect,
	    const struct catalog_entry *e);

#endif
