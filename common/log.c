/*
 * log.c - leveled logging to stderr or syslog.
 *
 * State is three globals set once by log_init() before threads start; the
 * level may change later (an int store, read racily by design: a message
 * logged at the old level during a change is harmless). Each message is
 * formatted into one buffer and written with one write(2), so lines from
 * different threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char	*log_ident = "cephvol";
static enum log_level	 log_level = LOG_LEVEL_INFO;
static enum log_target	 log_target = LOG_TARGET_STDERR;

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *ident, enum log_level level, enum log_target target)
{
	const char *slash = strrchr(ident, '/');

	log_ident = slash ? slash + 1 : ident;
	log_level = level;
	log_target = target;
	if (target == LOG_TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int syslog_prio[] = {
		[LOG_LEVEL_ERR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING,
		[LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	char line[2048];
	int saved_errno = errno;
	int n = 0;

	if (level > log_level)
		return;
	if (log_target == LOG_TARGET_SYSLOG) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(syslog_prio[level], "%s", line);
		errno = saved_errno;
		return;
	}

	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
	    level_names[level]);
	if (n < 0)
		n = 0;
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	errno = saved_errno;
}

#define LOG_FN(name, lvl)				\
	void						\
	name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_vmsg(lvl, fmt, ap);			\
		va_end(ap);				\
	}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
