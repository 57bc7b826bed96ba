# vessel — top-level entry points. `make run` and `make test` do all the
# set-up on a fresh Debian 12 machine (as root).
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: all deps run test bench format clean
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

# The main job on a built-in default: boot the demo guest under KVM, then
# run a command in a container on a busybox root filesystem.
run: all
	$(BUILD)/vessel vm run --kernel $(BUILD)/tests/guests/demo-pvh.elf --cmdline "vessel demo" --cpus 2 --console stdio
	@scripts/busybox-rootfs.sh $(BUILD)/demo-rootfs
	$(BUILD)/vessel ct run --rootfs $(BUILD)/demo-rootfs --memory 64M --pids 32 --hostname vessel-demo -- \
		/bin/sh -c 'echo "vessel demo container: $$(hostname), pid $$$$, memory limit $$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"; grep -E "CapEff|Seccomp:" /proc/self/status'

# Unit tests, guest tests and integration tests under ASan/UBSan (gcc), the
# same tree built with clang -Werror, and a bounded fuzzing run.
test: all $(ASAN)/build.ninja $(FUZZ)/build.ninja
	ninja -C $(ASAN)
	ninja -C $(FUZZ)
	rm -f $(ASAN)/meson-logs/testlog.json $(FUZZ)/meson-logs/testlog.json
	-meson test -C $(ASAN) --no-rebuild --print-errorlogs --no-suite fuzz
	-FUZZ_SECONDS=$(FUZZ_SECONDS) meson test -C $(FUZZ) --no-rebuild --print-errorlogs --suite fuzz
	@scripts/test-summary.py $(ASAN)/meson-logs/testlog.json $(FUZZ)/meson-logs/testlog.json

bench: all
	@scripts/install-deps.sh qemu-system-x86 crun
	bench/vm-start
	bench/ct

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
