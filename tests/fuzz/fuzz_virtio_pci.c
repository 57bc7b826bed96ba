/* libFuzzer target: a guest driving the PCI host and two virtio devices
 * (virtio-rng, virtio-blk on an in-memory disk, virtio-console, virtio-balloon) with arbitrary
 * configuration accesses (ports and ECAM), BAR accesses, guest memory
 * contents and queue processing. Nothing may crash, hang or leak. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/pci/pci.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/console.h"
#include "devices/virtio/rng.h"
#include "fuzz_virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SCRATCH 0x100000ull /* where the input's memory writes land */

static void msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
}

static int disk_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vs_guest_mem mem;
	static int ready;
	static char disk_path[64];
	struct vs_error err = { 0 };
	struct fuzz_board b;
	struct vs_device rng = { 0 }, blk = { 0 }, con = { 0 }, bal = { 0 };
	struct vs_device *devs[4] = { &rng, &blk, &con, &bal };
	struct fuzz_input c = { data, size };
	int ops = 0;

	if (!ready) {
		if (vs_guest_mem_create(&mem, VS_MEM_MIN, &err) < 0)
			abort();
		disk_fd = memfd_create("fuzz-disk", 0);
		if (disk_fd < 0 || ftruncate(disk_fd, 64 * 1024) < 0)
			abort();
		snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
		ready = 1;
	}
	fuzz_board_create(&b, &(struct vs_msi_sink){ msi_send, NULL });
	{
		struct vs_virtio_config env = fuzz_board_env(&b, &mem, 1);
		if (vs_virtio_rng_create(&env, &rng, &err) < 0)
			abort();
		env.slot = 2;
		struct vs_virtio_blk_config bc = {
			.path = disk_path, .format = "raw", .queues = 2, .id = "fuzz"
		};
		if (vs_virtio_blk_create(&env, &bc, &blk, &err) < 0)
			abort();
		/* The console reads a few bytes and then end of input (its
		 * hang-up path), and writes to /dev/null. */
		int in[2];
		if (pipe(in) < 0 || write(in[1], "fuzz", 4) != 4)
			abort();
		close(in[1]);
		struct vs_virtio_console_config cc = { .in_fd = in[0],
						       .out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC),
						       .listen_fd = -1 };
		env.slot = 3;
		if (vs_virtio_console_create(&env, &cc, &con, &err) < 0)
			abort();
		env.slot = 4;
		if (vs_virtio_balloon_create(&env, NULL, &bal, &err) < 0)
			abort();
	}
	while (c.n && ops++ < 256) {
		uint8_t op = (uint8_t)fuzz_take(&c, 1), buf[8] = { 0 };
		uint32_t sizes[4] = { 1, 2, 4, 8 };
		switch (op % 7) {
		case 0: { /* ECAM write */
			uint64_t off = fuzz_take(&c, 3) & 0xfffff;
			uint32_t sz = sizes[fuzz_take(&c, 1) & 3];
			uint64_t v = fuzz_take(&c, 8);
			memcpy(buf, &v, 8);
			vs_bus_write(&b.mmio, FUZZ_ECAM + off, buf, sz);
			break;
		}
		case 1: { /* ECAM read */
			uint64_t off = fuzz_take(&c, 3) & 0xfffff;
			vs_bus_read(&b.mmio, FUZZ_ECAM + off, buf, sizes[fuzz_take(&c, 1) & 3]);
			break;
		}
		case 2: { /* port I/O: 0xcf8-0xcff */
			uint16_t port = (uint16_t)(0xcf8 + (fuzz_take(&c, 1) & 7));
			uint32_t sz = sizes[fuzz_take(&c, 1) % 3];
			uint64_t v = fuzz_take(&c, 4);
			memcpy(buf, &v, 4);
			if (v & 1)
				vs_bus_write(&b.pio, port, buf, sz);
			else
				vs_bus_read(&b.pio, port, buf, sz);
			break;
		}
		case 3: { /* MMIO in the BAR window (virtio BARs, MSI-X tables) */
			uint64_t off = fuzz_take(&c, 3) & 0xffff;
			uint8_t mode = (uint8_t)fuzz_take(&c, 1);
			uint64_t v = fuzz_take(&c, 8);
			memcpy(buf, &v, 8);
			if (mode & 4)
				vs_bus_write(&b.mmio, FUZZ_M32 + off, buf, sizes[mode & 3]);
			else
				vs_bus_read(&b.mmio, FUZZ_M32 + off, buf, sizes[mode & 3]);
			break;
		}
		case 4: /* guest memory */
			fuzz_guest_write(&mem, SCRATCH, 0x10000, 2, &c);
			break;
		case 5: { /* the I/O thread's turn */
			uint8_t which = (uint8_t)fuzz_take(&c, 1);
			struct vs_device *d = devs[which & 3];
			/* Every device's record starts with its vs_virtio; queues
			 * past a device's last are ignored by the transport. */
			vs_virtio_process(*(struct vs_virtio **)d->opaque, (uint16_t)((which >> 2) % 4));
			if (d == &blk) /* and the block layer's completions */
				vs_virtio_blk_drain(&blk);
			break;
		}
		case 6: { /* a queue address in scratch memory, quickly */
			uint64_t v = SCRATCH + (fuzz_take(&c, 2) & ~0xfull);
			memcpy(buf, &v, 8);
			vs_bus_write(&b.mmio, FUZZ_M32 + (fuzz_take(&c, 2) & 0x3f), buf, 4);
			break;
		}
		}
	}
	for (int i = 0; i < 4; i++)
		devs[i]->destroy(devs[i]->opaque);
	fuzz_board_destroy(&b);
	return 0;
}
