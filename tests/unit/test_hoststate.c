/*
 * test_hoststate.c - cephvold's host state (volplugin/hoststate.c) over a
 * fake mount pipeline (a struct attach_ops whose answers each case sets)
 * and a cluster that cannot be reached (its ceph.conf does not exist, so
 * every connect fails at once): references and the last Unmount's detach,
 * Remove's check, what counts as served, the repair at start-up, the
 * background detach of idle entries (volplugin/job.c's engine), and what a
 * Mount does before it needs the cluster.
 *
 */
#include "tests/unit/harness.h"

#include "common/config.h"
#include "common/util.h"
#include "host/attach.h"
#include "store/catalog.h"
#include "volplugin/cluster.h"
#include "volplugin/hoststate.h"
#include "volplugin/job.h"
#include "volplugin/mounts.h"

/* The fake pipeline: what status says, and how unmount ends. */
static struct attach_state fake_state;
static unsigned fake_mounts, fake_unmounts;
static int fake_unmount_ret;

static int
fake_mount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	(void)ctx; (void)m; (void)mountpoint; (void)err; (void)errlen;
	fake_mounts++;
	*helper_pid = 1;
	return 0;
}

static int
fake_unmount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, char *err, size_t errlen)
{
	(void)ctx; (void)m; (void)mountpoint;
	fake_unmounts++;
	if (fake_unmount_ret)
		snprintf(err, errlen, "fake failure");
	return fake_unmount_ret;
}

static int
fake_status(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, struct attach_state *out)
{
	(void)ctx; (void)m; (void)mountpoint;
	*out = fake_state;
	return 0;
}

static const struct attach_ops fake_ops = { fake_mount, fake_unmount, fake_status };

static struct config cfg;
static struct mounts *mt;
static struct cluster *cl;
static struct hoststate *hs;

static void
set(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

/* A fresh table in its own directory, and the host state over it. */
static void
setup(const char *name)
{
	char dir[4200], err[256];

	config_defaults(&cfg);
	snprintf(dir, sizeof(dir), "%s/%s", harness_tmpdir(), name);
	set(&cfg.plugin_state_dir, dir);
	set(&cfg.plugin_mount_root, "/nonexistent/mnt");
	set(&cfg.ceph_conf, "/nonexistent/ceph.conf");
	fake_state = (struct attach_state){ 0 };
	fake_mounts = fake_unmounts = 0;
	fake_unmount_ret = 0;
	if (mounts_open(dir, &mt, err, sizeof(err)) < 0 || cluster_new(&cfg, &cl) < 0 ||
	    hoststate_new(&cfg, mt, cl, &fake_ops, NULL, &hs) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		exit(1);
	}
}

static void
teardown(void)
{
	hoststate_free(hs);
	cluster_free(cl);
	mounts_close(mt);
	config_free(&cfg);
}

/* An entry for name with refs references "r0", "r1", ... */
static void
entry(const char *name, unsigned refs)
{
	struct volume_meta m;
	char mp[300], id[16];

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.id, sizeof(m.id), "0123456789abcdef");
	m.type = VOLUME_BLOCK;
	m.size = 1 << 30;
	m.object_size = 4 << 20;
	snprintf(m.fs, sizeof(m.fs), "ext4");
	m.labels = json_object();
	m.secrets = json_array();
	snprintf(mp, sizeof(mp), "/nonexistent/mnt/%s", name);
	if (mounts_begin(mt, &m, mp) < 0)
		HARNESS_FAIL_("mounts_begin %s", name);
	for (unsigned i = 0; i < refs; i++) {
		snprintf(id, sizeof(id), "r%u", i);
		if (mounts_ref(mt, name, id, NULL) < 0)
			HARNESS_FAIL_("mounts_ref %s %s", name, id);
	}
	volume_meta_free(&m);
}

static void
test_unmount(void)
{
	char err[1024];

	setup("unmount");
	entry("v", 2);
	CHECK_OK(hoststate_unmount(hs, "v", "nosuch", NULL, err, sizeof(err)));
	CHECK_OK(hoststate_unmount(hs, "v", "r0", NULL, err, sizeof(err)));
	CHECK_INT(fake_unmounts, 0);
	CHECK_INT(mounts_refs(mt, "v"), 1);
	/* the last one detaches; a failure keeps the entry */
	fake_unmount_ret = -EBUSY;
	CHECK_ERR(hoststate_unmount(hs, "v", "r1", NULL, err, sizeof(err)), -EBUSY);
	CHECK_CONTAINS(err, "cannot unmount volume v: fake failure (the entry is kept");
	CHECK_INT(fake_unmounts, 1);
	CHECK(mounts_has(mt, "v"));
	/* Remove's check detaches the idle entry that is left */
	fake_unmount_ret = 0;
	CHECK_OK(hoststate_release(hs, "v", NULL, err, sizeof(err)));
	CHECK_INT(fake_unmounts, 2);
	CHECK(!mounts_has(mt, "v"));
	CHECK_OK(hoststate_unmount(hs, "v", "r1", NULL, err, sizeof(err)));
	teardown();
}

static void
test_release(void)
{
	char err[1024];

	setup("release");
	entry("v", 1);
	CHECK_ERR(hoststate_release(hs, "v", NULL, err, sizeof(err)), -EBUSY);
	CHECK_CONTAINS(err, "it is mounted on this host (1 reference)");
	CHECK_INT(fake_unmounts, 0);
	CHECK_OK(hoststate_release(hs, "other", NULL, err, sizeof(err)));
	entry("idle", 0);
	fake_unmount_ret = -EIO;
	CHECK_ERR(hoststate_release(hs, "idle", NULL, err, sizeof(err)), -EIO);
	CHECK_CONTAINS(err, "still attached on this host and cannot be detached: "
	    "fake failure");
	teardown();
}

static void
test_served(void)
{
	char mp[300];
	unsigned refs;

	setup("served");
	entry("v", 2);
	entry("idle", 0);
	CHECK(!hoststate_served(hs, "idle", mp, sizeof(mp), &refs));
	CHECK_INT(refs, 0);
	CHECK(!hoststate_served(hs, "v", mp, sizeof(mp), &refs));	/* not mounted */
	CHECK_INT(refs, 2);
	fake_state = (struct attach_state){ .mounted = true, .helper_alive = true };
	CHECK(hoststate_served(hs, "v", mp, sizeof(mp), &refs));
	CHECK_STR(mp, "/nonexistent/mnt/v");
	fake_state.helper_alive = false;
	CHECK(!hoststate_served(hs, "v", mp, sizeof(mp), &refs));
	teardown();
}

/* A Mount of a volume with an entry: a stale one is detached before the
 * cluster is asked; a served one is handed out only once the cluster
 * agrees, so with no cluster it is refused and kept. */
static void
test_mount_before_cluster(void)
{
	struct mounts_owner nobody = { 0, 0 };
	char mp[300], err[1024];

	setup("mount");
	entry("stale", 1);
	CHECK(hoststate_mount(hs, "stale", "x", &nobody, NULL, mp, sizeof(mp), err,
	    sizeof(err)) < 0);
	CHECK_CONTAINS(err, "cannot mount volume stale: cannot connect to ceph");
	CHECK_INT(fake_unmounts, 1);
	CHECK(!mounts_has(mt, "stale"));
	CHECK_INT(fake_mounts, 0);

	entry("live", 1);
	fake_state = (struct attach_state){ .mounted = true, .helper_alive = true };
	CHECK(hoststate_mount(hs, "live", "y", &nobody, NULL, mp, sizeof(mp), err,
	    sizeof(err)) < 0);
	CHECK_CONTAINS(err, "cannot mount volume live: cannot connect to ceph");
	CHECK_INT(fake_unmounts, 1);
	CHECK_INT(mounts_refs(mt, "live"), 1);

	/* a stale entry that cannot be detached stays, and says so */
	fake_state = (struct attach_state){ 0 };
	fake_unmount_ret = -EBUSY;
	CHECK_ERR(hoststate_mount(hs, "live", "y", &nobody, NULL, mp, sizeof(mp), err,
	    sizeof(err)), -EBUSY);
	CHECK_CONTAINS(err, "a stale mount at /nonexistent/mnt/live cannot be "
	    "detached: fake failure");
	CHECK(mounts_has(mt, "live"));
	teardown();
}

/* An entry without references: detached in the background. */
static bool
idle(const char *name)
{
	return mounts_has(mt, name) && mounts_refs(mt, name) == 0;
}

static void
test_reconcile(void)
{
	char err[256], dir[4200];

	setup("reconcile");
	entry("alive", 1);
	snprintf(dir, sizeof(dir), "%s", cfg.plugin_state_dir);

	/* mounted, helper alive: kept, nothing idle */
	fake_state = (struct attach_state){ .mounted = true, .helper_alive = true,
	    .helper_pid = 77 };
	CHECK_INT(hoststate_reconcile(hs), 0);
	CHECK_INT(mounts_refs(mt, "alive"), 1);
	CHECK(!idle("alive"));

	/* helper dead under a mount: references dropped, left idle; an
	 * entry never referenced (crash mid-attach) is idle too */
	entry("orphan", 0);
	fake_state = (struct attach_state){ .mounted = true, .helper_alive = false };
	CHECK_INT(hoststate_reconcile(hs), 2);
	CHECK_INT(fake_unmounts, 0);		/* never detaches itself */
	CHECK_INT(mounts_refs(mt, "alive"), 0);
	CHECK(idle("alive"));
	CHECK(idle("orphan"));

	/* the drop was saved */
	mounts_close(mt);
	hoststate_free(hs);
	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	REQUIRE(hoststate_new(&cfg, mt, cl, &fake_ops, NULL, &hs) == 0);
	CHECK_INT(mounts_refs(mt, "alive"), 0);
	entry("gone", 1);
	fake_state = (struct attach_state){ .mounted = false };
	CHECK_INT(hoststate_reconcile(hs), 3);
	CHECK(idle("gone"));
	teardown();
}

/* Idle entries are detached in the background, each in its turn. */
static void
test_detach_idle(void)
{
	struct jobs *jobs;

	setup("idle");
	entry("a", 0);
	entry("b", 0);
	entry("used", 1);
	REQUIRE(jobs_new(8, &jobs) == 0);
	hoststate_detach_idle(hs, jobs);
	for (int i = 0; i < 500 && jobs_running(jobs) > 0; i++)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	CHECK_INT(jobs_running(jobs), 0);
	CHECK_INT(fake_unmounts, 2);
	CHECK(!mounts_has(mt, "a") && !mounts_has(mt, "b"));
	CHECK_INT(mounts_refs(mt, "used"), 1);
	jobs_free(jobs);
	teardown();
}

HARNESS_MAIN(CASE(test_unmount), CASE(test_release), CASE(test_served),
    CASE(test_mount_before_cluster), CASE(test_reconcile), CASE(test_detach_idle))
