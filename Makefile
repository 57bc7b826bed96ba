# vessel — top-level entry points. `make run` and `make test` do all the
# set-up on a fresh Debian 12 machine (as root).
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
TSAN    ?= build-tsan
# Each fuzz target runs for its share of FUZZ_SECONDS (tests/fuzz/meson.build).
FUZZ_SECONDS ?= 30

.PHONY: all deps run test bench format clean install
all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	CC=gcc meson setup $(BUILD)

$(ASAN)/build.ninja:
	CC=gcc meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Db_lundef=false -Dbuildtype=debug

$(TSAN)/build.ninja:
	CC=clang meson setup $(TSAN) -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug

# The main job on a built-in default: boot a real Linux guest (KVM or the
# emulator, whichever can run it here) through a short workload, then
# run a command in a container on a busybox root filesystem.
run: all
	@echo "== a real Linux VM: Debian's cloud kernel and busybox, --accel auto (KVM where it can run Linux, else the emulator)"
	@guest=$$(scripts/default-guest.sh) && \
	$(BUILD)/vessel -v vm run --kernel $$guest/vmlinuz --initrd $$guest/initramfs.cpio.gz --mem 512M \
		--cmdline "console=ttyS0 quiet cryptomgr.notests vessel.run=demo" --console stdio </dev/null
	@echo "== a container on a busybox root filesystem"
	@scripts/busybox-rootfs.sh $(BUILD)/demo-rootfs
	$(BUILD)/vessel ct run --rootfs $(BUILD)/demo-rootfs --memory 64M --pids 32 --hostname vessel-demo -- \
		/bin/sh -c 'echo "vessel demo container: $$(hostname), pid $$$$, memory limit $$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"; grep -E "CapEff|Seccomp:" /proc/self/status'

# Unit tests, guest tests, integration tests and the checks (clang
# --analyze, clang-format) under ASan/UBSan (gcc), the same tree built with
# clang -Werror, a bounded fuzzing run, the threaded tests (several vCPUs,
# console against vCPUs) under ThreadSanitizer (clang), and real Linux
# under the emulator (suite linux) on the plain gcc build: an ASan
# emulator is about 3x slower, too slow for six Linux boots.
test: all $(ASAN)/build.ninja $(FUZZ)/build.ninja $(TSAN)/build.ninja
	ninja -C $(ASAN)
	ninja -C $(FUZZ)
	ninja -C $(TSAN)
	rm -f $(ASAN)/meson-logs/testlog.json $(FUZZ)/meson-logs/testlog.json $(TSAN)/meson-logs/testlog.json \
		$(BUILD)/meson-logs/testlog.json
	-meson test -C $(ASAN) --no-rebuild --print-errorlogs --no-suite fuzz --no-suite linux
	-FUZZ_SECONDS=$(FUZZ_SECONDS) meson test -C $(FUZZ) --no-rebuild --print-errorlogs --suite fuzz
	@# Without ASLR: clang 14's TSan cannot map its shadow under larger
	@# vm.mmap_rnd_bits ("unexpected memory mapping").
	-TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan-suppressions.txt" setarch $$(uname -m) -R meson test -C $(TSAN) --no-rebuild --print-errorlogs --suite threads
	-meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite linux
	@scripts/test-summary.py $(ASAN)/meson-logs/testlog.json $(FUZZ)/meson-logs/testlog.json \
		$(TSAN)/meson-logs/testlog.json $(BUILD)/meson-logs/testlog.json

bench: all
	@scripts/install-deps.sh qemu-system-x86 crun
	bench/vm-start
	bench/ct
	bench/virtio

# The binaries, man pages (vessel.1, vessel-oci.8) and bash completion,
# under PREFIX (default /usr/local); DESTDIR for staging.
PREFIX ?= /usr/local
install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) $(TSAN)
