/* The emulator accelerator: vs_accel_emu_ops. Each vCPU runs guest code
 * on the thread that calls vcpu_run, taking interrupts from the board's
 * userspace irqchip between instructions, and blocking (never spinning) in
 * HLT or while it waits for a start-up IPI. */
#include <errno.h>
#include <stdlib.h>

#include "accel/emu/cpu.h"
#include "accel/emu/emu.h"
#include "devices/irqchip/irqchip.h"

#define MAX_CPUS 64

struct vs_vcpu {
	struct vs_emu_cpu cpu;
};

static void wake(struct vs_emu_cpu *c)
{
	pthread_mutex_lock(&c->lock);
	c->wake = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* The irqchip may have something for this vCPU: look at the next
 * instruction boundary, and leave HLT. Never calls the chip. */
static void emu_vcpu_interrupt(struct vs_vcpu *v)
{
	struct vs_emu_cpu *c = &v->cpu;
	atomic_store(&c->irq_kicked, true);
	atomic_store(&c->attention, 1);
	wake(c);
}

static int emu_probe(struct vs_error *err)
{
	(void)err;
	return 0;
}

static int emu_create(const struct vs_accel_config *cfg, struct vs_accel **out, struct vs_error *err)
{
	struct vs_accel *acc;
	if (cfg->ncpus < 1 || cfg->ncpus > MAX_CPUS)
		return vs_error_msg(err, "the emulator runs 1 to %d vCPUs, not %d", MAX_CPUS, cfg->ncpus);
	acc = calloc(1, sizeof(*acc));
	if (!acc)
		return vs_error_set(err, ENOMEM, "emulator state");
	acc->cfg = *cfg;
	acc->ncpus = cfg->ncpus;
	vs_timebase_init(&acc->own_tb);
	*out = acc;
	return 0;
}

static void emu_destroy(struct vs_accel *acc)
{
	free(acc);
}

static int emu_vcpu_create(struct vs_accel *acc, int index, struct vs_vcpu **out, struct vs_error *err)
{
	struct vs_vcpu *v;
	struct vs_emu_cpu *c;
	if (index < 0 || index >= acc->ncpus)
		return vs_error_msg(err, "vCPU %d out of range", index);
	v = aligned_alloc(64, (sizeof(*v) + 63) & ~(size_t)63);
	if (!v)
		return vs_error_set(err, ENOMEM, "vCPU %d", index);
	memset(v, 0, sizeof(*v));
	c = &v->cpu;
	c->index = index;
	c->acc = acc;
	c->mem = acc->cfg.mem;
	c->pio = acc->cfg.pio;
	c->mmio = acc->cfg.mmio;
	c->irqchip = acc->cfg.irqchip;
	c->tb = acc->cfg.timebase ? acc->cfg.timebase : &acc->own_tb;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	vs_emu_reset(c);
	/* Application processors wait for INIT-SIPI-SIPI. */
	c->state = index == 0 ? CPU_RUNNING : CPU_WAIT_SIPI;
	/* Look at the chip once at start: kicks before the vCPU existed were
	 * dropped by the board. */
	atomic_store(&c->irq_kicked, true);
	atomic_store(&c->attention, 1);
	*out = v;
	return 0;
}

static void emu_vcpu_destroy(struct vs_vcpu *v)
{
	struct vs_emu_cpu *c;
	if (!v)
		return;
	c = &v->cpu;
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	vs_emu_blocks_free(c);
	free(v);
}

static int emu_vcpu_set_state(struct vs_vcpu *v, const struct vs_cpu_state *st, struct vs_error *err)
{
	(void)err;
	vs_emu_set_state(&v->cpu, st);
	return 0;
}

static int emu_vcpu_get_state(struct vs_vcpu *v, struct vs_cpu_state *st)
{
	vs_emu_get_state(&v->cpu, st);
	if (v->cpu.irqchip)
		st->cr8 = vs_irqchip_cr8(v->cpu.irqchip, v->cpu.index);
	return 0;
}

static void emu_vcpu_kick(struct vs_vcpu *v)
{
	struct vs_emu_cpu *c = &v->cpu;
	atomic_store(&c->stop, true);
	atomic_store(&c->attention, 1);
	wake(c);
}

static int emu_set_irq(struct vs_accel *acc, uint32_t gsi, int level)
{
	if (!acc->cfg.irqchip)
		return -ENODEV;
	vs_irqchip_set_irq(acc->cfg.irqchip, gsi, level);
	return 0;
}

/* Routes need no kernel object here: firing one is the direct call into
 * the userspace interrupt controllers the board would make itself. */
static int emu_msi_route_set(struct vs_accel *acc, uint32_t id, uint64_t addr, uint32_t data)
{
	if (id >= VS_ACCEL_MSI_ROUTES || !acc->cfg.irqchip)
		return -EINVAL;
	acc->msi_routes[id] = (struct vs_emu_msi_route){ addr, data };
	return 0;
}

static int emu_msi_route_fire(struct vs_accel *acc, uint32_t id)
{
	if (id >= VS_ACCEL_MSI_ROUTES || !acc->cfg.irqchip)
		return -EINVAL;
	/* How many LAPICs accepted it is the guest's business, as for INTx. */
	vs_irqchip_send_msi(acc->cfg.irqchip, acc->msi_routes[id].addr, acc->msi_routes[id].data);
	return 0;
}

void vs_emu_hlt(struct vs_emu_cpu *c)
{
	c->state = CPU_HALTED;
	atomic_store(&c->attention, 1);
}

/* INIT: reset to the wait-for-SIPI state (the BSP too, as on hardware). */
static void do_init(struct vs_emu_cpu *c)
{
	vs_emu_reset(c);
	c->state = CPU_WAIT_SIPI;
}

static void do_sipi(struct vs_emu_cpu *c, uint8_t vector)
{
	vs_emu_reset(c);
	c->seg[S_CS].selector = (uint16_t)(vector << 8);
	c->seg[S_CS].base = (uint64_t)vector << 12;
	c->rip = 0;
	c->state = CPU_RUNNING;
	vs_emu_update_mode(c);
}

static bool contributory(int v)
{
	return v == EX_DE || v == EX_TS || v == EX_NP || v == EX_SS || v == EX_GP;
}

/* Deliver the exception recorded by vs_emu_raise (or an interrupt put in
 * its place). A fault while delivering follows the architecture's
 * classes: after a benign event it is simply delivered; contributory
 * after contributory, or anything but a benign fault after #PF, becomes
 * #DF; a fault while delivering #DF shuts the CPU down (triple fault). */
static void handle_exception(struct vs_emu_cpu *c)
{
	jmp_buf jb;
	jmp_buf *outer = c->jb;
	/* Changed between setjmp and longjmp: volatile. */
	volatile int vector = c->exc_vector;
	volatile uint32_t error = c->exc_error;
	volatile bool has_error = c->exc_has_error;
	c->jb = &jb;
	for (;;) {
		int second;
		if (setjmp(jb) == 0) {
			vs_emu_deliver(c, vector, false, has_error, error);
			break;
		}
		second = c->exc_vector;
		if (vector == EX_DF) {
			c->shutdown = true;
			snprintf(c->shutdown_detail, sizeof(c->shutdown_detail),
				 "triple fault: vector %d while delivering #DF", second);
			break;
		}
		if ((contributory(vector) && contributory(second)) ||
		    (vector == EX_PF && (contributory(second) || second == EX_PF))) {
			vector = EX_DF;
			error = 0;
			has_error = true;
		} else {
			vector = second;
			error = c->exc_error;
			has_error = c->exc_has_error;
		}
	}
	c->jb = outer;
}

#define DR6_BS (1ull << 14) /* single-step */

/* DR0-3 armed in DR7 (local or global enable) as instruction breakpoints
 * (R/W = 00); data breakpoints are not implemented. */
static unsigned exec_breakpoints(const struct vs_emu_cpu *c)
{
	unsigned mask = 0;
	for (int i = 0; i < 4; i++)
		if (((c->dr[7] >> (2 * i)) & 3) && ((c->dr[7] >> (16 + 4 * i)) & 3) == 0)
			mask |= 1u << i;
	return mask;
}

static void raise_debug(struct vs_emu_cpu *c)
{
	c->exc_vector = EX_DB;
	c->exc_error = 0;
	c->exc_has_error = false;
	handle_exception(c);
}

/* One instruction under TF or armed breakpoints, outside the decoded
 * blocks: an instruction breakpoint is a fault before the instruction
 * (unless RF is set), single-step a trap after it when TF was set at its
 * start (not after a software interrupt, which clears TF itself, nor
 * under a MOV SS/POP SS shadow, as the SDM has it). */
static void debug_step(struct vs_emu_cpu *c)
{
	unsigned bp = exec_breakpoints(c), hit = 0;
	bool tf = c->rflags & F_TF;
	if (bp && !(c->rflags & F_RF)) {
		uint64_t la = c->long64 ? c->rip : (uint32_t)(c->seg[S_CS].base + c->rip);
		for (int i = 0; i < 4; i++)
			if ((bp & (1u << i)) && c->dr[i] == la)
				hit |= 1u << i;
		if (hit) {
			c->dr[6] = (c->dr[6] & ~0xfull) | hit;
			raise_debug(c);
			return;
		}
	}
	c->soft_int = false;
	c->shadow = false;
	c->rflags &= ~F_RF; /* completing the instruction clears it (IRET may load it) */
	vs_emu_step(c);
	c->icount++;
	if (tf && !c->soft_int && !c->shadow && c->state == CPU_RUNNING) {
		c->dr[6] |= DR6_BS;
		raise_debug(c);
	}
}

/* Take what the irqchip has for us: INIT/SIPI, NMI, an interrupt when
 * IF = 1. Returns whether anything can run. */
static void service_irqchip(struct vs_emu_cpu *c)
{
	uint8_t vec;
	enum vs_irqchip_event ev;
	if (!c->irqchip)
		return;
	atomic_store(&c->irq_kicked, false);
	while ((ev = vs_irqchip_take_event(c->irqchip, c->index, &vec)) != VS_IRQCHIP_NONE) {
		if (ev == VS_IRQCHIP_INIT)
			do_init(c);
		else if (c->state == CPU_WAIT_SIPI)
			do_sipi(c, vec);
	}
	if (c->state == CPU_WAIT_SIPI)
		return;
	if (!c->nmi_blocked && vs_irqchip_take_nmi(c->irqchip, c->index)) {
		c->state = CPU_RUNNING;
		c->nmi_blocked = true;
		c->exc_vector = EX_NMI;
		c->exc_has_error = false;
		handle_exception(c);
		atomic_store(&c->irq_kicked, true); /* look again for interrupts */
		return;
	}
	c->irq_waiting = false;
	if (vs_irqchip_pending(c->irqchip, c->index) < 0)
		return;
	if (!(c->rflags & F_IF) || c->shadow) {
		c->irq_waiting = true;
		return;
	}
	{
		int v = vs_irqchip_ack(c->irqchip, c->index);
		if (v < 0)
			return;
		c->state = CPU_RUNNING;
		c->exc_vector = v;
		c->exc_has_error = false;
		/* An external interrupt is delivered like a fault without an
		 * error code; a failure during delivery escalates the same way.
		 * More may be pending behind it: look again next time. */
		handle_exception(c);
		atomic_store(&c->irq_kicked, true);
	}
}

/* Block until something may have changed for a halted or waiting CPU. */
static void wait_for_wake(struct vs_emu_cpu *c)
{
	pthread_mutex_lock(&c->lock);
	while (!c->wake && !atomic_load(&c->stop))
		pthread_cond_wait(&c->cond, &c->lock);
	c->wake = false;
	pthread_mutex_unlock(&c->lock);
}

static int run_loop(struct vs_vcpu *v, struct vs_exit *exit)
{
	struct vs_emu_cpu *c = &v->cpu;
	jmp_buf jb;
	memset(exit, 0, sizeof(*exit));
	c->jb = &jb;
	for (;;) {
		bool look;
		if (atomic_load(&c->stop)) {
			atomic_store(&c->stop, false);
			exit->kind = VS_EXIT_INTR;
			return 0;
		}
		if (c->shutdown) {
			exit->kind = VS_EXIT_SHUTDOWN;
			snprintf(exit->detail, sizeof(exit->detail), "%s",
				 c->shutdown_detail[0] ? c->shutdown_detail : "triple fault");
			c->shutdown = false;
			c->shutdown_detail[0] = 0;
			c->state = CPU_WAIT_SIPI; /* stays down until INIT/SIPI */
			return 0;
		}
		if (c->icount_stop && c->icount >= c->icount_stop) {
			c->icount_stop = 0;
			exit->kind = VS_EXIT_INTR;
			return 0;
		}
		atomic_store(&c->attention, 0);
		look = atomic_load(&c->irq_kicked) || c->state == CPU_HALTED ||
		       (c->irq_waiting && (c->rflags & F_IF) && !c->shadow);
		if (c->irqchip && look) {
			/* Clear `wake` before looking at the chip, so that a kick
			 * landing after the look is not lost. */
			pthread_mutex_lock(&c->lock);
			c->wake = false;
			pthread_mutex_unlock(&c->lock);
			if (setjmp(jb) == 0)
				service_irqchip(c);
			else
				handle_exception(c);
			if (c->shutdown)
				continue;
		}
		if (c->state != CPU_RUNNING) {
			if (!c->irqchip) {
				/* Nothing could ever wake it. */
				exit->kind = VS_EXIT_HLT;
				return 0;
			}
			wait_for_wake(c);
			continue;
		}
		if (setjmp(jb) != 0) {
			/* A fault counts as an instruction, so that a guest stuck
			 * faulting still reaches a step limit. */
			c->icount++;
			vs_emu_blocks_fault(c);
			handle_exception(c);
			continue;
		}
		if ((c->rflags & F_TF) || (c->dr[7] & 0xff)) {
			debug_step(c);
			continue;
		}
		if (c->shadow) {
			/* One instruction under the interrupt shadow. */
			c->shadow = false;
			vs_emu_step(c);
			c->icount++;
			continue;
		}
		vs_emu_run_blocks(c);
	}
}

/* Add this vCPU's counts since the last exit to the accelerator's, for the
 * report (vCPU threads return here before the VM stops). */
static void flush_stats(struct vs_emu_cpu *c)
{
	struct vs_emu_stats *st = &c->acc->stats;
	atomic_fetch_add(&st->insns, c->icount - c->icount_reported);
	c->icount_reported = c->icount;
	for (int map = 0; map < 2; map++)
		for (int op = 0; op < 256; op++)
			if (c->interp[map][op]) {
				atomic_fetch_add(&st->interp[map][op], c->interp[map][op]);
				c->interp[map][op] = 0;
			}
}

static int emu_vcpu_run(struct vs_vcpu *v, struct vs_exit *exit)
{
	int rc = run_loop(v, exit);
	flush_stats(&v->cpu);
	return rc;
}

void vs_emu_set_step_limit(struct vs_vcpu *v, uint64_t steps)
{
	v->cpu.icount_stop = steps ? v->cpu.icount + steps : 0;
}

uint64_t vs_emu_instructions(struct vs_vcpu *v)
{
	return v->cpu.icount;
}

/* Opcodes that ran in the interpreter, most frequent first. */
static void report_interpreted(struct vs_accel *acc, FILE *out)
{
	enum { TOP = 12 };
	uint64_t n[2 * 256], all = 0, total = atomic_load(&acc->stats.insns);
	for (int i = 0; i < 2 * 256; i++) {
		n[i] = atomic_load(&acc->stats.interp[i / 256][i % 256]);
		all += n[i];
	}
	fprintf(out, "emu: %llu guest instructions, %llu (%.2f%%) in the interpreter\n",
		(unsigned long long)total, (unsigned long long)all,
		total ? 100.0 * (double)all / (double)total : 0.0);
	for (int k = 0; k < TOP; k++) {
		int best = 0;
		for (int i = 1; i < 2 * 256; i++)
			if (n[i] > n[best])
				best = i;
		if (!n[best])
			break;
		fprintf(out, "emu:   interpreted %s%02x: %llu\n", best >= 256 ? "0f " : "", best % 256,
			(unsigned long long)n[best]);
		n[best] = 0;
	}
}

void vs_emu_report(struct vs_accel *acc, FILE *out)
{
	static const char *const prefix[] = { "", "0f ", "0f 38/3a " };
	report_interpreted(acc, out);
	for (int map = 0; map < 3; map++)
		for (int op = 0; op < 256; op++) {
			uint64_t n = atomic_load(&acc->stats.ud[map][op]);
			if (n)
				fprintf(out, "emu: unimplemented opcode %s%02x: %llu\n", prefix[map], op,
					(unsigned long long)n);
		}
}

const struct vs_accel_ops vs_accel_emu_ops = {
	.name = "emu",
	.probe = emu_probe,
	.needs_irqchip = true,
	.create = emu_create,
	.destroy = emu_destroy,
	.vcpu_create = emu_vcpu_create,
	.vcpu_destroy = emu_vcpu_destroy,
	.vcpu_set_state = emu_vcpu_set_state,
	.vcpu_get_state = emu_vcpu_get_state,
	.vcpu_run = emu_vcpu_run,
	.vcpu_kick = emu_vcpu_kick,
	.vcpu_interrupt = emu_vcpu_interrupt,
	.set_irq = emu_set_irq,
	.report = vs_emu_report,
	.msi_route_set = emu_msi_route_set,
	.msi_route_fire = emu_msi_route_fire,
};
