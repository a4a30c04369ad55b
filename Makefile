# tssd — plain Makefile. `make` builds every binary into build/.
# `make check` and `make demo` install what a fresh Debian 12 machine lacks (make deps).

CC       ?= gcc
ifeq ($(origin CC),default)
CC       := gcc
endif
FUZZ_CC  ?= clang
BUILD    := build
Q        := $(if $(V),,@)

DEBIAN_PACKAGES := gcc make pkg-config libsecp256k1-dev libsodium-dev libwolfssl-dev \
                   libyaml-dev libsystemd-dev libjansson-dev libhttp-parser-dev curl clang libclang-rt-14-dev valgrind systemd \
                   systemd-container debootstrap groff-base libpq-dev postgresql

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes
COMMON   := -std=gnu11 -D_GNU_SOURCE -g -I. -I$(BUILD)/gen -I/usr/include/postgresql -DWOLFSSL_OPTIONS_IGNORE_SYS -MMD -MP $(WARN)
HARDEN   := -O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE -fstack-clash-protection
CFLAGS   ?=
CFLAGS   := $(COMMON) $(HARDEN) $(CFLAGS)
LDFLAGS  := -pie -Wl,-z,relro,-z,now,-z,noexecstack
LIBS     := -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -ljansson -lhttp_parser -lpthread -lm
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(COMMON) -O1 $(SAN)
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -I. -I$(BUILD)/gen -DWOLFSSL_OPTIONS_IGNORE_SYS -MMD -MP \
               -Wall -Wextra -Werror -fsanitize=fuzzer-no-link,address,undefined -DTSS_FUZZING

# Library modules (DESIGN.md §1). Directories appear as they get code.
LIB_DIRS := util keystore mpc eth wire config tls policy daemon
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
GEN_SRCS := $(BUILD)/gen/bip39_wordlist.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS) $(GEN_SRCS:$(BUILD)/%=%))
ASAN_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(LIB_SRCS) $(GEN_SRCS:$(BUILD)/%=%))
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS) $(GEN_SRCS:$(BUILD)/%=%))

# Programs: each directory cli/<name>/ (and bench/, daemon/<role>/) is one binary.
PROGRAM_DIRS := $(wildcard cli/*/) $(wildcard daemon/*/) $(wildcard bench/)
program_name = $(if $(filter bench/,$(1)),tss-bench,$(if $(filter daemon/%,$(1)),tss-$(notdir $(patsubst %/,%,$(1))),$(notdir $(patsubst %/,%,$(1)))))
PROGRAMS := $(foreach d,$(PROGRAM_DIRS),$(BUILD)/$(call program_name,$(d)))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
TEST_SUPPORT := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ASAN_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRCS))
CTIME_SRCS := $(wildcard tests/ctime/ctime_*.c)
CTIME_BINS := $(patsubst tests/ctime/%.c,$(BUILD)/ctime/%,$(CTIME_SRCS))
# Self-test of the constant-time check: the base-OT check linked with a
# base_ot.c that branches on the choice bit; run.sh --expect-flagged.
CTIME_INJECT_BINS := $(BUILD)/ctime-inject/ctime_base_ot
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all deps check demo bench fuzz fuzz-build clean tests asan-tests ctime
.DEFAULT_GOAL := all
# Keep objects of pattern-built programs (no intermediate-file deletion).
.SECONDARY:

all: $(PROGRAMS)

# ---- dependencies -----------------------------------------------------------
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "make deps: installing:" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	else \
	  echo "make deps: missing packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y $$missing"; exit 1; \
	fi

# ---- generated sources ------------------------------------------------------
BIP39_SHA256 := 2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda
$(BUILD)/gen/bip39_wordlist.c: keystore/bip39-english.txt tools/gen_wordlist.sh
	@mkdir -p $(@D)
	sh tools/gen_wordlist.sh $< $(BIP39_SHA256) > $@.tmp && mv $@.tmp $@

# ---- objects ----------------------------------------------------------------
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(@D)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/asan/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC  $<"
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@
$(BUILD)/asan/obj/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(@D)
	@echo "  CC  $<"
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC  $< (fuzz)"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(@D)
	@echo "  CC  $< (fuzz)"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/libtss.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)/asan/libtss.a: $(ASAN_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)/fuzz/libtss.a: $(FUZZ_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# ---- programs -----------------------------------------------------------------
# The coordinator alone talks to PostgreSQL (daemon/coordinator/store_pg.c).
PQ_LIBS := -lpq
define program_rule
$(BUILD)/$(call program_name,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)*.c)) $(BUILD)/libtss.a
	@echo "  LD  $$@"
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ $$(LIBS) $(if $(filter daemon/coordinator/,$(1)),$$(PQ_LIBS)) -o $$@
endef
$(foreach d,$(PROGRAM_DIRS),$(eval $(call program_rule,$(d))))

# ---- tests ----------------------------------------------------------------------
TEST_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SUPPORT))
ASAN_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(TEST_SUPPORT))
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(BUILD)/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@
$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o $(ASAN_SUPPORT_OBJS) $(BUILD)/asan/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(ASAN_CFLAGS) $^ $(LIBS) -o $@
# test_coord_store links the coordinator's own objects (all but main.c).
COORD_TEST_SRCS := $(filter-out daemon/coordinator/main.c,$(wildcard daemon/coordinator/*.c))
$(BUILD)/tests/test_coord_store: $(BUILD)/obj/tests/unit/test_coord_store.o $(TEST_SUPPORT_OBJS) $(patsubst %.c,$(BUILD)/obj/%.o,$(COORD_TEST_SRCS)) $(BUILD)/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) $(PQ_LIBS) -o $@
$(BUILD)/asan/tests/test_coord_store: $(BUILD)/asan/obj/tests/unit/test_coord_store.o $(ASAN_SUPPORT_OBJS) $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(COORD_TEST_SRCS)) $(BUILD)/asan/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(ASAN_CFLAGS) $^ $(LIBS) $(PQ_LIBS) -o $@
$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(BUILD)/fuzz/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LIBS) -o $@

# Constant-time checks: hardened build (no sanitizers), run under valgrind.
$(BUILD)/ctime/%: tests/ctime/%.c $(BUILD)/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libtss.a $(LIBS) -o $@

# The coordinator under ASan+UBSan, for the fault-injection suite
# (tests/integration/faults.sh): a crash there is a test failure.
$(BUILD)/asan/tss-coordinator: $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(wildcard daemon/coordinator/*.c)) $(BUILD)/asan/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(ASAN_CFLAGS) $^ $(LIBS) $(PQ_LIBS) -o $@

$(BUILD)/ctime-inject/base_ot.o: mpc/base_ot.c | $(GEN_SRCS)
	@mkdir -p $(@D)
	@echo "  CC  $< (injected secret branch)"
	$(Q)$(CC) $(CFLAGS) -DTSS_CTIME_INJECT_BRANCH -c $< -o $@
$(BUILD)/ctime-inject/ctime_base_ot: tests/ctime/ctime_base_ot.c $(BUILD)/ctime-inject/base_ot.o $(BUILD)/libtss.a
	@mkdir -p $(@D)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

tests: $(UNIT_TESTS)
ctime: $(CTIME_BINS) $(CTIME_INJECT_BINS)
asan-tests: $(ASAN_TESTS) $(BUILD)/asan/tss-coordinator
fuzz-build: $(FUZZERS)

# Keep the dependency install first, then build in parallel.
check: deps
	$(MAKE) --no-print-directory -j$$(nproc) all tests asan-tests fuzz-build ctime
	bash tests/run_checks.sh

FUZZ_SECONDS ?= 300
fuzz: deps
	$(MAKE) --no-print-directory -j$$(nproc) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/run_fuzz.sh $(FUZZERS)

demo: deps
	$(MAKE) --no-print-directory -j$$(nproc) all
	bash tools/demo.sh

bench: deps
	$(MAKE) --no-print-directory -j$$(nproc) all
	@if [ -x $(BUILD)/tss-bench ]; then $(BUILD)/tss-bench --json; else echo "bench: no benchmarks yet"; fi
	@# Party-enforced policy and approvals per request vs. a 2-of-3 signature per party (issue 16): $(BUILD)/bench-policy.json.
	$(BUILD)/tss-bench --suite policy --json > $(BUILD)/bench-policy.json && cat $(BUILD)/bench-policy.json
	$(BUILD)/tss-bench --suite policy --runs 50
	@# End-to-end over real daemons on 127.0.0.1 (2-of-3): JSON + table, $(BUILD)/bench-e2e.json.
	bash bench/e2e.sh $(BUILD)
	@# Signing rate while a chatty operator floods vs. quiet: $(BUILD)/bench-chatty.json.
	bash bench/chatty.sh $(BUILD)
	@# Fault injection under load (issue 11): JSON + table, $(BUILD)/bench-faults.json.
	bash bench/faults.sh $(BUILD)
	@# JSON-RPC over HTTPS through tss-gateway vs. the native operator channel: $(BUILD)/bench-gateway.json.
	bash bench/gateway.sh $(BUILD)
	@# One vs two coordinators on one PostgreSQL, same parties (issue 18): $(BUILD)/bench-multicoord.json.
	bash bench/multicoord.sh $(BUILD)
	@# Sustained signing with the presignature pool refilling (issue 14): $(BUILD)/bench-pool.json.
	bash bench/pool.sh $(BUILD)
	@# The PostgreSQL storage back-end vs. files, DB round trips per signature: $(BUILD)/bench-pg.json.
	bash bench/pg.sh $(BUILD)
	@# Simulated WAN (namespaces, RTT 0/5/20/80 ms, 1% loss), round counts: $(BUILD)/bench-wan.json.
	bash bench/wan.sh $(BUILD)
	@# Cost model per request (CPU, bytes per peer, fsyncs) and a perf profile: $(BUILD)/bench-profile.json.
	bash bench/profile.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# ---- install and Debian package ----------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: binaries, systemd units (their
# ExecStart= and doc paths rewritten to PREFIX), sysusers.d/tmpfiles.d entries,
# example configurations, docs and each program's --help, man pages (docs/man)
# and bash completion. make deb: build/tssd_<version>_<arch>.deb (dpkg-deb).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR      ?= $(PREFIX)/share/doc/tssd
MANDIR      ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL_BINS := tss-coordinator tss-party tssctl tss-keystore tss-gateway
INSTALL_UNITS := $(wildcard packaging/systemd/*.service packaging/systemd/*.socket)
TSSD_VERSION ?= $(shell sed -n 's|.*TSS_SOFTWARE "tssd/\([^"]*\)".*|\1|p' daemon/process.h)
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_FILE     = $(BUILD)/tssd_$(TSSD_VERSION)_$(DEB_ARCH).deb
DEB_DEPENDS := libc6 (>= 2.36), libsecp256k1-1, libsodium23, libwolfssl35, libyaml-0-2, libsystemd0, libjansson4, libhttp-parser2.9, libpq5, procps
.PHONY: install deb

install: $(addprefix $(BUILD)/,$(INSTALL_BINS))
	install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/help
	install -m 755 $(addprefix $(BUILD)/,$(INSTALL_BINS)) $(DESTDIR)$(BINDIR)/
	for u in $(INSTALL_UNITS); do \
	    sed -e 's|/usr/bin/tss-|$(BINDIR)/tss-|g' -e 's|/usr/share/doc/tssd|$(DOCDIR)|g' $$u \
	        > $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	install -m 644 packaging/sysusers.d/tssd.conf $(DESTDIR)$(SYSUSERSDIR)/tssd.conf
	install -m 644 packaging/tmpfiles.d/tssd.conf $(DESTDIR)$(TMPFILESDIR)/tssd.conf
	install -m 644 packaging/examples/*.yaml $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 README.md SECURITY.md docs/OPERATIONS.md docs/PROTOCOL.md docs/API.md $(DESTDIR)$(DOCDIR)/
	for b in $(INSTALL_BINS); do \
	    $(BUILD)/$$b --help > $(DESTDIR)$(DOCDIR)/help/$$b.txt 2>&1 || true; \
	    chmod 644 $(DESTDIR)$(DOCDIR)/help/$$b.txt; \
	done
	install -d -m 755 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 docs/man/tssctl.1 docs/man/tss-keystore.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/man/tss-coordinator.8 docs/man/tss-party.8 docs/man/tss-gateway.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 packaging/bash-completion/tssd $(DESTDIR)$(COMPLETIONDIR)/tssctl
	for b in tss-keystore tss-coordinator tss-party tss-gateway; do ln -sf tssctl $(DESTDIR)$(COMPLETIONDIR)/$$b || exit 1; done

# The package tree is staged outside $(BUILD): its sysusers.d/ and tmpfiles.d/
# directories would otherwise match the dependency-file include below.
deb: $(addprefix $(BUILD)/,$(INSTALL_BINS))
	@stage=$$(mktemp -d "$${TMPDIR:-/tmp}/tssd-deb-XXXXXX") && trap 'rm -rf "$$stage"' EXIT && \
	mkdir -p "$$stage/root/DEBIAN" && \
	$(MAKE) --no-print-directory BUILD=$(BUILD) $(addprefix -o ,$(addprefix $(BUILD)/,$(INSTALL_BINS))) \
	    install DESTDIR="$$stage/root" PREFIX=/usr UNITDIR=/lib/systemd/system \
	    SYSUSERSDIR=/usr/lib/sysusers.d TMPFILESDIR=/usr/lib/tmpfiles.d \
	    DOCDIR=/usr/share/doc/tssd MANDIR=/usr/share/man >/dev/null && \
	sed -e 's|@VERSION@|$(TSSD_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' -e 's|@DEPENDS@|$(DEB_DEPENDS)|' \
	    -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN "$$stage/root" | cut -f1)|" \
	    packaging/debian/control > "$$stage/root/DEBIAN/control" && \
	install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
	    "$$stage/root/DEBIAN/" && \
	chmod 755 "$$stage/root" && \
	dpkg-deb --root-owner-group -Zxz --build "$$stage/root" $(DEB_FILE)
	@echo "  DEB $(DEB_FILE)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
