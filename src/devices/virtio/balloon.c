#include "devices/virtio/balloon.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define BALLOON_TYPE 5
#define BALLOON_CLASS 0x058000 /* memory controller, other */
#define BALLOON_QUEUE_SIZE 128
#define BALLOON_PAGE 4096ull /* the balloon's page size, whatever the host's */
#define CFG_LEN 8	     /* num_pages, actual */
#define STAT_LEN 10	     /* le16 tag, le64 val, packed */
/* Entries read from one stats buffer: Linux sends 10, the spec knows 10
 * tags; a longer buffer's tail is ignored rather than walked on the I/O
 * thread. */
#define STATS_MAX_ENTRIES 64
#define NUM_QUEUES 4 /* inflate, deflate, stats, reporting */

enum queue_role { ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORTING, ROLE_NONE };

struct balloon {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_pci.c relies on it */
	const struct vs_guest_mem *mem;
	uint64_t host_page;
	uint32_t actual; /* what the driver says it holds, under the device lock */
	struct vs_vq_elem elem;
	/* Statistics: the buffer the device holds (under the device lock),
	 * a request waiting for it (set from any thread), the timer asking
	 * every interval, and the latest values (under stats_lock). */
	bool stats_held;
	uint16_t stats_head;
	atomic_bool stats_want;
	struct vs_loop *loop;
	int timer_fd;
	pthread_mutex_t stats_lock;
	struct vs_balloon_stats stats;
	struct vs_ratelimit guest_log;
};

/* Drop the host pages wholly inside [p, p + len): a range that only covers
 * part of a host page leaves that page alone (its other part may be in
 * use). Private anonymous guest RAM reads back as zeros afterwards, which
 * is all a driver may expect of memory it handed over. */
static void discard(const struct balloon *b, uint8_t *p, uint64_t len)
{
	uintptr_t start = ((uintptr_t)p + b->host_page - 1) & ~(uintptr_t)(b->host_page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(b->host_page - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/* inflateq: readable arrays of le32 page frame numbers (4 KiB pages). */
static void inflate(struct balloon *b, const struct vs_vq_elem *e)
{
	uint32_t pfn;
	for (uint64_t off = 0; off + 4 <= e->out_len; off += 4) {
		if (vs_vq_elem_read(e, off, &pfn, 4) != 4)
			break;
		uint64_t gpa = (uint64_t)pfn * BALLOON_PAGE;
		uint8_t *p = vs_gpa_ptr(b->mem, gpa, BALLOON_PAGE);
		if (p) /* a frame outside RAM is the guest's mistake: ignore it */
			discard(b, p, BALLOON_PAGE);
	}
}

/* reporting_vq: the free ranges themselves, as device-writable buffers
 * (already checked to lie in guest RAM by the queue code). */
static void report(struct balloon *b, const struct vs_vq_elem *e)
{
	for (unsigned int i = e->nout; i < (unsigned int)e->nout + e->nin; i++)
		discard(b, e->iov[i].base, e->iov[i].len);
}

/* statsq: the readable part of the buffer as {le16 tag, le64 val}
 * entries. A trailing partial entry and tags past the known ones are
 * ignored (the device MUST ignore unknown tags); writable segments are
 * not the driver's to fill here and are skipped. A buffer with no whole
 * entry leaves the last values as they were. */
static void stats_parse(struct balloon *b, const struct vs_vq_elem *e)
{
	struct vs_balloon_stats s = { 0 };
	uint64_t n = e->out_len / STAT_LEN;
	uint8_t ent[STAT_LEN];
	if (n > STATS_MAX_ENTRIES)
		n = STATS_MAX_ENTRIES;
	if ((e->out_len % STAT_LEN || e->nin) && vs_ratelimit_ok(&b->guest_log))
		vs_debug("virtio-balloon: stats buffer of %llu readable, %llu writable bytes: reading "
			 "whole entries only",
			 (unsigned long long)e->out_len, (unsigned long long)e->in_len);
	if (n == 0) /* nothing to read (a writable buffer): the last values stand */
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint16_t tag;
		uint64_t val = 0;
		if (vs_vq_elem_read(e, i * STAT_LEN, ent, STAT_LEN) != STAT_LEN)
			break;
		tag = (uint16_t)(ent[0] | ent[1] << 8);
		for (int k = 7; k >= 0; k--)
			val = val << 8 | ent[2 + k];
		if (tag >= VS_BALLOON_S_NR)
			continue;
		s.val[tag] = val;
		s.present |= 1u << tag;
	}
	s.at_ns = vs_now_ns();
	pthread_mutex_lock(&b->stats_lock);
	s.reports = b->stats.reports + 1;
	b->stats = s;
	pthread_mutex_unlock(&b->stats_lock);
}

/* The driver keeps one buffer here; the device answers a new one by
 * holding it until it wants fresh values, then returns it used. */
static void stats_notify(struct balloon *b, struct vs_vq *vq)
{
	while (vs_vq_pop(vq, &b->elem) > 0) {
		/* A second buffer while one is held breaks the protocol: give
		 * the older one back so the driver loses nothing. */
		if (b->stats_held)
			vs_vq_push(vq, b->stats_head, 0);
		stats_parse(b, &b->elem);
		b->stats_head = b->elem.head;
		b->stats_held = true;
	}
	if (atomic_exchange(&b->stats_want, false) && b->stats_held) {
		vs_vq_push(vq, b->stats_head, 0);
		b->stats_held = false;
	}
}

/* Which queue `q` is, given what the driver accepted (section 5.5.2). */
static enum queue_role queue_role(struct vs_virtio *v, uint16_t q)
{
	uint64_t f = vs_virtio_features(v);
	if (q == VS_BALLOON_Q_INFLATE)
		return ROLE_INFLATE;
	if (q == VS_BALLOON_Q_DEFLATE)
		return ROLE_DEFLATE;
	if (q == VS_BALLOON_Q_STATS && (f & VS_BALLOON_F_STATS_VQ))
		return ROLE_STATS;
	if (q == VS_BALLOON_Q_REPORTING(f) && (f & VS_BALLOON_F_REPORTING))
		return ROLE_REPORTING;
	return ROLE_NONE;
}

static void balloon_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct balloon *b = opaque;
	struct vs_vq *vq = vs_virtio_queue(v, q);
	enum queue_role role = queue_role(v, q);
	if (role == ROLE_STATS) {
		stats_notify(b, vq);
		vs_virtio_queue_done(v, q);
		return;
	}
	while (vs_vq_pop(vq, &b->elem) > 0) {
		if (role == ROLE_INFLATE)
			inflate(b, &b->elem);
		else if (role == ROLE_REPORTING)
			report(b, &b->elem);
		/* deflate: the pages come back on the guest's next touch; a
		 * queue of no accepted feature: returned untouched */
		vs_vq_push(vq, b->elem.head, 0);
	}
	vs_virtio_queue_done(v, q);
}

static void balloon_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t size)
{
	struct balloon *b = opaque;
	uint8_t cfg[CFG_LEN] = { 0 }; /* num_pages 0: no inflation asked */
	uint32_t actual = b->actual;
	memcpy(cfg + 4, &actual, 4);
	memcpy(data, cfg + off, size);
}

static void balloon_config_write(void *opaque, uint32_t off, const uint8_t *data, uint32_t size)
{
	struct balloon *b = opaque;
	uint8_t cfg[4];
	/* Only `actual` is the driver's to write. */
	if (off < 4 || off + size > CFG_LEN)
		return;
	memcpy(cfg, &b->actual, 4);
	memcpy(cfg + (off - 4), data, size);
	memcpy(&b->actual, cfg, 4);
}

static void balloon_reset(void *opaque)
{
	struct balloon *b = opaque;
	b->actual = 0;
	b->stats_held = false; /* the queue and its buffer are gone */
	atomic_store(&b->stats_want, false);
}

static const struct vs_virtio_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_type = BALLOON_TYPE,
	.pci_class = BALLOON_CLASS,
	.features = VS_BALLOON_F_STATS_VQ | VS_BALLOON_F_REPORTING,
	.num_queues = NUM_QUEUES,
	.queue_max = BALLOON_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_notify,
	.reset = balloon_reset,
};

void vs_virtio_balloon_stats(void *balloon, struct vs_balloon_stats *out)
{
	struct balloon *b = balloon;
	pthread_mutex_lock(&b->stats_lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->stats_lock);
}

void vs_virtio_balloon_stats_request(void *balloon)
{
	struct balloon *b = balloon;
	atomic_store(&b->stats_want, true);
	/* Served by the stats queue's handler if the driver uses one. */
	vs_virtio_process(b->virtio, VS_BALLOON_Q_STATS);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t expirations;
	(void)events;
	if (read(b->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	vs_virtio_balloon_stats_request(b);
}

static const char *const stat_names[VS_BALLOON_S_NR] = {
	[VS_BALLOON_S_SWAP_IN] = "swap-in",
	[VS_BALLOON_S_SWAP_OUT] = "swap-out",
	[VS_BALLOON_S_MAJFLT] = "major-faults",
	[VS_BALLOON_S_MINFLT] = "minor-faults",
	[VS_BALLOON_S_MEMFREE] = "free-memory",
	[VS_BALLOON_S_MEMTOT] = "total-memory",
	[VS_BALLOON_S_AVAIL] = "available-memory",
	[VS_BALLOON_S_CACHES] = "disk-caches",
	[VS_BALLOON_S_HTLB_PGALLOC] = "hugetlb-allocations",
	[VS_BALLOON_S_HTLB_PGFAIL] = "hugetlb-failures",
};

const char *vs_balloon_stat_name(unsigned int tag)
{
	return tag < VS_BALLOON_S_NR ? stat_names[tag] : NULL;
}

void vs_balloon_stats_print(const struct vs_balloon_stats *s, uint64_t now, FILE *out)
{
	if (!s->reports) {
		fputs("virtio-balloon: no memory statistics from the guest\n", out);
		return;
	}
	uint64_t age_ms = now > s->at_ns ? (now - s->at_ns) / 1000000 : 0;
	fprintf(out, "virtio-balloon: guest memory statistics (report %llu, %llu.%01llu s old):",
		(unsigned long long)s->reports, (unsigned long long)(age_ms / 1000),
		(unsigned long long)(age_ms % 1000 / 100));
	for (unsigned int t = 0; t < VS_BALLOON_S_NR; t++)
		if (s->present & (1u << t))
			fprintf(out, " %s=%llu", stat_names[t], (unsigned long long)s->val[t]);
	fputc('\n', out);
}

/* vs_device.report: the latest statistics, for `vm run -v` at exit. */
static void balloon_report(void *opaque, FILE *out)
{
	struct vs_balloon_stats s;
	vs_virtio_balloon_stats(opaque, &s);
	vs_balloon_stats_print(&s, vs_now_ns(), out);
}

static void balloon_destroy(void *opaque)
{
	struct balloon *b = opaque;
	if (b->timer_fd >= 0) {
		vs_loop_remove(b->loop, b->timer_fd);
		close(b->timer_fd);
	}
	vs_virtio_destroy(b->virtio);
	pthread_mutex_destroy(&b->stats_lock);
	free(b);
}

/* A timerfd on the I/O thread's loop, every `seconds`. */
static int start_timer(struct balloon *b, unsigned int seconds, struct vs_error *err)
{
	struct itimerspec it = { .it_interval = { .tv_sec = seconds }, .it_value = { .tv_sec = seconds } };
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0)
		return vs_error_set(err, errno, "virtio-balloon: stats timer");
	if (timerfd_settime(b->timer_fd, 0, &it, NULL) < 0) {
		vs_error_set(err, errno, "virtio-balloon: stats timer");
		goto fail;
	}
	if (vs_loop_add(b->loop, b->timer_fd, EPOLLIN, on_timer, b, err) < 0)
		goto fail;
	return 0;
fail:
	close(b->timer_fd);
	b->timer_fd = -1;
	return -1;
}

int vs_virtio_balloon_create(const struct vs_virtio_config *env, const struct vs_balloon_config *bc,
			     struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct balloon *b = calloc(1, sizeof(*b));
	long page = sysconf(_SC_PAGESIZE);
	if (!b)
		return vs_error_set(err, ENOMEM, "allocating virtio-balloon");
	b->mem = env->mem;
	b->loop = env->loop;
	b->host_page = page > 0 ? (uint64_t)page : 4096;
	b->timer_fd = -1;
	b->guest_log = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 10.0);
	pthread_mutex_init(&b->stats_lock, NULL);
	cfg.ops = &balloon_ops;
	cfg.opaque = b;
	if (vs_virtio_create(&cfg, &b->virtio, err) < 0) {
		pthread_mutex_destroy(&b->stats_lock);
		free(b);
		return -1;
	}
	if (bc && bc->stats_interval && start_timer(b, bc->stats_interval, err) < 0) {
		balloon_destroy(b);
		return -1;
	}
	*dev = (struct vs_device){
		.name = "virtio-balloon", .opaque = b, .destroy = balloon_destroy, .report = balloon_report
	};
	return 0;
}
