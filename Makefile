# cephvol - one plain Makefile. Objects and binaries go to $(BUILD)
# (build/ by default, build-asan/ for `make asan`).
#
# Library code shared by every program: common/, store/, secrets/ and the
# host mount pipeline (volplugin/attach.c). Each program adds its own folder.

BUILD	?= build
PREFIX	?= /usr/local
DOCDIR	?= $(PREFIX)/share/doc/cephvol
DESTDIR	?=
CC	?= cc

PKGS	 = fuse3 libmicrohttpd jansson libsodium
CFLAGS	?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-format-truncation -MMD -MP -D_GNU_SOURCE -DFUSE_USE_VERSION=312 \
	   -I. $(shell pkg-config --cflags $(PKGS))
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) -lrados -lpthread

LIB_SRCS	:= $(sort $(wildcard common/*.c store/*.c secrets/*.c host/*.c))
CEPHVOLD_SRCS	:= $(sort $(wildcard volplugin/*.c))
MOUNT_SRCS	:= $(sort $(wildcard fuse/*.c))
CLI_SRCS	:= $(sort $(wildcard cli/*.c))
UNIT_SRCS	:= $(sort $(wildcard tests/unit/*.c))
TESTPROG_SRCS	:= $(sort $(wildcard tests/c/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BINS	 = $(BUILD)/bin/cephvold $(BUILD)/bin/cephvol-mount $(BUILD)/bin/cephvol
UNITS	 = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
TESTPROGS = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(TESTPROG_SRCS))
LIB	 = $(BUILD)/libcephvol.a
# helpers of tests/bench that need no cephvol code
BENCHPROGS = $(BUILD)/bench/radosdu

.PHONY: all check asan bench demo install clean deps
# Keep test objects: they are not throw-away intermediates.
.SECONDARY:
all: $(BINS) $(UNITS) $(TESTPROGS) $(BENCHPROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/cephvold: $(call obj,$(CEPHVOLD_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/cephvol-mount: $(call obj,$(MOUNT_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/cephvol: $(call obj,$(CLI_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/c/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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

install: all
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

clean:
	rm -rf $(BUILD) build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
