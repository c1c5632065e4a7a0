/*
 * common/log.h - leveled logging to stderr or syslog.
 *
 * One line per event, lowercase, what failed first, with key=value context:
 *	log_err("cannot mount volume=%s: %s", name, strerror(-r));
 * Never pass a secret's value to any of these.
 */
#ifndef CEPHVOL_LOG_H
#define CEPHVOL_LOG_H

#include <stdnoreturn.h>

enum log_level {
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TARGET_STDERR = 0,
	LOG_TARGET_SYSLOG,
};

/* ident is borrowed and must outlive logging (a string literal or argv[0]). */
void	log_init(const char *ident, enum log_level level, enum log_target target);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug"; -EINVAL for anything else. */
int	log_level_parse(const char *s, enum log_level *out);

void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log at error level and exit(1). Only before serving starts, never on a
 * request path. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
