#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

/* Log level is process configuration, not VM state: several VMs in one
 * process share stderr anyway. */
static _Atomic int log_threshold = VS_LOG_WARN;

void vs_log_set_level(enum vs_log_level level)
{
	atomic_store(&log_threshold, (int)level);
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	va_list ap;
	char line[1024];
	if ((int)level > atomic_load(&log_threshold))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vessel: %s: %s\n", names[level], line);
}

uint64_t vs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool vs_ratelimit_ok(struct vs_ratelimit *rl)
{
	uint64_t now = vs_now_ns();
	if (rl->last_ns != 0) {
		rl->tokens += (double)(now - rl->last_ns) * rl->per_sec / 1e9;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_ns = now;
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		return true;
	}
	rl->suppressed++;
	return false;
}
