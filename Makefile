# cephvol - one plain Makefile. Objects and binaries go to $(BUILD)
# (build/ by default, build-asan/ for `make asan`).
#
# libcephvol.a holds what more than one program uses: common/, store/,
# secrets/ and the host mount pipeline (host/). Each program adds its own
# folder and links only the libraries it uses. Every source is listed, one
# per line: a new file is added here.
#
# Targets: all (default), check, asan, bench, demo, install, clean, and
# plugin: the Docker managed-plugin bundle in $(BUILD)/plugin
# (deploy/plugin/build.sh; docs/operations.md, "Managed plugin").

BUILD	?= build
PREFIX	?= /usr/local
DOCDIR	?= $(PREFIX)/share/doc/cephvol
DESTDIR	?=
CC	?= cc

CFLAGS	?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-format-truncation -MMD -MP -D_GNU_SOURCE -DFUSE_USE_VERSION=312 \
	   -I. $(shell pkg-config --cflags fuse3 libmicrohttpd jansson libsodium)
libs	 = $(shell pkg-config --libs $(1))
# what each program links: the library's own needs, then its folder's
LIB_LIBS	 = $(call libs,jansson libsodium) -lrados -lpthread
CEPHVOLD_LIBS	 = $(call libs,libmicrohttpd) $(LIB_LIBS)
MOUNT_LIBS	 = $(call libs,fuse3) $(LIB_LIBS)
CLI_LIBS	 = $(LIB_LIBS)
TEST_LIBS	 = $(call libs,fuse3 libmicrohttpd) $(LIB_LIBS)

LIB_SRCS	:= \
	common/config.c \
	common/config_file.c \
	common/log.c \
	common/pagepool.c \
	common/run.c \
	common/testhook.c \
	common/util.c \
	store/backup_export.c \
	store/backup_import.c \
	store/backup_stream.c \
	store/catalog.c \
	store/catalog_entry.c \
	store/catalog_header.c \
	store/clone.c \
	store/conn.c \
	store/fsck.c \
	store/fsck_snapshot.c \
	store/image.c \
	store/image_layer.c \
	store/image_walk.c \
	store/lease.c \
	store/lease_break.c \
	store/lease_gen.c \
	store/lease_holder.c \
	store/lockop.c \
	store/omap.c \
	store/probe.c \
	store/secret_grant.c \
	store/secret_record.c \
	store/secret_watch.c \
	store/secretstore.c \
	store/snapshot.c \
	store/snapshot_record.c \
	store/snapshot_usage.c \
	store/volctl.c \
	store/volopts.c \
	secrets/masterkey.c \
	secrets/seal.c \
	host/attach.c \
	host/freeze.c \
	host/fs.c \
	host/helper.c \
	host/loop.c \
	host/mountinfo.c

CEPHVOLD_SRCS	:= \
	volplugin/api.c \
	volplugin/cluster.c \
	volplugin/conns.c \
	volplugin/hoststate.c \
	volplugin/http.c \
	volplugin/job.c \
	volplugin/main.c \
	volplugin/metrics.c \
	volplugin/mounts.c

MOUNT_SRCS	:= \
	fuse/imagefs.c \
	fuse/imagefs_control.c \
	fuse/imagefs_server.c \
	fuse/main.c \
	fuse/qos.c \
	fuse/ready.c \
	fuse/secretsfs.c \
	fuse/secretsfs_fuse.c \
	fuse/secretsfs_refresh.c \
	fuse/secretsfs_server.c

CLI_SRCS	:= \
	cli/cmd_backup.c \
	cli/cmd_doctor.c \
	cli/cmd_fsck.c \
	cli/cmd_key.c \
	cli/cmd_lock.c \
	cli/cmd_secret.c \
	cli/cmd_snapshot.c \
	cli/cmd_status.c \
	cli/cmd_volume.c \
	cli/cmd_volume_mount.c \
	cli/doctor_cluster.c \
	cli/doctor_host.c \
	cli/main.c

UNIT_SRCS	:= \
	tests/unit/test_api_mounts.c \
	tests/unit/test_api_request.c \
	tests/unit/test_backup_stream.c \
	tests/unit/test_catalog_entry.c \
	tests/unit/test_config.c \
	tests/unit/test_hoststate.c \
	tests/unit/test_job.c \
	tests/unit/test_pagepool.c \
	tests/unit/test_seal.c \
	tests/unit/test_secret_grant.c \
	tests/unit/test_str_escape.c \
	tests/unit/test_util.c \
	tests/unit/test_volopts.c

TESTPROG_SRCS	:= \
	tests/c/backup_model.c \
	tests/c/fsync_records.c \
	tests/c/image_bench.c \
	tests/c/image_model.c \
	tests/c/image_stress.c \
	tests/c/lease_holder.c \
	tests/c/obj_digest.c \
	tests/c/secret_read_bench.c \
	tests/c/snapshot_model.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BINS	 = $(BUILD)/bin/cephvold $(BUILD)/bin/cephvol-mount $(BUILD)/bin/cephvol
UNITS	 = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
TESTPROGS = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(TESTPROG_SRCS))
LIB	 = $(BUILD)/libcephvol.a
# cephvold's modules but its main, for the unit tests of them
VOLDLIB	 = $(BUILD)/libcephvold.a
# helpers of tests/bench that need no cephvol code
BENCHPROGS = $(BUILD)/bench/radosdu

.PHONY: all check asan bench demo install deb plugin clean deps
# Keep test objects: they are not throw-away intermediates.
.SECONDARY:
all: $(BINS) $(UNITS) $(TESTPROGS) $(BENCHPROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(VOLDLIB): $(call obj,$(filter-out volplugin/main.c,$(CEPHVOLD_SRCS)))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/cephvold: $(call obj,$(CEPHVOLD_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CEPHVOLD_LIBS) $(LDLIBS)

$(BUILD)/bin/cephvol-mount: $(call obj,$(MOUNT_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(MOUNT_LIBS) $(LDLIBS)

$(BUILD)/bin/cephvol: $(call obj,$(CLI_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CLI_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(VOLDLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/c/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) $(LDLIBS)

$(BUILD)/bench/radosdu: $(BUILD)/obj/tests/bench/radosdu.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lrados

deps:
	deploy/install-deps.sh test

# Every test: unit tests and integration tests against a private Ceph
# cluster and dockerd that the runner starts and stops itself.
check: deps
	$(MAKE) all
	tests/run.sh --build $(BUILD)

asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run.sh --build build-asan

bench:
	deploy/install-deps.sh bench
	$(MAKE) all
	tests/bench/run.sh --build $(BUILD) $(if $(PEERS),--peers)

demo:
	deploy/install-deps.sh run
	$(MAKE) all
	deploy/demo.sh --build $(BUILD)

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/bin/cephvol $(DESTDIR)$(PREFIX)/bin/cephvol
	install -m 0755 $(BUILD)/bin/cephvold $(DESTDIR)$(PREFIX)/sbin/cephvold
	install -m 0755 $(BUILD)/bin/cephvol-mount $(DESTDIR)$(PREFIX)/sbin/cephvol-mount
	install -d $(DESTDIR)/etc/cephvol $(DESTDIR)/lib/systemd/system $(DESTDIR)/etc/docker/plugins
	test -e $(DESTDIR)/etc/cephvol/cephvol.conf || \
		install -m 0644 deploy/cephvol.conf $(DESTDIR)/etc/cephvol/cephvol.conf
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g; s|@DOCDIR@|$(DOCDIR)|g' deploy/cephvold.service \
		> $(DESTDIR)/lib/systemd/system/cephvold.service
	install -m 0644 deploy/cephvol.spec $(DESTDIR)/etc/docker/plugins/cephvol.spec

# The Debian package, $(BUILD)/cephvol_VERSION_ARCH.deb: deploy/mkdeb.sh
# (packaging files in deploy/debian/).
deb:
	deploy/install-deps.sh build
	deploy/mkdeb.sh --build $(BUILD)

# The Docker managed-plugin bundle in $(BUILD)/plugin (config.json and a
# rootfs of the binaries, the programs they run and their libraries, from
# this host's Debian packages): docker plugin create NAME $(BUILD)/plugin.
# PLUGIN_DROP_CAPS=CAP_SYS_RESOURCE for a host whose bounding set lacks it.
# See docs/operations.md, "Managed plugin".
PLUGIN_DROP_CAPS ?=
plugin: $(BINS)
	deploy/plugin/build.sh --build $(BUILD) $(foreach c,$(PLUGIN_DROP_CAPS),--drop-cap $(c))

clean:
	rm -rf $(BUILD) build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
