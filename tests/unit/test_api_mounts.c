/*
 * test_api_mounts.c - cephvold's host mount table (volplugin/mounts.c):
 * references per (volume, ID) and their owners, persistence across a
 * restart, a damaged file; and the metrics text (volplugin/metrics.c).
 *
 * cephvold's modules are linked from libcephvold.a (the Makefile);
 * nothing here mounts anything.
 */
#include <sys/wait.h>

#include "tests/unit/harness.h"

#include "common/util.h"
#include "store/catalog.h"
#include "volplugin/metrics.h"
#include "volplugin/mounts.h"

static void
meta(struct volume_meta *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->id, sizeof(m->id), "0123456789abcdef");
	m->type = VOLUME_BLOCK;
	m->size = 1 << 30;
	m->object_size = 4 << 20;
	snprintf(m->fs, sizeof(m->fs), "ext4");
	m->labels = json_object();
	m->secrets = json_array();
}

static const char *
fresh_dir(const char *name)
{
	static char dir[4200];

	snprintf(dir, sizeof(dir), "%s/%s", harness_tmpdir(), name);
	return dir;
}

static void
test_refs_per_id(void)
{
	struct mounts *mt;
	struct volume_meta m;
	char err[256];
	unsigned left;

	REQUIRE(mounts_open(fresh_dir("refs"), &mt, err, sizeof(err)) == 0);
	meta(&m, "v1");
	CHECK_ERR(mounts_ref(mt, "v1", "a", NULL), -ENOENT);	/* no entry yet */
	CHECK_OK(mounts_begin(mt, &m, "/mnt/v1"));
	CHECK(mounts_has(mt, "v1"));
	CHECK_INT(mounts_refs(mt, "v1"), 0);
	CHECK_INT(mounts_count(mt), 0);
	CHECK_OK(mounts_ref(mt, "v1", "a", NULL));
	CHECK_OK(mounts_ref(mt, "v1", "a", NULL));		/* docker cp repeats an ID */
	CHECK_OK(mounts_ref(mt, "v1", "b", NULL));
	CHECK_INT(mounts_refs(mt, "v1"), 3);
	CHECK_INT(mounts_count(mt), 1);
	CHECK_ERR(mounts_unref(mt, "v1", "zzz", &left), -ENOENT);
	CHECK_INT(left, 3);
	CHECK_ERR(mounts_unref(mt, "nosuch", "a", &left), -ENOENT);
	CHECK_OK(mounts_unref(mt, "v1", "a", &left));
	CHECK_INT(left, 2);
	CHECK_OK(mounts_unref(mt, "v1", "b", &left));
	CHECK_INT(left, 1);
	CHECK_OK(mounts_unref(mt, "v1", "a", &left));
	CHECK_INT(left, 0);
	CHECK_ERR(mounts_unref(mt, "v1", "a", &left), -ENOENT);
	CHECK(mounts_has(mt, "v1"));		/* until detached and forgotten */
	CHECK_OK(mounts_forget(mt, "v1"));
	CHECK(!mounts_has(mt, "v1"));
	volume_meta_free(&m);
	mounts_close(mt);
}

static void
test_persisted(void)
{
	struct mounts *mt;
	struct volume_meta m, got;
	char err[256], mp[256];
	const char *dir = fresh_dir("persist");

	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	meta(&m, "pgdata");
	CHECK_OK(mounts_begin(mt, &m, "/mnt/pgdata"));
	CHECK_OK(mounts_set_helper(mt, "pgdata", 4242));
	CHECK_OK(mounts_ref(mt, "pgdata", "id1", NULL));
	CHECK_OK(mounts_ref(mt, "pgdata", "id2", NULL));
	mounts_close(mt);		/* as if cephvold was killed here */

	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	CHECK_INT(mounts_refs(mt, "pgdata"), 2);
	CHECK_OK(mounts_get(mt, "pgdata", &got, mp, sizeof(mp)));
	CHECK_STR(mp, "/mnt/pgdata");
	CHECK_STR(got.id, "0123456789abcdef");
	CHECK_U64(got.size, 1 << 30);
	volume_meta_free(&got);
	volume_meta_free(&m);
	mounts_close(mt);
}

static void
test_damaged_file(void)
{
	struct mounts *mt = NULL;
	char err[512], path[4300];
	const char *dir = fresh_dir("damaged");

	REQUIRE(mkdir_p(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/" MOUNTS_FILE, dir);
	REQUIRE(file_write_atomic(path, "{not json", 9, 0600) == 0);
	CHECK_ERR(mounts_open(dir, &mt, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "is damaged");
	REQUIRE(file_write_atomic(path, "{\"volumes\":{\"v\":{\"meta\":1}}}", 28, 0600) == 0);
	CHECK_ERR(mounts_open(dir, &mt, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "entry of volume v is damaged");
}

/* Entries without references are listed as idle; all are listed. */
static bool
listed(struct mounts *mt, bool idle, const char *name)
{
	char **names;
	size_t n;
	bool found = false;

	if (mounts_names(mt, idle, &names, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		found |= strcmp(names[i], name) == 0;
		free(names[i]);
	}
	free(names);
	return found;
}

static void
test_names_and_drop(void)
{
	struct mounts *mt;
	struct volume_meta a, b;
	char err[256];
	const char *dir = fresh_dir("names");

	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	meta(&a, "used");
	meta(&b, "idle");
	CHECK_OK(mounts_begin(mt, &a, "/nonexistent/used"));
	CHECK_OK(mounts_begin(mt, &b, "/nonexistent/idle"));
	CHECK_OK(mounts_ref(mt, "used", "x", NULL));
	CHECK(listed(mt, false, "used") && listed(mt, false, "idle"));
	CHECK(!listed(mt, true, "used") && listed(mt, true, "idle"));
	CHECK_OK(mounts_set_helper(mt, "used", 77));
	CHECK_OK(mounts_set_helper(mt, "used", 77));	/* unchanged: not saved */
	CHECK_ERR(mounts_drop_refs(mt, "nosuch"), -ENOENT);
	CHECK_OK(mounts_drop_refs(mt, "used"));
	CHECK_INT(mounts_refs(mt, "used"), 0);
	CHECK(listed(mt, true, "used"));
	mounts_close(mt);

	/* the drop was saved */
	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	CHECK(mounts_has(mt, "used"));
	CHECK_INT(mounts_refs(mt, "used"), 0);
	volume_meta_free(&a);
	volume_meta_free(&b);
	mounts_close(mt);
}

static void
test_metrics_text(void)
{
	char *t;

	metrics_request(EP_MOUNT, RESULT_OK, 3000000);		/* 3 ms */
	metrics_request(EP_MOUNT, RESULT_TIMEOUT, 200000000000ull);
	metrics_request(metrics_endpoint_of("/VolumeDriver.Get"), RESULT_ERROR, 1);
	metrics_event(EV_MOUNT_BUSY);
	CHECK_INT(metrics_endpoint_of("/Nope"), EP_OTHER);
	CHECK_INT(metrics_endpoint_of("/Plugin.Activate"), EP_ACTIVATE);
	t = metrics_render();
	REQUIRE(t != NULL);
	CHECK_CONTAINS(t, "cephvol_requests_total{endpoint=\"VolumeDriver.Mount\",result=\"ok\"} 1\n");
	CHECK_CONTAINS(t, "cephvol_requests_total{endpoint=\"VolumeDriver.Mount\",result=\"timeout\"} 1\n");
	CHECK_CONTAINS(t, "cephvol_requests_total{endpoint=\"VolumeDriver.Get\",result=\"error\"} 1\n");
	CHECK_CONTAINS(t, "cephvol_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"0.001\"} 0\n");
	CHECK_CONTAINS(t, "cephvol_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"0.005\"} 1\n");
	CHECK_CONTAINS(t, "cephvol_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"120\"} 1\n");
	CHECK_CONTAINS(t, "cephvol_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"+Inf\"} 2\n");
	CHECK_CONTAINS(t, "cephvol_request_duration_seconds_count{endpoint=\"VolumeDriver.Mount\"} 2\n");
	CHECK_CONTAINS(t, "cephvol_lease_busy_total 1\n");
	CHECK_CONTAINS(t, "cephvol_mounted_volumes 0\n");
	free(t);
}

/*
 * The same mount ID from the same dockerd counts again (docker cp on a
 * running container); from a new dockerd, when the one that took the
 * reference is gone (a restart), it takes that reference over; from
 * another live process it counts again. Owners survive a reload.
 */
static void
test_refs_owner(void)
{
	struct mounts *mt;
	struct volume_meta m;
	struct mounts_owner me = mounts_owner_of(getpid()), parent, dead;
	char err[256], dir[4200];
	unsigned left;
	pid_t child;

	CHECK(me.pid == getpid() && me.start > 0);
	parent = mounts_owner_of(getppid());
	if ((child = fork()) == 0)
		_exit(0);
	REQUIRE(child > 0);
	dead = mounts_owner_of(child);	/* may already be a zombie: fine */
	waitpid(child, NULL, 0);
	if (dead.pid == 0)
		dead = (struct mounts_owner){ child, 1 };
	CHECK(mounts_owner_of(child).pid == 0);

	snprintf(dir, sizeof(dir), "%s", fresh_dir("owner"));
	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	meta(&m, "v1");
	CHECK_OK(mounts_begin(mt, &m, "/mnt/v1"));
	CHECK_INT(mounts_ref(mt, "v1", "a", &dead), 0);
	CHECK_INT(mounts_ref(mt, "v1", "a", &me), 1);	/* taken over */
	CHECK_INT(mounts_refs(mt, "v1"), 1);
	CHECK_INT(mounts_ref(mt, "v1", "a", &me), 0);	/* docker cp */
	CHECK_INT(mounts_refs(mt, "v1"), 2);
	CHECK_INT(mounts_ref(mt, "v1", "a", &parent), 0);	/* alive: counts */
	CHECK_INT(mounts_refs(mt, "v1"), 3);
	mounts_close(mt);
	REQUIRE(mounts_open(dir, &mt, err, sizeof(err)) == 0);
	CHECK_INT(mounts_refs(mt, "v1"), 3);
	CHECK_OK(mounts_unref(mt, "v1", "a", &left));
	CHECK_OK(mounts_unref(mt, "v1", "a", &left));
	CHECK_OK(mounts_unref(mt, "v1", "a", &left));
	CHECK_INT(left, 0);
	volume_meta_free(&m);
	mounts_close(mt);
}

HARNESS_MAIN(CASE(test_refs_per_id), CASE(test_refs_owner), CASE(test_persisted),
    CASE(test_damaged_file), CASE(test_names_and_drop), CASE(test_metrics_text))
