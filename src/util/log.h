/* Diagnostics to stderr. Guest-triggered messages go through
 * vs_ratelimit_ok() so a misbehaving guest cannot flood the host log. */
#ifndef VESSEL_UTIL_LOG_H
#define VESSEL_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum vs_log_level { VS_LOG_ERROR, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };

/* The threshold is process-wide configuration set once by the CLI. */
void vs_log_set_level(enum vs_log_level level);
void vs_log(enum vs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vs_warn(...) vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...) vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)

/* Token bucket: at most `burst` events, refilled at `per_sec`. */
struct vs_ratelimit {
	uint64_t last_ns;
	double tokens;
	double per_sec;
	double burst;
	uint64_t suppressed;
};

#define VS_RATELIMIT_INIT(per_sec_, burst_)                                                                 \
	{                                                                                                   \
		.last_ns = 0, .tokens = (burst_), .per_sec = (per_sec_), .burst = (burst_), .suppressed = 0 \
	}

bool vs_ratelimit_ok(struct vs_ratelimit *rl);

uint64_t vs_now_ns(void);

#endif
