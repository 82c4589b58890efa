# berth — build, test, bench, install.
#
#   make deps     install every build and test dependency from Debian's packages
#   make          build bin/berth
#   make test     unit tests (cmocka, ASan+UBSan) and root integration tests
#   make bench    benchmarks (never part of make test)
#   make install  install bin/berth to $(PREFIX)/bin

PREFIX     ?= /usr/local
CC         ?= cc
BUILD      ?= build
PKGS       := libseccomp libcap libmnl libcjson libarchive libcrypto zlib libzstd libnftables libevent

DEB_DEPS := build-essential pkg-config libseccomp-dev libcap-dev libmnl-dev libcjson-dev \
	    libarchive-dev libssl-dev libzstd-dev zlib1g-dev libcmocka-dev libnftables-dev libevent-dev busybox-static \
	    python3 zstd libarchive-tools crun runc iproute2 nftables conntrack awscli

WARN       := -Wall -Wextra -Werror -Wno-format-truncation -Wshadow -Wmissing-prototypes \
	      -Wstrict-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=gnu17 -D_GNU_SOURCE -I. $(WARN) -fstack-protector-strong \
	      $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS     ?= -O2 -g
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
# Libraries with a static archive in Debian are linked statically: libarchive
# alone drags libxml2, ICU and libstdc++ into a dynamic link, and mapping them
# doubled the start-up time of every berth command (measured: `berth --help`
# 11.3 ms dynamic, 4.4 ms like this).  libmnl and libcjson ship no archive.
STATIC_LIBS := -larchive -lseccomp -lcap -levent_extra -levent_core -lcrypto -lzstd -lz
LDLIBS     := -lmnl -lcjson -lnftables -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic -lpthread -lm

# Unit tests also use libarchive's writer (gzip, zstd, ...): link them dynamically.
TEST_LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
SAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

MODULES    := common images runtime netns scheduler
mod_srcs    = $(sort $(wildcard $(1)/*.c))
mod_objs    = $(patsubst %.c,$(BUILD)/obj/%.o,$(call mod_srcs,$(1)))
san_objs    = $(patsubst %.c,$(BUILD)/san/%.o,$(call mod_srcs,$(1)))

# Link order follows the direction of knowledge: tools -> scheduler -> {images, netns, runtime} -> common.
LIB_ORDER  := scheduler images netns runtime common
LIBS       := $(foreach m,$(LIB_ORDER),$(BUILD)/lib$(m).a)
SAN_LIBS   := $(foreach m,$(LIB_ORDER),$(BUILD)/san/lib$(m).a)

# bin/berth: the CLI (an API client; it still runs tasks itself until berthd
# owns them).  bin/berthd: the daemon.  Files named berthd*.c go to the daemon.
# Both speak HTTP through libevent (evhttp), linked statically like the rest.
BERTHD_SRCS := $(sort $(wildcard tools/berthd*.c))
TOOL_SRCS  := $(filter-out $(BERTHD_SRCS),$(sort $(wildcard tools/*.c)))
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
HEADERS    := $(wildcard */*.h)

.PHONY: all deps deps-host test unit integration bench install clean check-deps example-image
all: bin/berth bin/berthd

deps: deps-host deps-vm
deps-host:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_DEPS)

# The VM harness (tests/vm/) owns its own targets: deps-vm, vm-test, vm-shell, ...
include tests/vm/vm.mk

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -c $< -o $@

define module_lib
$(BUILD)/lib$(1).a: $(call mod_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/san/lib$(1).a: $(call san_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

bin/berth: $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS)) $(LIBS)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) -o $@ $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS)) $(LIBS) $(LDLIBS)

bin/berthd: $(patsubst %.c,$(BUILD)/obj/%.o,$(BERTHD_SRCS)) $(LIBS)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) -o $@ $(patsubst %.c,$(BUILD)/obj/%.o,$(BERTHD_SRCS)) $(LIBS) $(LDLIBS)

# Unit tests: one cmocka binary per tests/unit/test_*.c, built with ASan+UBSan
# against every module library (the linker only pulls what a test uses).
$(BUILD)/tests/%: tests/unit/%.c $(SAN_LIBS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN_LIBS) $(TEST_LDLIBS) -lcmocka

# The in-container probe: static, so it runs in a busybox-only rootfs.
$(BUILD)/probe: tests/probe/probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -Werror -static -o $@ $<

# Per-task network setup cost, natively, in a network namespace of its own.
$(BUILD)/netbench: tests/bench/netbench.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# A busybox OCI image layout built locally (no registry needed), for the README.
example-image: build/images/busybox/index.json
build/images/busybox/index.json: tests/integration/ociimg.py tests/integration/mkimage.py
	python3 tests/integration/mkimage.py busybox build/images/busybox

check-deps:
	@missing=""; for p in $(PKGS) cmocka; do pkg-config --exists $$p || missing="$$missing $$p"; done; \
	 [ -z "$$missing" ] || { echo "missing build dependencies:$$missing; run 'make deps' (as root) first" >&2; exit 1; }

unit: check-deps $(UNIT_BINS)
integration: check-deps bin/berth bin/berthd $(BUILD)/probe

test: check-deps bin/berth bin/berthd $(BUILD)/probe $(UNIT_BINS)
	tests/run

bench: bin/berth $(BUILD)/probe $(BUILD)/netbench
	tests/bench/run

install: bin/berth bin/berthd
	install -D -m 0755 bin/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -D -m 0755 bin/berthd $(DESTDIR)$(PREFIX)/sbin/berthd

clean:
	rm -rf $(BUILD) bin
