/*
 * common/config.h - cephvol's configuration: one table of keys serves the
 * config file, -o section.key=value overrides, --dump-config and the docs.
 *
 * File format (like ceph.conf): "[section]" lines, "key = value" lines,
 * '#' or ';' start a comment. Every key has a default and a validation; an
 * unknown key is an error that suggests the closest known one.
 *
 * A config file must be a regular file (or /dev/null) of at most
 * CONFIG_MAX_BYTES. Errors about a file name it and the line, never show
 * its text (it may be any file: -c /etc/shadow); errors about command-line
 * text (-o, config_set) show it escaped and cut short.
 */
#ifndef CEPHVOL_CONFIG_H
#define CEPHVOL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH	"/etc/cephvol/cephvol.conf"
#define CONFIG_ENV		"CEPHVOL_CONF"
#define CONFIG_MAX_BYTES	(1024 * 1024)	/* a bigger config file is refused */

/* Every string is owned by the struct (config_free releases it). */
struct config {
	/* [ceph] */
	char		*ceph_conf;		/* ceph.conf path */
	char		*ceph_client;		/* "client.admin" */
	char		*ceph_keyring;		/* "" = from ceph.conf */
	char		*ceph_pool;
	uint64_t	 ceph_timeout;		/* seconds, connect and mon ops */
	/* [plugin] */
	char		*plugin_driver;
	char		*plugin_socket;
	char		*plugin_state_dir;
	char		*plugin_mount_root;
	uint64_t	 plugin_timeout;	/* seconds, per Docker request */
	/* [volume] */
	uint64_t	 volume_default_size;	/* bytes */
	char		*volume_default_fs;	/* "ext4" or "xfs" */
	uint64_t	 volume_object_size;	/* bytes, power of two */
	uint64_t	 volume_lease_seconds;
	/* [secrets] */
	char		*secrets_master_key;
	/* [log] */
	char		*log_level;		/* error|warn|info|debug */
	char		*log_target;		/* stderr|syslog */
	/* [metrics] */
	char		*metrics_listen;	/* "" = off, else 127.0.0.1:PORT */

	char		*path;			/* file read, NULL if none */
};

/* Fill every key with its default. */
void	config_defaults(struct config *cfg);
void	config_free(struct config *cfg);

/*
 * The usual start of every program: defaults, then the file (path, else
 * $CEPHVOL_CONF, else CONFIG_DEFAULT_PATH; only a missing *default* file is
 * not an error), then each override "section.key=value" in order.
 * On error returns -errno and writes one sentence to err.
 */
int	config_init(struct config *cfg, const char *path, char *const *overrides,
	    size_t n_overrides, char *err, size_t errlen);

/*
 * The -c FILE and -o SECTION.KEY=VALUE arguments of a command line, as
 * every program takes them: path and overrides are borrowed from argv.
 */
struct config_args {
	const char	 *path;
	char		**overrides;
	size_t		  n_overrides;
};
/* Remember one -o argument, in order: 0 or -ENOMEM. */
int	config_args_add(struct config_args *ca, char *override);
/* Free the list (not the strings, which are argv's). */
void	config_args_free(struct config_args *ca);

/*
 * Read one file over the current values. -ENOENT if it does not exist,
 * -EFBIG if bigger than CONFIG_MAX_BYTES, -EISDIR/-EINVAL if not a regular
 * file, -EINVAL for a line in error (err: "FILE:LINE: what is wrong").
 */
int	config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/*
 * Set "section.key" to value; origin ("-o") prefixes errors, which show key
 * and value escaped and cut short: for command-line text only. A value with
 * a control character is refused, whatever the key.
 */
int	config_set(struct config *cfg, const char *key, const char *value,
	    const char *origin, char *err, size_t errlen);
/* Parse "section.key=value" and set it. */
int	config_set_arg(struct config *cfg, const char *arg, char *err, size_t errlen);

/* Print every key as a config file with help comments (--dump-config). */
void	config_dump(const struct config *cfg, FILE *out);

#endif
