/* The token bucket behind rx-bps / tx-bps, with time passed in. */
#include "net/bucket.h"
#include "net/net_backend.h"
#include "tap.h"

#define S 1000000000ull

TEST(unlimited_never_waits)
{
	struct vs_net_bucket b;
	vs_net_bucket_init(&b, 0, 0);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_U64(vs_net_bucket_take(&b, 1500, 0), 0);
}

TEST(starts_full_then_waits_for_the_missing_bytes)
{
	struct vs_net_bucket b;
	uint64_t wait;
	vs_net_bucket_init(&b, 1000000, 0); /* 1 MB/s: burst 50000 bytes */
	CHECK_EQ_U64(b.burst, 50000);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 50000, 0), 0);
	wait = vs_net_bucket_take(&b, 1000, 0);
	/* 1000 bytes at 1 MB/s: 1 ms (and a nanosecond for rounding) */
	CHECK(wait >= 1000000 && wait <= 1000001);
	CHECK_EQ_U64(b.tokens, 0); /* nothing taken by a refusal */
	CHECK(vs_net_bucket_take(&b, 1000, 999999) > 0);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 1000, 1000000), 0);
}

TEST(refill_is_capped_at_the_burst)
{
	struct vs_net_bucket b;
	vs_net_bucket_init(&b, 1000000, 0);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 50000, 0), 0);
	/* An hour idle gives one burst, not an hour of bytes. */
	CHECK_EQ_U64(vs_net_bucket_take(&b, 50000, 3600 * S), 0);
	CHECK(vs_net_bucket_take(&b, 1, 3600 * S) > 0);
}

TEST(long_run_rate_is_the_limit)
{
	struct vs_net_bucket b;
	uint64_t t = 0, sent = 0;
	vs_net_bucket_init(&b, 100000, 0); /* 100 kB/s, burst 2 frames */
	/* Send 1000-byte frames as fast as the bucket lets for 10 simulated
	 * seconds: about 10 * 100000 bytes plus the initial burst. */
	while (t < 10 * S) {
		uint64_t w = vs_net_bucket_take(&b, 1000, t);
		if (w)
			t += w;
		else
			sent += 1000;
	}
	CHECK(sent >= 1000000 && sent <= 1000000 + b.burst + 1000);
}

TEST(min_burst_is_two_frames_and_refund)
{
	struct vs_net_bucket b;
	vs_net_bucket_init(&b, 1000, 0);
	CHECK_EQ_U64(b.burst, 2 * VS_NET_MAX_FRAME);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 1500, 0), 0);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 1500, 0), 0);
	CHECK(vs_net_bucket_take(&b, 1500, 0) > 0);
	vs_net_bucket_refund(&b, 1500);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 1500, 0), 0);
}

/* A 64 KiB segmentation frame is larger than the bucket: it passes when
 * the bucket is full and its excess is waited out by the next frame. */
TEST(a_frame_larger_than_the_bucket_leaves_debt)
{
	struct vs_net_bucket b;
	uint64_t wait;
	vs_net_bucket_init(&b, 100000, 0); /* burst 5000 */
	CHECK_EQ_U64(vs_net_bucket_take(&b, 65000, 0), 0);
	wait = vs_net_bucket_take(&b, 1000, 0);
	/* 60000 bytes of debt plus 1000: 0.61 s at 100 kB/s. */
	CHECK(wait >= 610000000 && wait <= 610000001);
	CHECK(vs_net_bucket_take(&b, 1000, 600000000) > 0);
	CHECK_EQ_U64(vs_net_bucket_take(&b, 1000, 610000001), 0);
}

VS_TAP_MAIN(TAP_CASE(unlimited_never_waits), TAP_CASE(starts_full_then_waits_for_the_missing_bytes),
	    TAP_CASE(refill_is_capped_at_the_burst), TAP_CASE(long_run_rate_is_the_limit),
	    TAP_CASE(min_burst_is_two_frames_and_refund),
	    TAP_CASE(a_frame_larger_than_the_bucket_leaves_debt))
