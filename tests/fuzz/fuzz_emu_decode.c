/* libFuzzer target: any byte string as guest code on the emulated CPU, in
 * real, 32-bit or 64-bit mode (chosen by the first byte), for a bounded
 * number of instructions. It must never crash or hang vessel, nor touch
 * memory outside guest RAM (AddressSanitizer watches the host). The same
 * bytes also fill the IDT area so that exceptions land somewhere. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../unit/emu/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STEPS 4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One guest for the whole process; its RAM is zeroed per input. */
	static struct emu_t t;
	static int ready;
	struct vs_error err;
	uint8_t mode;
	if (!ready) {
		if (emu_t_init(&t) < 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	if (size > 0x4000)
		size = 0x4000;
	madvise(t.mem.base, t.mem.total, MADV_DONTNEED);
	if (mode == 0)
		emu_t_long64(&t);
	else if (mode == 1)
		emu_t_prot32(&t);
	else
		emu_t_real(&t);
	vs_gpa_write(&t.mem, CODE, data, size);
	/* IDT entries made of the input too: wild handlers, odd gates. */
	vs_gpa_write(&t.mem, IDT_BASE + 0x100, data, size < 0xf00 ? size : 0xf00);
	if (vs_accel_emu_ops.vcpu_set_state(t.vcpu, &t.st, &err) < 0)
		abort();
	vs_emu_set_step_limit(t.vcpu, STEPS);
	for (int i = 0; i < 4; i++) {
		/* Returns on the step limit, HLT, shutdown or the stop port. */
		if (vs_accel_emu_ops.vcpu_run(t.vcpu, &t.exit) < 0)
			abort();
		if (t.exit.kind != VS_EXIT_INTR)
			break;
		if (vs_emu_instructions(t.vcpu) == 0)
			break;
		vs_emu_set_step_limit(t.vcpu, STEPS / 4);
	}
	vs_emu_set_step_limit(t.vcpu, 0);
	return 0;
}
