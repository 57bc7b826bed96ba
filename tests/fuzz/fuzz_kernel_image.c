/* libFuzzer target: any byte string handed to the kernel loaders must be
 * either loaded or refused with a message, never crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "machine/boot/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Mapping guest RAM per input would dominate the run time: one
	 * small guest is kept for the whole process (and reclaimed at exit). */
	static struct vs_guest_mem mem;
	static int ready;
	static const uint8_t initrd[4096] = { 'i', 'n', 'i', 't', 'r', 'd' };
	struct vs_boot_params p = {
		.kernel = data,
		.kernel_len = size,
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.cmdline = "console=ttyS0 panic=-1",
		.rsdp_addr = 0xe0000,
	};
	struct vs_boot_info info;
	struct vs_error err;
	enum vs_boot_kind kind;
	int probed, loaded;

	if (!ready) {
		if (vs_guest_mem_create(&mem, 64 * VS_MiB, &err) < 0)
			abort();
		ready = 1;
	}
	vs_error_clear(&err);
	probed = vs_boot_probe(data, size, &kind, &err);
	vs_error_clear(&err);
	loaded = vs_boot_load(&mem, &p, &info, &err);

	/* Invariants worth a crash report: a load implies a probe; a refusal
	 * always says why; what was loaded lies in guest RAM. */
	if (loaded == 0 && (probed != 0 || kind != info.kind))
		abort();
	if (loaded < 0 && err.msg[0] == '\0')
		abort();
	if (loaded == 0) {
		if (info.kernel_end < info.kernel_start ||
		    memchr(info.version, '\0', sizeof(info.version)) == NULL)
			abort();
		if (info.initrd_addr && !vs_gpa_ptr(&mem, info.initrd_addr, sizeof(initrd)))
			abort();
	}
	return 0;
}
