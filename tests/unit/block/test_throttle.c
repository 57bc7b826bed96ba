/* The token bucket driven by a fake clock: rates, bursts, debt. */
#include "../tap.h"
#include "block/throttle.h"

#define MS 1000000ull
#define S 1000000000ull

TEST(unlimited_admits_everything)
{
	struct vs_throttle t;
	vs_throttle_init(&t, 0, 0, 0, 0);
	CHECK(!vs_throttle_enabled(&t));
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_U64(vs_throttle_admit(&t, 1 << 20, 0), 0);
}

TEST(ops_per_second_with_burst)
{
	struct vs_throttle t;
	vs_throttle_init(&t, 0, 0, 100, 10);
	CHECK(vs_throttle_enabled(&t));
	/* The burst goes at once, the next one waits about 10 ms. */
	for (int i = 0; i < 10; i++)
		CHECK_EQ_U64(vs_throttle_admit(&t, 4096, 0), 0);
	uint64_t w = vs_throttle_admit(&t, 4096, 0);
	CHECK(w > 9 * MS && w <= 10 * MS + 1);
	CHECK(vs_throttle_admit(&t, 4096, w / 2) > 0);
	CHECK_EQ_U64(vs_throttle_admit(&t, 4096, w), 0);
	/* Over 10 simulated seconds about 1000 ops go. */
	uint64_t now = w, admitted = 0;
	while (now < w + 10 * S) {
		uint64_t d = vs_throttle_admit(&t, 4096, now);
		if (d == 0)
			admitted++;
		else
			now += d;
	}
	CHECK(admitted >= 995 && admitted <= 1011);
}

TEST(bytes_per_second_and_large_requests)
{
	struct vs_throttle t;
	vs_throttle_init(&t, 1 << 20, 1 << 20, 0, 0);
	/* A request bigger than the burst still goes, then is paid back. */
	CHECK_EQ_U64(vs_throttle_admit(&t, 4 << 20, 0), 0);
	uint64_t w = vs_throttle_admit(&t, 512, 0);
	CHECK(w > 3 * S && w <= 3 * S + MS);
	CHECK_EQ_U64(vs_throttle_admit(&t, 512, w), 0);
	/* An idle period refills only up to the burst. */
	vs_throttle_init(&t, 1 << 20, 1 << 20, 0, 0);
	CHECK_EQ_U64(vs_throttle_admit(&t, 1, 0), 0);
	CHECK_EQ_U64(vs_throttle_admit(&t, 1 << 20, 100 * S), 0);
	CHECK(vs_throttle_admit(&t, 1, 100 * S) > 0);
}

TEST(both_buckets_must_agree)
{
	struct vs_throttle t;
	vs_throttle_init(&t, 1000, 1000, 1000000, 0);
	CHECK_EQ_U64(vs_throttle_admit(&t, 1000, 0), 0);
	CHECK(vs_throttle_admit(&t, 1, 0) > 0); /* bytes empty, ops plenty */
	vs_throttle_init(&t, 1 << 30, 0, 1, 1);
	CHECK_EQ_U64(vs_throttle_admit(&t, 1, 0), 0);
	CHECK(vs_throttle_admit(&t, 1, 0) > 0); /* ops empty, bytes plenty */
}

VS_TAP_MAIN(TAP_CASE(unlimited_admits_everything), TAP_CASE(ops_per_second_with_burst),
	    TAP_CASE(bytes_per_second_and_large_requests), TAP_CASE(both_buckets_must_agree))
