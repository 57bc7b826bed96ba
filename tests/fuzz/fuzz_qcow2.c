/* libFuzzer target: any byte string opened as a qcow2 image (no backing
 * file) is either refused with a message or read, mapped and checked
 * without crashing, hanging or leaking; then opened read-write, written,
 * zeroed and discarded (writes into hostile metadata must fail cleanly),
 * and checked again. The image lives in a memfd, reached through
 * /proc/self/fd like any path. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	char path[64];
	struct vs_error err = { 0 };
	struct vs_block *bs;
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct vs_block_open_opts o = { .format = "qcow2",
					.flags = VS_BLOCK_NO_BACKING | VS_BLOCK_CHECK,
					.l2_cache_bytes = 1 << 20 };
	if (vs_block_open(path, &o, &bs, &err) < 0) {
		/* A refusal always says why. */
		if (err.msg[0] == '\0')
			abort();
		close(fd);
		return 0;
	}
	struct vs_block_info info;
	vs_block_get_info(bs, &info);
	/* Walk the first extents of the map and read a little of each. */
	uint64_t off = 0;
	for (int i = 0; i < 64 && off < bs->size; i++) {
		struct vs_block_status st;
		uint64_t n = 0;
		if (vs_block_status(bs, off, bs->size - off, &n, &st) < 0)
			break;
		if (n == 0 || n > bs->size - off)
			abort();
		size_t len = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		vs_block_pread(bs, off, buf, len);
		off += n;
	}
	struct vs_block_check r;
	vs_block_check(bs, 0, &r, NULL, NULL, &err);
	uint64_t vsize = bs->size;
	vs_block_close(bs);

	struct vs_block_open_opts w = { .format = "qcow2",
					.flags = VS_BLOCK_NO_BACKING | VS_BLOCK_RDWR,
					.l2_cache_bytes = 1 << 20 };
	if (vsize && vs_block_open(path, &w, &bs, &err) == 0) {
		memset(buf, 0x5a, 8192);
		uint64_t at[] = { 0, vsize / 2, vsize - 1 };
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			size_t n = vsize - at[i] < 8192 ? (size_t)(vsize - at[i]) : 8192;
			if (vs_block_pwrite(bs, at[i], buf, n) == 0 &&
			    vs_block_pread(bs, at[i], buf + 8192, n) == 0 && memcmp(buf, buf + 8192, n) != 0)
				abort(); /* a write that succeeded must read back */
		}
		vs_block_write_zeroes(bs, 0, vsize < 200000 ? vsize : 200000);
		vs_block_discard(bs, vsize / 4, vsize / 4);
		vs_block_check(bs, 0, &r, NULL, NULL, &err);
		vs_block_close(bs);
	}
	close(fd);
	return 0;
}
