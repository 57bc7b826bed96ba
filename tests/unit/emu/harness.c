#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void port_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	(void)opaque;
	(void)offset;
	memset(data, 0x5a, size);
}

static void port_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct emu_t *t = opaque;
	(void)size;
	if (offset == 0) {
		t->stops++;
		vs_accel_emu_ops.vcpu_kick(t->vcpu);
	} else if (t->nout < sizeof(t->out)) {
		t->out[t->nout++] = data[0];
	}
}

static const struct vs_bus_ops port_ops = { .read = port_read, .write = port_write };

int emu_t_init(struct emu_t *t)
{
	struct vs_error err = { 0 };
	struct vs_accel_config cfg;
	memset(t, 0, sizeof(*t));
	/* The JIT compiles every block on its first run here (unless the
	 * environment says otherwise, e.g. VESSEL_EMU_JIT=0 for the records),
	 * so that the tests' short snippets run as host code. */
	setenv("VESSEL_EMU_JIT_HOT", "1", 0);
	vs_bus_init(&t->pio, "pio");
	vs_bus_init(&t->mmio, "mmio");
	if (vs_guest_mem_create(&t->mem, 16 * VS_MiB, &err) < 0 ||
	    vs_bus_register(&t->pio, STOP_PORT, 2, &port_ops, t, "test", &err) < 0)
		goto fail;
	cfg = (struct vs_accel_config){ .ncpus = 1, .mem = &t->mem, .pio = &t->pio, .mmio = &t->mmio };
	if (vs_accel_emu_ops.create(&cfg, &t->acc, &err) < 0 ||
	    vs_accel_emu_ops.vcpu_create(t->acc, 0, &t->vcpu, &err) < 0)
		goto fail;
	return 0;
fail:
	printf("# harness: %s\n", err.msg);
	return -1;
}

void emu_t_fini(struct emu_t *t)
{
	if (t->vcpu)
		vs_accel_emu_ops.vcpu_destroy(t->vcpu);
	if (t->acc)
		vs_accel_emu_ops.destroy(t->acc);
	vs_guest_mem_release(&t->mem);
	vs_bus_release(&t->pio);
	vs_bus_release(&t->mmio);
}

void *emu_t_ptr(struct emu_t *t, uint64_t gpa)
{
	return vs_gpa_ptr(&t->mem, gpa, 8);
}

uint64_t emu_t_read64(struct emu_t *t, uint64_t gpa)
{
	uint64_t v = 0;
	vs_gpa_read(&t->mem, gpa, &v, 8);
	return v;
}

void emu_t_write64(struct emu_t *t, uint64_t gpa, uint64_t v)
{
	vs_gpa_write(&t->mem, gpa, &v, 8);
}

void emu_t_code(struct emu_t *t, const uint8_t *start, const uint8_t *end)
{
	vs_gpa_write(&t->mem, CODE, start, (uint64_t)(end - start));
}

static void seg(struct vs_segment *s, uint16_t sel, uint8_t type, bool l, bool db, uint8_t dpl)
{
	*s = (struct vs_segment){ .base = 0,
				  .limit = 0xffffffff,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .dpl = dpl,
				  .db = db,
				  .s = 1,
				  .l = l,
				  .g = 1 };
}

static void tables(struct emu_t *t)
{
	static const uint64_t gdt[] = {
		0,
		0x00af9a000000ffffull, /* 0x08 64-bit code */
		0x00cf92000000ffffull, /* 0x10 data */
		0x00cf9a000000ffffull, /* 0x18 32-bit code */
		0x00009a010000ffffull, /* 0x20 16-bit code, base CODE */
		0x00cff2000000ffffull, /* 0x28 user data */
		0x00affa000000ffffull, /* 0x30 user 64-bit code */
		0,		       /* 0x38 TSS (16 bytes), filled below */
		0,
	};
	uint64_t tss_lo = 0x67 | ((TSS_BASE & 0xffffff) << 16) | (0x89ull << 40) | ((TSS_BASE >> 24) << 56);
	vs_gpa_write(&t->mem, GDT_BASE, gdt, sizeof(gdt));
	emu_t_write64(t, GDT_BASE + 0x38, tss_lo);
	/* Identity map, 2 MiB pages, first 1 GiB, writable and user. */
	emu_t_write64(t, PML4, 0x2000 | 7);
	emu_t_write64(t, 0x2000, 0x3000 | 7);
	for (uint64_t i = 0; i < 512; i++)
		emu_t_write64(t, 0x3000 + i * 8, (i << 21) | 0x87);
}

void emu_t_long64(struct emu_t *t)
{
	struct vs_cpu_state *s = &t->st;
	tables(t);
	memset(s, 0, sizeof(*s));
	seg(&s->cs, SEL_CODE64, 0xb, true, false, 0);
	seg(&s->ds, SEL_DATA, 0x3, false, true, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->tr = (struct vs_segment){
		.base = TSS_BASE, .limit = 0x67, .selector = SEL_TSS, .type = 0xb, .present = 1
	};
	s->ldt = (struct vs_segment){ .type = 2, .present = 1, .unusable = 1 };
	s->gdt = (struct vs_dtable){ GDT_BASE, 0x47 };
	s->idt = (struct vs_dtable){ IDT_BASE, 0xfff };
	s->cr0 = VS_CR0_PE | VS_CR0_PG | VS_CR0_ET | (1ull << 16);
	s->cr3 = PML4;
	s->cr4 = VS_CR4_PAE | (1ull << 9);
	s->efer = VS_EFER_LME | VS_EFER_LMA | (1ull << 11) | 1;
	s->rip = CODE;
	s->rsp = STACK_TOP;
	s->rflags = 2;
}

void emu_t_prot32(struct emu_t *t)
{
	struct vs_cpu_state *s = &t->st;
	tables(t);
	memset(s, 0, sizeof(*s));
	seg(&s->cs, SEL_CODE32, 0xb, false, true, 0);
	seg(&s->ds, SEL_DATA, 0x3, false, true, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->tr = (struct vs_segment){ .type = 0xb, .present = 1, .limit = 0xffff };
	s->ldt = (struct vs_segment){ .type = 2, .present = 1, .unusable = 1 };
	s->gdt = (struct vs_dtable){ GDT_BASE, 0x47 };
	s->idt = (struct vs_dtable){ IDT_BASE, 0x7ff };
	s->cr0 = VS_CR0_PE | VS_CR0_ET;
	s->rip = CODE;
	s->rsp = STACK_TOP;
	s->rflags = 2;
}

void emu_t_real(struct emu_t *t)
{
	struct vs_cpu_state *s = &t->st;
	tables(t);
	memset(s, 0, sizeof(*s));
	s->cs = (struct vs_segment){
		.base = CODE, .limit = 0xffff, .selector = CODE >> 4, .type = 0xb, .present = 1, .s = 1
	};
	s->ds = (struct vs_segment){ .limit = 0xffff, .type = 3, .present = 1, .s = 1 };
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->tr = (struct vs_segment){ .type = 0xb, .present = 1, .limit = 0xffff };
	s->ldt = (struct vs_segment){ .type = 2, .present = 1 };
	s->gdt = (struct vs_dtable){ 0, 0xffff };
	s->idt = (struct vs_dtable){ 0, 0x3ff };
	s->cr0 = VS_CR0_ET;
	s->rip = 0;
	s->rsp = 0x8000;
	s->rflags = 2;
}

void emu_t_gate64(struct emu_t *t, int vector, uint64_t handler, int ist, int dpl)
{
	uint64_t lo = (handler & 0xffff) | ((uint64_t)SEL_CODE64 << 16) | ((uint64_t)(ist & 7) << 32) |
		      (0x8eull << 40) | ((uint64_t)(dpl & 3) << 45) | (((handler >> 16) & 0xffff) << 48);
	emu_t_write64(t, IDT_BASE + (uint64_t)vector * 16, lo);
	emu_t_write64(t, IDT_BASE + (uint64_t)vector * 16 + 8, handler >> 32);
}

struct watchdog {
	struct emu_t *t;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	bool fired;
};

static void *watch(void *opaque)
{
	struct watchdog *w = opaque;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0)
			break;
	if (!w->done) {
		w->fired = true;
		vs_accel_emu_ops.vcpu_kick(w->t->vcpu);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

enum vs_exit_kind emu_t_resume(struct emu_t *t)
{
	struct watchdog w = { .t = t };
	pthread_t th;
	unsigned stops = t->stops;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	pthread_create(&th, NULL, watch, &w);
	for (;;) {
		int rc = vs_accel_emu_ops.vcpu_run(t->vcpu, &t->exit);
		if (rc < 0) {
			t->exit.kind = VS_EXIT_UNKNOWN;
			break;
		}
		if (t->exit.kind != VS_EXIT_INTR || t->stops != stops || w.fired)
			break;
	}
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(th, NULL);
	if (w.fired && t->stops == stops) {
		printf("#   run did not stop (watchdog)\n");
		t->exit.kind = VS_EXIT_UNKNOWN;
	}
	vs_accel_emu_ops.vcpu_get_state(t->vcpu, &t->st);
	return t->exit.kind;
}

enum vs_exit_kind emu_t_run(struct emu_t *t)
{
	struct vs_error err;
	vs_accel_emu_ops.vcpu_set_state(t->vcpu, &t->st, &err);
	return emu_t_resume(t);
}
