/*
 * common/util.h - small pure helpers shared by every program: sizes, names,
 * atomic file writes. All return 0 or -errno unless stated.
 */
#ifndef CEPHVOL_UTIL_H
#define CEPHVOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Longest volume or secret name, as Docker allows. */
#define NAME_MAX_LEN	255

/*
 * Parse a size: a decimal number with an optional binary suffix
 * K, M, G, T, P (powers of 1024; "KiB", "KB", "k", "GiB", ... accepted),
 * or plain bytes. "10G" -> 10737418240. -EINVAL on anything else,
 * -ERANGE on overflow.
 */
int	size_parse(const char *s, uint64_t *out);
/* Format a size the way size_parse reads it back exactly ("10G", "1536M",
 * "4097"). buf should hold at least 32 bytes. Returns buf. */
char	*size_format(uint64_t bytes, char *buf, size_t len);

/*
 * Docker's rule for volume names, which secrets share:
 * [a-zA-Z0-9][a-zA-Z0-9_.-]*, 1 to NAME_MAX_LEN bytes. Such a name can never
 * be ".", "..", contain '/' or NUL, so it is safe as one path component.
 */
bool	name_valid(const char *s);
/* The sentence to show when name_valid() is false. */
#define NAME_RULE \
	"names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most 255 bytes"

/* Parse a non-negative decimal integer within [min, max]. */
int	uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Write len bytes to path atomically: path.tmp, fsync, rename, fsync dir.
 * mode applies to the new file. */
int	file_write_atomic(const char *path, const void *data, size_t len, int mode);
/* Read a whole file into a malloc'd, NUL-terminated buffer (new). */
int	file_read_all(const char *path, char **out, size_t *len);
/* mkdir -p with mode for the components created. */
int	mkdir_p(const char *path, int mode);

/* Local time as "2026-11-26 12:01:03" into buf (>= 20 bytes). */
char	*time_format(int64_t unix_seconds, char *buf, size_t len);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t	edit_distance(const char *a, const char *b);

/*
 * Room for element n of a malloc'd array of cap elements of size bytes.
 * pv is the address of the array's pointer (a T **, the pointer may be
 * NULL while *cap is 0). When n < *cap nothing happens; else the array is
 * grown to `first` elements, or doubled, and *pv and *cap are updated.
 * -ENOMEM leaves both as they were (the array is still the caller's).
 */
int	array_grow(void *pv, size_t *cap, size_t n, size_t size, size_t first);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* Sleep ms milliseconds (through EINTR). */
void	wait_ms(unsigned ms);
/* now_ns() + s seconds; milliseconds left until such a deadline (<= 0:
 * past). */
uint64_t wait_deadline(unsigned s);
int64_t	wait_left_ms(uint64_t deadline);

/*
 * The n bytes at s as they may appear in a log line or an error message,
 * into buf (len bytes, always NUL-terminated): printable ASCII as it is;
 * every other byte, and '"' and '\\', as \xNN, so what a client sends can
 * neither start a line nor close a quote, and the escape is unambiguous.
 * What does not fit is cut at a whole character and marked "...". s may
 * hold NUL bytes (they show as \x00). Returns buf.
 */
char	*str_escape(char *buf, size_t len, const void *s, size_t n);

#endif
