#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* Log level and sink are process configuration, not VM state: several VMs
 * in one process share stderr anyway. */
static _Atomic int log_threshold = VS_LOG_WARN;

static const struct vs_log_sink default_sink = { vs_log_stderr, NULL };
static const struct vs_log_sink *_Atomic log_sink = &default_sink;

void vs_log_set_level(enum vs_log_level level)
{
	atomic_store(&log_threshold, (int)level);
}

bool vs_log_enabled(enum vs_log_level level)
{
	return (int)level <= atomic_load(&log_threshold);
}

void vs_log_set_sink(const struct vs_log_sink *sink)
{
	atomic_store(&log_sink, sink && sink->write ? sink : &default_sink);
}

const char *vs_log_level_name(enum vs_log_level level)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "log";
}

void vs_log_stderr(void *opaque, enum vs_log_level level, const char *msg)
{
	const char *prog = opaque ? opaque : "vessel";
	/* One fprintf per line: stdio locks the stream, so lines from several
	 * threads do not interleave. */
	fprintf(stderr, "%s: %s: %s\n", prog, vs_log_level_name(level), msg);
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
	const struct vs_log_sink *sink;
	va_list ap;
	char line[1024];
	if (!vs_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink = atomic_load(&log_sink);
	sink->write(sink->opaque, level, line);
}

uint64_t vs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* GCRA, the token bucket in one word: each event pushes next_ns one
 * interval further; an event is refused when that would put next_ns more
 * than `burst` intervals ahead of now. A compare-and-swap loop makes the
 * update atomic without a lock. */
bool vs_ratelimit_ok(struct vs_ratelimit *rl)
{
	uint64_t now = vs_now_ns();
	/* Clamped so that a (nearly) zero rate cannot overflow next_ns: at
	 * most one event per ~11 days and a window of ~280 years. */
	double interval_d = rl->per_sec > 1e-6 ? 1e9 / rl->per_sec : 1e15;
	double limit_d = rl->burst * interval_d;
	uint64_t interval = (uint64_t)interval_d;
	uint64_t limit = (uint64_t)(limit_d < 9e18 ? limit_d : 9e18);
	uint64_t next = atomic_load(&rl->next_ns);
	for (;;) {
		uint64_t start = next > now ? next : now;
		uint64_t want = start + interval;
		if (want - now > limit) {
			atomic_fetch_add(&rl->suppressed, 1);
			return false;
		}
		if (atomic_compare_exchange_weak(&rl->next_ns, &next, want))
			return true;
	}
}
