/* Diagnostics that are not failures of the current call (see
 * docs/error-handling.md). Every message goes to one process-wide sink that
 * the program chooses: stderr by default, vessel-oci adds its --log file.
 * Guest-triggered messages go through vs_ratelimit_ok() so a misbehaving
 * guest cannot flood the host log. */
#ifndef VESSEL_UTIL_LOG_H
#define VESSEL_UTIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum vs_log_level { VS_LOG_ERROR, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };

/* The threshold is process-wide configuration set once by the CLI
 * (default VS_LOG_WARN; `vessel -v` and `vessel-oci --debug` raise it). */
void vs_log_set_level(enum vs_log_level level);
bool vs_log_enabled(enum vs_log_level level);
void vs_log(enum vs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vs_warn(...) vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...) vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)

/* "error", "warning", "info", "debug". */
const char *vs_log_level_name(enum vs_log_level level);

/* Where formatted messages go. `write` receives one message without a
 * trailing newline and may be called from several threads at once. */
struct vs_log_sink {
	void (*write)(void *opaque, enum vs_log_level level, const char *msg);
	void *opaque;
};

/* The sink is, with the level, the library's only process-wide state: a
 * process has one stderr and one log file. Set it before starting threads;
 * `sink` must outlive its use. NULL restores the default, vs_log_stderr with
 * the program name "vessel". */
void vs_log_set_sink(const struct vs_log_sink *sink);

/* A sink writing "<opaque>: <level>: msg" lines to stderr (opaque is the
 * program name, a const char *; NULL means "vessel"). */
void vs_log_stderr(void *opaque, enum vs_log_level level, const char *msg);

/* Token bucket: at most `burst` events at once, refilled at `per_sec`.
 * Safe to share between threads (one vCPU thread per CPU reports unclaimed
 * port accesses into the same limiter): the state is one atomic word, the
 * "theoretical arrival time" of the next event (GCRA). */
struct vs_ratelimit {
	_Atomic uint64_t next_ns; /* an event is allowed while next_ns - now <= burst intervals */
	double per_sec;
	double burst;
	_Atomic uint64_t suppressed;
};

#define VS_RATELIMIT_INIT(per_sec_, burst_)                                             \
	{                                                                               \
		.next_ns = 0, .per_sec = (per_sec_), .burst = (burst_), .suppressed = 0 \
	}

bool vs_ratelimit_ok(struct vs_ratelimit *rl);

uint64_t vs_now_ns(void);

#endif
