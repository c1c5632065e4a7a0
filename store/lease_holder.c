/*
 * lease_holder.c - who holds a volume's lease (store/lease_holder.h): the
 * lock's record read into struct lease_holder, said in a sentence, and
 * fenced.
 *
 * cls_lock's own listing hides lockers whose lock expired; the lease must
 * know them (an acquirer takes over from them, lease_break() fences them),
 * so the record is decoded by store/lockop.c, and the listing is only a
 * fallback for a Ceph whose record does not decode (live lockers only, no
 * description). The holder's host, user (ceph.client), pid and since come
 * from the lock description "host=H user=U pid=P since=S" (store/lease.c).
 *
 * Fencing a holder is blocklisting its RADOS address and waiting for the
 * osdmap that has it: from then on the OSDs refuse what it still sends.
 *
 * No state in this file; no locking.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/util.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/lease_holder.h"
#include "store/lockop.h"

static void
parse_desc(const char *desc, struct lease_holder *h)
{
	char copy[512], *save = NULL, *tok;

	snprintf(copy, sizeof(copy), "%s", desc);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "host=", 5) == 0)
			snprintf(h->host, sizeof(h->host), "%s", tok + 5);
		else if (strncmp(tok, "user=", 5) == 0)
			snprintf(h->user, sizeof(h->user), "%s", tok + 5);
		else if (strncmp(tok, "pid=", 4) == 0)
			h->pid = atoi(tok + 4);
		else if (strncmp(tok, "since=", 6) == 0)
			h->since = strtoll(tok + 6, NULL, 10);
	}
}

/* Fallback: the lock listing (live lockers only, no description). */
static int
list_lockers(struct store *st, const char *oid, struct lease_holder *out)
{
	char tag[256], clients[512], cookies[512], addrs[512];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies),
	    al = sizeof(addrs);
	int excl = 0;
	ssize_t n;

	n = rados_list_lockers(store_ioctx(st), oid, LEASE_LOCK, &excl, tag, &tl,
	    clients, &cl, cookies, &kl, addrs, &al);
	if (n == -ENOENT || n == 0)
		return 0;
	if (n < 0)
		return (int)n;
	memset(out, 0, sizeof(*out));
	snprintf(out->client, sizeof(out->client), "%s", clients);
	snprintf(out->cookie, sizeof(out->cookie), "%s", cookies);
	snprintf(out->addr, sizeof(out->addr), "%s", addrs);
	out->shared = !excl;
	return 1;
}

int
lease_holder_list(struct store *st, const char *oid, struct lease_holder *out, int max)
{
	struct lockop_locker l[LEASE_MAX_LOCKERS];
	enum lockop_type type = LOCKOP_EXCLUSIVE;
	int n;

	if (max > LEASE_MAX_LOCKERS)
		max = LEASE_MAX_LOCKERS;
	n = lockop_lockers(store_ioctx(st), oid, LEASE_LOCK, l, max, &type);
	if (n == -EINVAL)
		return list_lockers(st, oid, out);
	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].client, sizeof(out[i].client), "%s", l[i].client);
		snprintf(out[i].addr, sizeof(out[i].addr), "%s", l[i].addr);
		snprintf(out[i].cookie, sizeof(out[i].cookie), "%s", l[i].cookie);
		out[i].expires = l[i].expires;
		out[i].expired = l[i].expired;
		out[i].shared = type == LOCKOP_SHARED;
		parse_desc(l[i].desc, &out[i]);
	}
	return n;
}

const char *
lease_holder_describe(const struct lease_holder *h, char *buf, size_t len)
{
	char when[32] = "an unknown time";

	if (h->since)
		time_format(h->since, when, sizeof(when));
	snprintf(buf, len, "%s (%s%s%s) on %s, pid %d, since %s%s",
	    h->user[0] ? h->user : h->client, h->user[0] ? h->client : "",
	    h->user[0] ? ", " : "", h->addr, h->host[0] ? h->host : "an unknown host",
	    h->pid, when, h->expired ? " (lease expired)" : "");
	return buf;
}

int
lease_holders(struct store *st, const char *id, struct lease_holder *out, int max)
{
	char oid[64];

	return lease_holder_list(st, catalog_header_oid(id, oid, sizeof(oid)), out, max);
}

int
lease_holder(struct store *st, const char *id, struct lease_holder *out)
{
	struct lease_holder h[LEASE_MAX_LOCKERS];
	int n = lease_holders(st, id, h, LEASE_MAX_LOCKERS);

	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		if (!h[i].expired) {
			*out = h[i];
			return 0;
		}
	}
	*out = h[0];
	return 0;
}

void
lease_holder_busy(struct store *st, const char *oid, const char *volume, char *err,
    size_t errlen)
{
	struct lease_holder h[LEASE_MAX_LOCKERS];
	char who[512];
	int n = lease_holder_list(st, oid, h, LEASE_MAX_LOCKERS), live = 0, first = -1;

	for (int i = 0; i < n; i++)
		if (!h[i].expired && live++ == 0)
			first = i;
	if (first < 0) {
		snprintf(err, errlen, "volume %s is in use by another client (it "
		    "let go meanwhile; retry)", volume);
		return;
	}
	lease_holder_describe(&h[first], who, sizeof(who));
	if (h[first].shared)
		snprintf(err, errlen, "volume %s is mounted by %s%s", volume, who,
		    live > 1 ? " and other hosts" : "");
	else
		snprintf(err, errlen, "volume %s is in use by %s", volume, who);
	/* A holder on this very host whose process is gone (killed, crashed)
	 * cannot let go: say so, and when its lease runs out by itself. */
	char host[256] = "", until[32] = "soon";
	gethostname(host, sizeof(host) - 1);
	if (h[first].pid > 0 && strcmp(h[first].host, host) == 0 &&
	    kill(h[first].pid, 0) < 0 && errno == ESRCH) {
		size_t o = strlen(err);
		if (h[first].expires)
			time_format(h[first].expires, until, sizeof(until));
		snprintf(err + o, errlen - o, "; that process is gone from this host, "
		    "and its lease expires by itself at %s (then this works)", until);
	}
}

int
lease_holder_blocklist(struct store *st, const struct lease_holder *h, char *err,
    size_t errlen)
{
	char addr[sizeof(h->addr)];
	int r;

	snprintf(addr, sizeof(addr), "%s", h->addr);
	uint64_t t0 = now_ns();
	r = rados_blocklist_add(store_cluster(st), addr, 0);
	log_debug("blocklist add %s: %d in %.1f ms", addr, r,
	    (double)(now_ns() - t0) / 1e6);
	if (r < 0) {
		snprintf(err, errlen, "cannot blocklist %s (%s): %s", h->addr,
		    h->client, strerror(-r));
		return r;
	}
	t0 = now_ns();
	r = rados_wait_for_latest_osdmap(store_cluster(st));
	log_debug("wait for latest osdmap: %d in %.1f ms", r,
	    (double)(now_ns() - t0) / 1e6);
	if (r < 0) {
		snprintf(err, errlen, "blocklisted %s but cannot get the new osdmap: "
		    "%s", h->addr, strerror(-r));
		return r;
	}
	log_info("blocklisted %s (%s on %s, pid %d)", h->addr, h->client,
	    h->host[0] ? h->host : "?", h->pid);
	return 0;
}
