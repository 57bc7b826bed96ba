/* Test helper: write to an image through vessel's block layer.
 *
 *   img-writer FILE OP...      OP: write:OFF:LEN:BYTE  zero:OFF:LEN  discard:OFF:LEN  flush
 *   img-writer FILE crash N    N writes of pattern i%251+1 to slot perm(i) (8 KiB
 *                              slots, unaligned, 2-4 KiB long), a flush after
 *                              every 4th, "flushed I" printed after each flush
 *
 * Offsets and lengths take K/M/G suffixes. Exit 0 on success, 1 on failure.
 * Encrypted images take their passphrase from VESSEL_IMG_PASSPHRASE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "util/parse.h"

static int parse2(const char *s, uint64_t *a, uint64_t *b, const char **rest)
{
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s", s);
	char *p = strchr(tmp, ':');
	if (!p)
		return -1;
	*p++ = '\0';
	char *q = strchr(p, ':');
	if (q)
		*q++ = '\0';
	if (rest)
		*rest = q ? s + (q - tmp) : NULL;
	return vs_parse_size(tmp, a) < 0 || vs_parse_size(p, b) < 0 ? -1 : 0;
}

/* Slot of write i: a fixed permutation so writes land all over. */
static uint64_t slot(uint64_t i, uint64_t n)
{
	return (i * 7919) % n;
}

static int crash_run(struct vs_block *bs, uint64_t n)
{
	static uint8_t buf[8192];
	uint64_t slots = bs->size / 8192;
	if (slots < n) {
		fprintf(stderr, "img-writer: image too small for %llu slots\n", (unsigned long long)n);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off = slot(i, n) * 8192 + (i % 7) * 512, len = 2048 + (i % 3) * 1024;
		memset(buf, (int)(i % 251 + 1), len);
		int r = vs_block_pwrite(bs, off, buf, len);
		if (r < 0) {
			fprintf(stderr, "img-writer: write %llu: %s %s\n", (unsigned long long)i,
				strerror(-r), bs->last_error);
			return 1;
		}
		if (i % 4 == 3) {
			if (vs_block_flush(bs) < 0)
				return 1;
			printf("flushed %llu\n", (unsigned long long)i);
			fflush(stdout);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vs_block *bs;
	struct vs_error err = { 0 };
	if (argc < 3) {
		fprintf(stderr, "usage: img-writer FILE OP...\n");
		return 1;
	}
	const char *pass = getenv("VESSEL_IMG_PASSPHRASE");
	struct vs_block_open_opts o = { .flags = VS_BLOCK_RDWR,
					.key = pass,
					.key_len = pass ? strlen(pass) : 0 };
	if (vs_block_open(argv[1], &o, &bs, &err) < 0) {
		fprintf(stderr, "img-writer: %s\n", err.msg);
		return 1;
	}
	int ret = 0;
	if (strcmp(argv[2], "crash") == 0) {
		ret = crash_run(bs, argc > 3 ? strtoull(argv[3], NULL, 10) : 1000);
		vs_block_close(bs);
		return ret;
	}
	for (int i = 2; i < argc && !ret; i++) {
		const char *a = argv[i], *rest = NULL;
		uint64_t off, len;
		int r = 0;
		if (strcmp(a, "flush") == 0) {
			r = vs_block_flush(bs);
		} else if (strncmp(a, "write:", 6) == 0 && parse2(a + 6, &off, &len, &rest) == 0 && rest) {
			uint8_t *buf = malloc(len ? len : 1);
			memset(buf, (int)strtol(rest, NULL, 0), len);
			r = vs_block_pwrite(bs, off, buf, len);
			free(buf);
		} else if (strncmp(a, "zero:", 5) == 0 && parse2(a + 5, &off, &len, NULL) == 0) {
			r = vs_block_write_zeroes(bs, off, len);
		} else if (strncmp(a, "discard:", 8) == 0 && parse2(a + 8, &off, &len, NULL) == 0) {
			r = vs_block_discard(bs, off, len);
		} else {
			fprintf(stderr, "img-writer: bad op `%s`\n", a);
			ret = 1;
			break;
		}
		if (r < 0) {
			fprintf(stderr, "img-writer: %s: %s %s\n", a, strerror(-r), bs->last_error);
			ret = 1;
		}
	}
	vs_block_close(bs);
	return ret;
}
