/* libFuzzer target: arbitrary client bytes fed to the NBD server's
 * connection state machine (handshake, options, requests and WRITE
 * payloads), in pieces of varying size, with the replies drained the way a
 * socket would or left to pile up until the backlog stops input. The
 * export is a fresh 1 MiB raw image in a memfd with one data extent and
 * holes around it, so reads produce data and hole chunks and block status
 * sees both.
 *
 * The first byte picks the set-up: bit 0 a read-only export, bit 1 a
 * canned handshake first (structured replies, base:allocation, GO) so the
 * rest starts in transmission, bits 2-7 the size of the pieces. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/nbd_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t handshake[] = { 0, 0, 0, 3, /* client flags: fixed newstyle, no zeroes */
				     /* NBD_OPT_STRUCTURED_REPLY */
				     'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 0, 0, 8, 0, 0, 0, 0,
				     /* NBD_OPT_SET_META_CONTEXT "" ["base:allocation"] */
				     'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 0, 0, 10, 0, 0, 0, 27, 0, 0,
				     0, 0, 0, 0, 0, 1, 0, 0, 0, 15, 'b', 'a', 's', 'e', ':', 'a', 'l', 'l',
				     'o', 'c', 'a', 't', 'i', 'o', 'n',
				     /* NBD_OPT_GO "" with no information requests */
				     'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 0, 0, 7, 0, 0, 0, 6, 0, 0, 0,
				     0, 0, 0 };

static struct vs_block *open_image(int *fd, bool read_only)
{
	static uint8_t pattern[65536];
	char path[64];
	struct vs_error err = { 0 };
	struct vs_block *bs;
	*fd = memfd_create("fuzz-nbd", MFD_CLOEXEC);
	memset(pattern, 0xa5, sizeof(pattern));
	if (*fd < 0 || ftruncate(*fd, 1 << 20) < 0 ||
	    pwrite(*fd, pattern, sizeof(pattern), 256 << 10) != (ssize_t)sizeof(pattern))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
	struct vs_block_open_opts o = { .format = "raw", .flags = read_only ? 0 : VS_BLOCK_RDWR };
	if (vs_block_open(path, &o, &bs, &err) < 0)
		abort();
	return bs;
}

/* A socket's worth of replies goes out; the content is not checked here
 * beyond the state machine's own bounds (the integration test talks to it
 * with qemu's client). */
static void drain(struct vs_nbd_conn *c)
{
	size_t len;
	vs_nbd_conn_output(c, &len);
	vs_nbd_conn_sent(c, len);
}

static void feed(struct vs_nbd_conn *c, const uint8_t *p, size_t len, size_t piece, bool lazy_drain)
{
	size_t off = 0;
	unsigned stuck = 0;
	while (off < len && !vs_nbd_conn_closing(c)) {
		size_t n = len - off < piece ? len - off : piece;
		size_t used = vs_nbd_conn_input(c, p + off, n);
		if (used > n)
			abort();
		off += used;
		if (!lazy_drain || used < n)
			drain(c);
		/* Input is refused only while replies wait; draining them must
		 * let it go on. */
		stuck = used ? 0 : stuck + 1;
		if (stuck > 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	struct vs_block *bs = open_image(&fd, mode & 1);
	struct vs_nbd_export exp = { .bs = bs, .name = "disk", .read_only = mode & 1 };
	struct vs_nbd_conn *c = vs_nbd_conn_new(&exp);
	if (!c)
		abort();
	size_t piece = (size_t)(mode >> 2) * 7 + 1;
	if (mode & 2)
		feed(c, handshake, sizeof(handshake), sizeof(handshake), false);
	feed(c, data + 1, size - 1, piece, mode & 0x80);
	if (vs_nbd_conn_closing(c) && vs_nbd_conn_why(c) == NULL)
		abort();
	vs_nbd_conn_free(c);
	vs_block_close(bs);
	close(fd);
	return 0;
}
