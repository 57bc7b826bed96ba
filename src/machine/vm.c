/* VM lifecycle and the run loop: one thread per vCPU dispatching exits to
 * the buses, and the calling thread serving the console until a stop. */
#include "machine/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/irqchip/irqchip.h"
#include "machine/doorbell.h"
#include "machine/pc.h"
#include "util/cleanup.h"
#include "util/iothread.h"
#include "util/loop.h"

int vs_vm_config_check(const struct vs_vm_config *cfg, struct vs_error *err)
{
	if (!cfg->kernel_path)
		return vs_error_msg(err, "no kernel given: use --kernel PATH");
	if (cfg->ncpus < 1 || cfg->ncpus > VS_MAX_CPUS)
		return vs_error_msg(err, "%d vCPUs requested: vessel supports 1 to %d", cfg->ncpus,
				    VS_MAX_CPUS);
	if (cfg->mem_size < VS_MEM_MIN)
		return vs_error_msg(err, "guest memory of %llu bytes is too small: the minimum is 16M",
				    (unsigned long long)cfg->mem_size);
	if (cfg->mem_size & 0xfff)
		return vs_error_msg(err, "guest memory must be a multiple of 4 KiB");
	if (cfg->nnics < 0 || cfg->nnics > VS_MAX_NICS)
		return vs_error_msg(err, "%d NICs given: vessel supports up to %d", cfg->nnics, VS_MAX_NICS);
	if (cfg->ndisks < 0 || cfg->ndisks > VS_MAX_DISKS)
		return vs_error_msg(err, "%d disks given: vessel supports up to %d", cfg->ndisks,
				    VS_MAX_DISKS);
	if (cfg->mem_size > 1024 * VS_GiB)
		return vs_error_msg(err, "guest memory of %llu GiB is more than the 1024 GiB supported",
				    (unsigned long long)(cfg->mem_size / VS_GiB));
	if (!cfg->console)
		return vs_error_msg(err, "internal: VM config lacks a console");
	return 0;
}

void vs_vm_request_stop(struct vs_vm *vm, enum vs_stop_reason reason, int status)
{
	uint64_t one = 1;
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->stop_reason = reason;
		switch (reason) {
		case VS_STOP_POWEROFF:
		case VS_STOP_RESET:
		case VS_STOP_USER:
			vm->exit_status = 0;
			break;
		case VS_STOP_DEBUG_EXIT:
			vm->exit_status = status;
			break;
		case VS_STOP_CRASH:
			vm->exit_status = 3;
			break;
		case VS_STOP_HOST_ERROR:
			vm->exit_status = 2;
			break;
		}
		atomic_store(&vm->stopping, true);
		if (write(vm->wake_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow with one write */
		}
		for (int i = 0; i < vm->cfg.ncpus; i++)
			if (vm->vcpus[i])
				vm->accel_ops->vcpu_kick(vm->vcpus[i]);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

void vs_vm_destroy(struct vs_vm *vm)
{
	if (!vm)
		return;
	/* Device work stops before the memory it works on goes away, and the
	 * irqchip's timer thread, which kicks vCPUs, before they go. */
	vs_iothread_stop(vm->iothread);
	vs_irqchip_destroy(vm->irqchip);
	vm->irqchip = NULL;
	/* Guest RAM goes first: with no host mapping left, KVM has no guest
	 * page tables to tear down one by one when the VM is destroyed (the
	 * same order the kernel uses when a VMM simply exits). No vCPU runs
	 * any more, so nothing can touch the memory in between. */
	vs_guest_mem_release(&vm->mem);
	for (int i = 0; i < VS_MAX_CPUS; i++)
		if (vm->vcpus[i])
			vm->accel_ops->vcpu_destroy(vm->vcpus[i]);
	if (vm->accel)
		vm->accel_ops->destroy(vm->accel);
	vm->accel = NULL; /* devices unbinding their doorbells must not reach it */
	vs_pc_remove_devices(vm);
	vs_pc_doorbells_release(vm);
	vs_bus_release(&vm->pio);
	vs_bus_release(&vm->mmio);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->doorbell_lock);
	free(vm);
}

int vs_vm_create(const struct vs_vm_config *cfg, struct vs_vm **out, struct vs_error *err)
{
	struct vs_vm *vm;
	if (vs_vm_config_check(cfg, err) < 0)
		return -1;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vs_error_set(err, ENOMEM, "allocating the VM");
	vm->cfg = *cfg;
	vm->wake_fd = -1;
	vm->unclaimed_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	vm->irq_error_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->doorbell_lock, NULL);
	vs_bus_init(&vm->pio, "port I/O");
	vs_bus_init(&vm->mmio, "MMIO");
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0) {
		vs_error_set(err, errno, "eventfd");
		goto fail;
	}
	if (vs_guest_mem_create(&vm->mem, cfg->mem_size, err) < 0)
		goto fail;
	if (vs_pc_add_devices(vm, err) < 0 || vs_pc_load(vm, err) < 0)
		goto fail;
	*out = vm;
	return 0;
fail:
	vs_vm_destroy(vm);
	return -1;
}

int vs_vm_attach_accel(struct vs_vm *vm, const struct vs_accel_ops *ops, struct vs_error *err)
{
	struct vs_accel_config acfg = {
		.ncpus = vm->cfg.ncpus,
		.mem = &vm->mem,
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.timebase = &vm->timebase,
	};
	if (vm->accel_ops)
		return vs_error_msg(err, "internal: the VM already has an accelerator");
	vm->accel_ops = ops;
	vs_timebase_init(&vm->timebase);
	if (ops->needs_irqchip) {
		if (vs_pc_add_irqchip(vm, err) < 0)
			return -1;
		acfg.irqchip = vm->irqchip;
	}
	if (ops->create(&acfg, &vm->accel, err) < 0)
		return vs_error_prefix(err, "%s: ", ops->name);
	vs_pc_doorbells_attach(vm);
	for (int i = 0; i < vm->cfg.ncpus; i++)
		if (ops->vcpu_create(vm->accel, i, &vm->vcpus[i], err) < 0)
			return -1;
	if (ops->vcpu_set_state(vm->vcpus[0], &vm->boot.bsp, err) < 0)
		return vs_error_prefix(err, "setting the boot CPU's entry state: ");
	return 0;
}

static void handle_io(struct vs_vm *vm, const struct vs_exit *e)
{
	for (uint32_t i = 0; i < e->io.count; i++) {
		uint8_t *data = e->io.data + (size_t)i * e->io.size;
		bool claimed = e->io.is_write ? vs_bus_write(&vm->pio, e->io.port, data, e->io.size)
					      : vs_bus_read(&vm->pio, e->io.port, data, e->io.size);
		if (!claimed && vs_ratelimit_ok(&vm->unclaimed_log))
			vs_debug("guest %s unclaimed port 0x%x", e->io.is_write ? "wrote" : "read",
				 e->io.port);
	}
}

static void handle_mmio(struct vs_vm *vm, const struct vs_exit *e)
{
	bool claimed = e->mmio.is_write ? vs_bus_write(&vm->mmio, e->mmio.gpa, e->mmio.data, e->mmio.len)
					: vs_bus_read(&vm->mmio, e->mmio.gpa, e->mmio.data, e->mmio.len);
	if (!claimed && vs_ratelimit_ok(&vm->unclaimed_log))
		vs_debug("guest %s unclaimed MMIO address 0x%llx", e->mmio.is_write ? "wrote" : "read",
			 (unsigned long long)e->mmio.gpa);
}

struct vcpu_thread_arg {
	struct vs_vm *vm;
	int index;
};

static void *vcpu_thread(void *opaque)
{
	struct vcpu_thread_arg *arg = opaque;
	struct vs_vm *vm = arg->vm;
	int index = arg->index;
	struct vs_vcpu *vcpu = vm->vcpus[index];
	const struct vs_accel_ops *ops = vm->accel_ops;
	struct vs_exit e;
	free(arg);
	while (!atomic_load(&vm->stopping)) {
		int rc = ops->vcpu_run(vcpu, &e);
		if (rc < 0) {
			pthread_mutex_lock(&vm->stop_lock);
			if (!atomic_load(&vm->stopping))
				snprintf(vm->report, sizeof(vm->report), "running vCPU %d failed: %s\n",
					 index, strerror(-rc));
			pthread_mutex_unlock(&vm->stop_lock);
			vs_vm_request_stop(vm, VS_STOP_HOST_ERROR, 0);
			break;
		}
		switch (e.kind) {
		case VS_EXIT_IO:
			handle_io(vm, &e);
			break;
		case VS_EXIT_MMIO:
			handle_mmio(vm, &e);
			break;
		case VS_EXIT_INTR:
			break;
		case VS_EXIT_POWEROFF:
			vs_vm_request_stop(vm, VS_STOP_POWEROFF, 0);
			break;
		case VS_EXIT_RESET:
			vs_vm_request_stop(vm, VS_STOP_RESET, 0);
			break;
		case VS_EXIT_HLT:
			e.kind = VS_EXIT_UNKNOWN;
			snprintf(e.detail, sizeof(e.detail),
				 "halted with no interrupt controller to wake it");
			/* fall through */
		case VS_EXIT_SHUTDOWN:
		case VS_EXIT_INTERNAL:
		case VS_EXIT_FAIL_ENTRY:
		case VS_EXIT_UNKNOWN:
			pthread_mutex_lock(&vm->stop_lock);
			if (!atomic_load(&vm->stopping))
				vs_pc_crash_report(vm, vcpu, index, e.detail);
			pthread_mutex_unlock(&vm->stop_lock);
			vs_vm_request_stop(vm, VS_STOP_CRASH, 0);
			break;
		}
	}
	return NULL;
}

/* The console side of a running VM, on the event loop: input goes to the
 * console's device only while it can take it, so a fast paste is paced by
 * the guest, not dropped; a stop request (wake_fd) or a stop signal ends
 * the loop. */
struct console_ctx {
	struct vs_vm *vm;
	struct vs_loop *loop;
	int signal_fd;
	/* Regular files (stdin redirected from one) cannot be watched by
	 * epoll: they are always readable, so they are read on a timer. */
	bool in_is_file;
	uint8_t pending[256];
	size_t npending, sent;
};

static void on_console_input(void *opaque, uint32_t events);

static void read_file_input(void *opaque)
{
	on_console_input(opaque, EPOLLIN);
}

static void console_offer(void *opaque)
{
	struct console_ctx *c = opaque;
	int in_fd = c->vm->cfg.console->in_fd;
	c->sent += vs_char_receive(&c->vm->console_in, c->pending + c->sent, c->npending - c->sent);
	if (c->sent < c->npending) {
		/* Device full: stop reading input, retry once the guest drained it. */
		if (!c->in_is_file)
			vs_loop_set_events(c->loop, in_fd, 0);
		vs_loop_retry_after(c->loop, 5, console_offer, c);
	} else if (c->in_is_file) {
		vs_loop_retry_after(c->loop, 1, read_file_input, c);
	} else if (in_fd >= 0) {
		vs_loop_set_events(c->loop, in_fd, EPOLLIN);
	}
}

static void on_console_input(void *opaque, uint32_t events)
{
	struct console_ctx *c = opaque;
	struct vs_console *con = c->vm->cfg.console;
	uint8_t raw[sizeof(c->pending)];
	bool quit;
	ssize_t n = read(con->in_fd, raw, sizeof(raw));
	(void)events;
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		/* EOF or error: the guest just gets no more input. */
		if (!c->in_is_file)
			vs_loop_remove(c->loop, con->in_fd);
		con->in_fd = -1;
		return;
	}
	c->npending = vs_console_filter(con, raw, (size_t)n, c->pending, &quit);
	c->sent = 0;
	if (quit)
		vs_vm_request_stop(c->vm, VS_STOP_USER, 0);
	console_offer(c);
}

static void on_stop_signal(void *opaque, uint32_t events)
{
	struct console_ctx *c = opaque;
	struct signalfd_siginfo si;
	(void)events;
	/* Consume it, or it stays pending and kills the process once the
	 * caller unblocks it. */
	if (read(c->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		c->vm->stop_signal = (int)si.ssi_signo;
	vs_vm_request_stop(c->vm, VS_STOP_USER, 0);
	vs_loop_stop(c->loop);
}

static void on_wake(void *opaque, uint32_t events)
{
	struct console_ctx *c = opaque;
	(void)events;
	if (atomic_load(&c->vm->stopping))
		vs_loop_stop(c->loop);
}

/* Serve the console until the VM stops. Returns -1 when the loop cannot
 * be set up (the caller stops the VM as a host error). */
static int console_loop(struct vs_vm *vm, int signal_fd)
{
	struct console_ctx c = { .vm = vm, .signal_fd = signal_fd };
	struct vs_error err = { 0 };
	int rc = -1;
	if (vs_loop_create(&c.loop, &err) < 0)
		goto out;
	if (vs_loop_add(c.loop, vm->wake_fd, EPOLLIN, on_wake, &c, &err) < 0 ||
	    (signal_fd >= 0 && vs_loop_add(c.loop, signal_fd, EPOLLIN, on_stop_signal, &c, &err) < 0))
		goto out;
	if (vm->cfg.console->in_fd >= 0 &&
	    vs_loop_add(c.loop, vm->cfg.console->in_fd, EPOLLIN, on_console_input, &c, &err) < 0) {
		if (err.code != EPERM)
			goto out;
		c.in_is_file = true;
		vs_loop_retry_after(c.loop, 1, read_file_input, &c);
	}
	if (!atomic_load(&vm->stopping)) {
		int e = vs_loop_run(c.loop);
		if (e < 0) {
			vs_error_set(&err, -e, "waiting for console events");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		pthread_mutex_lock(&vm->stop_lock);
		if (!atomic_load(&vm->stopping))
			snprintf(vm->report, sizeof(vm->report), "console: %s\n", err.msg);
		pthread_mutex_unlock(&vm->stop_lock);
		vs_vm_request_stop(vm, VS_STOP_HOST_ERROR, 0);
	}
	vs_loop_destroy(c.loop);
	return rc;
}

int vs_vm_run(struct vs_vm *vm, int signal_fd)
{
	sigset_t kick, old;
	/* vCPU threads inherit this mask: only the kick signal reaches them,
	 * everything else is left for the thread that created the VM. */
	sigfillset(&kick);
	pthread_sigmask(SIG_SETMASK, &kick, &old);
	for (int i = 0; i < vm->cfg.ncpus; i++) {
		struct vcpu_thread_arg *arg = malloc(sizeof(*arg));
		sigset_t thread_mask;
		int rc = ENOMEM;
		if (arg) {
			*arg = (struct vcpu_thread_arg){ vm, i };
			sigfillset(&thread_mask);
			sigdelset(&thread_mask, VS_VCPU_KICK_SIGNAL);
			pthread_sigmask(SIG_SETMASK, &thread_mask, NULL);
			rc = pthread_create(&vm->threads[i], NULL, vcpu_thread, arg);
			pthread_sigmask(SIG_SETMASK, &kick, NULL);
		}
		if (rc != 0) {
			free(arg);
			snprintf(vm->report, sizeof(vm->report), "starting vCPU thread %d: %s\n", i,
				 strerror(rc));
			vs_vm_request_stop(vm, VS_STOP_HOST_ERROR, 0);
			break;
		}
		vm->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	console_loop(vm, signal_fd);
	for (int i = 0; i < vm->nthreads; i++)
		pthread_join(vm->threads[i], NULL);
	vm->nthreads = 0;
	return vm->exit_status;
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u; /* a separator, so "ab"+"c" differs from "a"+"bc" */
}

void vs_vm_default_mac(const struct vs_vm_config *cfg, int index, uint8_t mac[6])
{
	uint32_t h = 2166136261u;
	char idx[16];
	h = fnv1a(h, cfg->kernel_path);
	h = fnv1a(h, cfg->cmdline);
	for (int i = 0; i < cfg->ndisks; i++)
		h = fnv1a(h, cfg->disks[i].path);
	snprintf(idx, sizeof(idx), "%d", index);
	h = fnv1a(h, idx);
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
