/*
 * common/config_internal.h - what the table of keys (common/config.c)
 * gives the readers of text (common/config_file.c). Not for other callers:
 * everything else goes through common/config.h.
 */
#ifndef CEPHVOL_CONFIG_INTERNAL_H
#define CEPHVOL_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

#define CONFIG_SHOWN_MAX	64	/* bytes of a command-line key or value shown */
#define CONFIG_SHOWN_PATH_MAX	256	/* bytes of a path shown */

/*
 * s as it may appear in an error: printable ASCII as is, every other byte
 * (and the backslash) as \xNN, at most max bytes of s, then "...". Into
 * buf (len bytes, at least 4 * max + 8); returns buf.
 */
const char *config_shown(const char *s, size_t max, char *buf, size_t len);
/* A section some key has. */
bool	config_section_known(const char *section);
/* The known section closest to the unknown one, or NULL. */
const char *config_section_suggest(const char *section);
/*
 * Set section.name to value. origin ("-o", "FILE:LINE") starts the error
 * sentence; echo says whether the key and value may be shown in it (text
 * from the command line) or not (text from a file: see config.c).
 */
int	config_key_set(struct config *cfg, const char *section, const char *name,
	    const char *value, const char *origin, bool echo, char *err,
	    size_t errlen);

#endif
