/* Token-bucket I/O throttle: bytes per second and operations per second,
 * each with a burst. A request is admitted when both buckets can pay for it
 * and is charged in full; a request larger than the burst only needs a full
 * bucket and leaves it in debt that later requests wait out, which keeps
 * such requests possible and the long-run rate exact.
 *
 * Time is passed in by the caller (nanoseconds, any monotonic origin), so
 * the throttle is a pure state machine the tests drive with a fake clock.
 */
#ifndef VESSEL_BLOCK_THROTTLE_H
#define VESSEL_BLOCK_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

struct vs_throttle_bucket {
	double rate;  /* units per second; 0 = unlimited */
	double burst; /* most units that accumulate while idle */
	double level; /* current balance, may be negative (debt) */
};

struct vs_throttle {
	struct vs_throttle_bucket bytes, ops;
	uint64_t last_ns;
	bool started;
};

/* Zero rates mean unlimited; a zero burst means one second's worth. */
void vs_throttle_init(struct vs_throttle *t, uint64_t bytes_per_sec, uint64_t bytes_burst,
		      uint64_t ops_per_sec, uint64_t ops_burst);

bool vs_throttle_enabled(const struct vs_throttle *t);

/* Admit (and charge) a request of `bytes` at time `now_ns`: returns 0, or
 * the nanoseconds to wait before asking again (nothing is charged then). */
uint64_t vs_throttle_admit(struct vs_throttle *t, uint64_t bytes, uint64_t now_ns);

#endif
