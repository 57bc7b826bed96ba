/* A token bucket in bytes for the NICs' rx-bps / tx-bps limits. Time is
 * passed in, so the arithmetic is tested without clocks. */
#ifndef VESSEL_NET_BUCKET_H
#define VESSEL_NET_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct vs_net_bucket {
	uint64_t rate;	/* bytes per second; 0: unlimited */
	uint64_t burst; /* bucket size in bytes */
	int64_t tokens; /* below 0: debt left by a frame larger than the bucket */
	uint64_t last_ns;
};

/* `rate` bytes/s (0: no limit); the bucket holds 1/20 s of it, at least
 * two full frames, and starts full. */
void vs_net_bucket_init(struct vs_net_bucket *b, uint64_t rate, uint64_t now_ns);
/* Take `bytes` now and return 0, or take nothing and return how many
 * nanoseconds to wait until they are there. A frame larger than the
 * bucket (a 64 KiB segmentation frame) waits for a full bucket and leaves
 * the rest as debt that later frames wait out, so the rate holds. */
uint64_t vs_net_bucket_take(struct vs_net_bucket *b, uint64_t bytes, uint64_t now_ns);
/* Give back what a frame that could not be sent took. */
void vs_net_bucket_refund(struct vs_net_bucket *b, uint64_t bytes);

#endif
