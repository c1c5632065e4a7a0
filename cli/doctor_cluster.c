/*
 * doctor_cluster.c - `cephvol doctor`'s checks of the cluster
 * (cli/doctor.h), run in order on the command's cluster thread, each a
 * doctor_step:
 *
 *   cluster    connect as the configured client (bounded by the timeout)
 *   pool       the pool exists; a probe object written, read, removed
 *   caps       omap, cls_lock, watch and notify on the probe object, and
 *              the monitor command "osd blocklist" (an "rm" of an address
 *              in 192.0.2.0/24, TEST-NET-1, which no client has: nothing
 *              changes); a denial is -EPERM or -EACCES
 *   clock      the OSD's clock against ours, from the probe's lock
 *              (store/probe.h)
 *   blocklist  entries for this host's address ("osd blocklist ls")
 *   leases     leases (and mount registrations) recorded in this host's
 *              name whose process is gone, or is fenced, or stalled
 *
 * The store is connected with STORE_OSD_TIMEOUT, so every OSD and monitor
 * call returns within the timeout; the command bounds each step besides.
 * Nothing is changed in the cluster but the probe object, which is
 * removed again.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <rados/librados.h>

#include "cli/doctor.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/lease_holder.h"
#include "store/probe.h"

/* an address no client has (RFC 5737), for trying "osd blocklist" */
#define UNUSED_ADDR	"192.0.2.1:0/1"
#define MAX_BLOCKLIST	64

static const char *
caps_fix(struct doctor *d, char *buf, size_t len)
{
	snprintf(buf, len, "ceph auth caps %s mon 'allow r, allow command \"osd "
	    "blocklist\"' osd 'allow rwx pool=%s'", doctor_esc(d->cli->cfg.ceph_client),
	    doctor_esc(d->cli->cfg.ceph_pool));
	return buf;
}

static bool
denied(int r)
{
	return r == -EPERM || r == -EACCES;
}

/* A monitor command; its output (new, rados_buffer_free) into *out. */
static int
mon_command(struct store *st, const char *cmd, char **out, size_t *outlen,
    char **status, size_t *slen)
{
	const char *cmds[] = { cmd };

	return rados_mon_command(store_cluster(st), cmds, 1, "", 0, out, outlen,
	    status, slen);
}

static struct store *
check_connect(struct doctor *d)
{
	const struct config *cfg = &d->cli->cfg;
	const char *conf = doctor_esc(cfg->ceph_conf), *client = doctor_esc(cfg->ceph_client);
	const char *path = doctor_esc(cfg->path ? cfg->path : CONFIG_DEFAULT_PATH);
	char err[1024], fix[1024];
	struct store *st = NULL;
	uint64_t t0 = now_ns();
	int r;

	doctor_step(d, "cluster");
	r = store_connect(cfg, STORE_OSD_TIMEOUT | STORE_POOL_OPTIONAL, &st, err,
	    sizeof(err));
	if (r == 0) {
		doctor_add(d, DOCTOR_OK, "cluster", NULL, "fsid %s answered in %.1f ms; "
		    "client %s (%s)", doctor_esc(store_fsid(st)),
		    (double)(now_ns() - t0) / 1e6, doctor_esc(store_client(st)),
		    doctor_esc(store_addr(st)));
		return st;
	}
	if (strstr(err, "cannot read ceph.conf") || strstr(err, "cannot parse"))
		snprintf(fix, sizeof(fix), "set ceph.conf in %s to this cluster's "
		    "ceph.conf", path);
	else if (strstr(err, "cannot read keyring") || r == -ENOENT)
		snprintf(fix, sizeof(fix), "set ceph.keyring in %s to a readable "
		    "keyring for %s (ceph auth get %s -o FILE)", path, client, client);
	else if (r == -ETIMEDOUT || r == -EINTR)
		snprintf(fix, sizeof(fix), "start the monitors named in %s, or let "
		    "this host reach them: ceph --conf %s -s", conf, conf);
	else if (r == -EACCES || r == -EPERM)
		snprintf(fix, sizeof(fix), "compare the key in the keyring with ceph "
		    "auth get %s", client);
	else
		snprintf(fix, sizeof(fix), "ceph --conf %s --name %s -s", conf, client);
	doctor_add(d, DOCTOR_FAIL, "cluster", fix, "%s", doctor_esc(err));
	return NULL;
}

static void
check_pool(struct doctor *d, struct store *st, const struct probe_report *p,
    double ms)
{
	const char *pool = doctor_esc(store_pool(st)), *client = doctor_esc(store_client(st));
	int w = p->result[PROBE_WRITE], rd = p->result[PROBE_READ];
	char fix[1024];

	if (w < 0 || rd < 0) {
		int r = w < 0 ? w : rd;
		const char *what = w < 0 ? "write" : "read back";
		if (denied(r))
			doctor_add(d, DOCTOR_FAIL, "pool", caps_fix(d, fix, sizeof(fix)),
			    "%s may not %s objects in pool %s: %s", client, what, pool,
			    strerror(-r));
		else if (r == -EDQUOT || r == -ENOSPC)
			doctor_add(d, DOCTOR_FAIL, "pool", "ceph df; raise the pool's "
			    "quota or add space", "pool %s is full: %s", pool,
			    strerror(-r));
		else
			doctor_add(d, DOCTOR_FAIL, "pool", "ceph health detail",
			    "cannot %s probe object %s in pool %s within %u s: %s",
			    what, doctor_esc(p->oid), pool, d->timeout, strerror(-r));
	} else {
		doctor_add(d, DOCTOR_OK, "pool", NULL, "%s: wrote, read back and "
		    "removed probe object %s in %.1f ms", pool, doctor_esc(p->oid), ms);
	}
	if (p->result[PROBE_REMOVE] < 0) {
		snprintf(fix, sizeof(fix), "rados -p %s rm %s", pool, doctor_esc(p->oid));
		doctor_add(d, DOCTOR_WARN, "pool", fix, "cannot remove probe object %s "
		    "from pool %s: %s", doctor_esc(p->oid), pool,
		    strerror(-p->result[PROBE_REMOVE]));
	}
}

static void
check_caps(struct doctor *d, struct store *st, const struct probe_report *p)
{
	static const enum probe_op ops[] = { PROBE_OMAP, PROBE_LOCK, PROBE_WATCH,
	    PROBE_NOTIFY };
	char cmd[256], no[512] = "", other[512] = "", fix[1024];
	char *out = NULL, *status = NULL;
	size_t olen = 0, slen = 0;
	int r;

	doctor_step(d, "caps");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		r = p->result[ops[i]];
		if (r == 0 || r == PROBE_SKIPPED)
			continue;
		char *buf = denied(r) ? no : other;
		snprintf(buf + strlen(buf), 512 - strlen(buf), "%s%s (%s)",
		    buf[0] ? ", " : "", probe_op_name(ops[i]), strerror(-r));
	}
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"osd blocklist\", \"blocklistop\": "
	    "\"rm\", \"addr\": \"%s\"}", UNUSED_ADDR);
	r = mon_command(st, cmd, &out, &olen, &status, &slen);
	rados_buffer_free(out);
	rados_buffer_free(status);
	if (r < 0) {
		char *buf = denied(r) ? no : other;
		snprintf(buf + strlen(buf), 512 - strlen(buf), "%smonitor command 'osd "
		    "blocklist' (%s)", buf[0] ? ", " : "", strerror(-r));
	}
	if (no[0])
		doctor_add(d, DOCTOR_FAIL, "caps", caps_fix(d, fix, sizeof(fix)),
		    "%s may not use: %s", doctor_esc(store_client(st)), no);
	if (other[0])
		doctor_add(d, DOCTOR_FAIL, "caps", "ceph health detail", "these failed "
		    "(not a cap): %s", other);
	if (!no[0] && !other[0] && p->result[PROBE_OMAP] == PROBE_SKIPPED)
		doctor_add(d, DOCTOR_OK, "caps", NULL, "%s may use the monitor command "
		    "'osd blocklist' (the pool's were not tried: no probe object)",
		    doctor_esc(store_client(st)));
	else if (!no[0] && !other[0])
		doctor_add(d, DOCTOR_OK, "caps", NULL, "%s may use omap, locks, watch "
		    "and notify in pool %s, and the monitor command 'osd blocklist'",
		    doctor_esc(store_client(st)), doctor_esc(store_pool(st)));
}

static void
check_clock(struct doctor *d, const struct probe_report *p)
{
	double tol = (double)d->cli->cfg.volume_lease_seconds / 3;
	double at_least = fabs(p->skew_s) - p->uncertainty_s;
	const char *dir = p->skew_s > 0 ? "behind" : "ahead of";
	const char *fix = "sync this host's clock with the cluster's (chronyc "
	    "tracking; timedatectl)";

	doctor_step(d, "clock");
	if (!p->clock_known) {
		doctor_add(d, DOCTOR_WARN, "clock", "see the caps line", "cannot read "
		    "the OSD's clock: the probe's lock failed");
		return;
	}
	if (at_least > tol)
		doctor_add(d, DOCTOR_FAIL, "clock", fix, "this host's clock is %.3f s "
		    "%s the OSD's: more than a third of volume.lease_seconds (%.1f "
		    "s), so this host misjudges when a lease expires", fabs(p->skew_s),
		    dir, tol);
	else if (at_least > 1)
		doctor_add(d, DOCTOR_WARN, "clock", fix, "this host's clock is %.3f s "
		    "%s the OSD's (more than 1 s)", fabs(p->skew_s), dir);
	else
		doctor_add(d, DOCTOR_OK, "clock", NULL, "within %.3f s of the OSD's "
		    "(measured to %.3f s)", fabs(p->skew_s), p->uncertainty_s);
}

/* The host part of a RADOS address: "v1:127.0.0.1:0/123" -> "127.0.0.1",
 * "[::1]:0/5" -> "[::1]"; its nonce into *nonce, its port into *port. */
static void
addr_host(const char *addr, char *host, size_t len, unsigned long *port,
    unsigned long *nonce)
{
	const char *slash, *colon;

	if (strncmp(addr, "v1:", 3) == 0 || strncmp(addr, "v2:", 3) == 0)
		addr += 3;
	slash = strchr(addr, '/');
	*nonce = slash ? strtoul(slash + 1, NULL, 10) : 0;
	colon = slash ? slash : addr + strlen(addr);
	while (colon > addr && *colon != ':')
		colon--;
	*port = *colon == ':' ? strtoul(colon + 1, NULL, 10) : 0;
	snprintf(host, len, "%.*s", (int)(colon > addr ? colon - addr : (int)strlen(addr)),
	    addr);
}

/*
 * Entries of the blocklist for this host's address: reported, and kept
 * (up to max) in mine for the lease check. Their number, or -1 when the
 * list cannot be read.
 */
static int
check_blocklist(struct doctor *d, struct store *st, char mine[][128], int max)
{
	char me[128], host[128], fix[1024], first[128] = "", until[64] = "";
	char *out = NULL, *status = NULL;
	size_t olen = 0, slen = 0, i;
	unsigned long port, nonce;
	int r, n = 0;
	bool whole = false;
	json_t *a = NULL, *e;

	doctor_step(d, "blocklist");
	addr_host(store_addr(st), me, sizeof(me), &port, &nonce);
	r = mon_command(st, "{\"prefix\": \"osd blocklist ls\", \"format\": \"json\"}",
	    &out, &olen, &status, &slen);
	/* one JSON list of entries {addr, until}; a newer monitor adds a
	 * second one (address ranges) right after it */
	if (r == 0)
		a = json_loadb(out ? out : "", olen, JSON_DISABLE_EOF_CHECK, NULL);
	rados_buffer_free(out);
	rados_buffer_free(status);
	if (!json_is_array(a)) {
		doctor_add(d, DOCTOR_WARN, "blocklist", caps_fix(d, fix, sizeof(fix)),
		    "cannot read the blocklist: %s", r < 0 ? strerror(-r) :
		    "not a JSON list");
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, e) {
		const char *addr = json_string_value(json_object_get(e, "addr"));
		const char *u = json_string_value(json_object_get(e, "until"));
		if (addr == NULL)
			continue;
		addr_host(addr, host, sizeof(host), &port, &nonce);
		if (strcmp(host, me) != 0)
			continue;
		if (port == 0 && nonce == 0)
			whole = true;
		if (n < max)
			snprintf(mine[n], 128, "%s", addr);
		if (n++ == 0) {
			snprintf(first, sizeof(first), "%s", addr);
			snprintf(until, sizeof(until), "%s", u ? u : "?");
		}
	}
	json_decref(a);
	if (whole) {
		snprintf(fix, sizeof(fix), "ceph osd blocklist rm %s:0/0", doctor_esc(me));
		doctor_add(d, DOCTOR_FAIL, "blocklist", fix, "this host's whole address "
		    "%s is blocklisted: the OSDs refuse every client of it",
		    doctor_esc(me));
	} else if (n > 0) {
		snprintf(fix, sizeof(fix), "only for a process you know is gone for "
		    "good: ceph osd blocklist rm %s%s (entries also expire by "
		    "themselves)", doctor_esc(first), n > 1 ? ", and so on" : "");
		doctor_add(d, DOCTOR_WARN, "blocklist", fix, "%d entr%s for this host's "
		    "address %s (clients fenced when their volumes were taken over "
		    "or broken): %s until %s%s", n, n == 1 ? "y" : "ies",
		    doctor_esc(me), doctor_esc(first), doctor_esc(until),
		    n > 1 ? ", ..." : "");
	} else {
		doctor_add(d, DOCTOR_OK, "blocklist", NULL, "no entry for this host's "
		    "address %s", doctor_esc(me));
	}
	return n < max ? n : max;
}

static bool
in_list(const char *addr, char list[][128], int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], addr) == 0)
			return true;
	return false;
}

/* Is process pid gone (no such process, or a zombie nobody reaped yet)? */
static bool
pid_gone(int pid)
{
	char path[64], st[512], *p;
	ssize_t n = 0;
	FILE *f;

	if (pid <= 0)
		return false;	/* cannot tell */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "re")) != NULL) {
		n = (ssize_t)fread(st, 1, sizeof(st) - 1, f);
		fclose(f);
	}
	st[n > 0 ? n : 0] = '\0';
	p = strrchr(st, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

/* One holder of volume m recorded in this host's name; true if it is well. */
static bool
check_holder(struct doctor *d, const struct volume_meta *m,
    const struct lease_holder *h, char blocked[][128], int nblocked)
{
	const char *v = doctor_esc(m->name);
	char fix[1024], until[32] = "?", who[512];
	bool gone = pid_gone(h->pid);

	if (h->expires)
		time_format(h->expires, until, sizeof(until));
	lease_holder_describe(h, who, sizeof(who));
	if (gone && h->expired)
		return true;	/* holds nothing: the next acquirer fences it */
	if (gone) {
		if (h->shared)
			snprintf(fix, sizeof(fix), "wait until %s: it expires by itself",
			    until);
		else
			snprintf(fix, sizeof(fix), "once sure no process of this host "
			    "serves it: cephvol lock break %s --force (or wait until %s)",
			    v, until);
		doctor_add(d, DOCTOR_WARN, "leases", fix, "volume %s: %s by %s, a "
		    "process of this host that is gone; %s until it expires at %s",
		    v, h->shared ? "mount registration" : "lease held",
		    doctor_esc(who), h->shared ? "the volume cannot be removed" :
		    "no host can mount it", until);
		return false;
	}
	if (in_list(h->addr, blocked, nblocked)) {
		snprintf(fix, sizeof(fix), "unmount volume %s on this host and mount it "
		    "again (docker: stop and start its containers; by hand: cephvol "
		    "volume unmount MOUNTPOINT %s)", v, v);
		doctor_add(d, DOCTOR_FAIL, "leases", fix, "volume %s: its holder %s is "
		    "blocklisted: its I/O fails", v, doctor_esc(who));
		return false;
	}
	if (h->expired) {
		snprintf(fix, sizeof(fix), "look at its log (%s/vol/%s.log) and at ceph "
		    "-s", doctor_esc(d->cli->cfg.plugin_state_dir), doctor_esc(m->id));
		doctor_add(d, DOCTOR_WARN, "leases", fix, "volume %s: the lease of %s "
		    "expired unrenewed at %s: its I/O is held (cluster stalled or "
		    "the process stopped)", v, doctor_esc(who), until);
		return false;
	}
	return true;
}

static void
check_leases(struct doctor *d, struct store *st, char blocked[][128], int nblocked)
{
	struct lease_holder h[LEASE_MAX_LOCKERS];
	struct volume_meta *vols = NULL;
	size_t n = 0;
	unsigned held = 0, bad = 0;
	int r;

	doctor_step(d, "leases");
	r = catalog_list(st, &vols, &n);
	if (r < 0) {
		doctor_add(d, DOCTOR_FAIL, "leases", r == -ETIMEDOUT ? "ceph health "
		    "detail" : "cephvol fsck", "cannot list the "
		    "volumes in pool %s: %s", doctor_esc(store_pool(st)), strerror(-r));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int k = lease_holders(st, vols[i].id, h, LEASE_MAX_LOCKERS);
		for (int j = 0; j < k; j++) {
			if (strcmp(h[j].host, d->host) != 0)
				continue;
			held++;
			if (!check_holder(d, &vols[i], &h[j], blocked, nblocked))
				bad++;
		}
		volume_meta_free(&vols[i]);
	}
	free(vols);
	if (bad == 0)
		doctor_add(d, DOCTOR_OK, "leases", NULL, "%zu volume(s) in pool %s; %u "
		    "lease(s) or registration(s) in this host's name (%s), none "
		    "stale", n, doctor_esc(store_pool(st)), held, doctor_esc(d->host));
}

void
doctor_check_cluster(struct doctor *d)
{
	char blocked[MAX_BLOCKLIST][128];
	struct probe_report p;
	struct store *st;
	int nblocked;

	st = check_connect(d);
	if (st == NULL)
		return;
	doctor_step(d, "pool");
	if (!store_has_pool(st)) {
		char fix[1024];
		const char *pool = doctor_esc(store_pool(st));
		snprintf(fix, sizeof(fix), "as an administrator: ceph osd pool create "
		    "%s && ceph osd pool application enable %s cephvol (or cephvol "
		    "status --create-pool)", pool, pool);
		doctor_add(d, DOCTOR_FAIL, "pool", fix, "pool %s does not exist", pool);
		memset(&p, 0, sizeof(p));
		for (int i = 0; i < PROBE_N; i++)
			p.result[i] = PROBE_SKIPPED;
		check_caps(d, st, &p);
		check_blocklist(d, st, blocked, MAX_BLOCKLIST);
	} else {
		uint64_t t0 = now_ns();
		probe_run(st, &p);
		check_pool(d, st, &p, (double)(now_ns() - t0) / 1e6);
		check_caps(d, st, &p);
		if (p.result[PROBE_WRITE] == 0)
			check_clock(d, &p);
		nblocked = check_blocklist(d, st, blocked, MAX_BLOCKLIST);
		check_leases(d, st, blocked, nblocked < 0 ? 0 : nblocked);
	}
	store_close(st);
}
