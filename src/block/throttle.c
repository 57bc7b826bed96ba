#include "block/throttle.h"

#include <math.h>

static void bucket_init(struct vs_throttle_bucket *b, uint64_t rate, uint64_t burst)
{
	b->rate = (double)rate;
	b->burst = burst ? (double)burst : (double)rate;
	b->level = b->burst;
}

void vs_throttle_init(struct vs_throttle *t, uint64_t bytes_per_sec, uint64_t bytes_burst,
		      uint64_t ops_per_sec, uint64_t ops_burst)
{
	bucket_init(&t->bytes, bytes_per_sec, bytes_burst);
	bucket_init(&t->ops, ops_per_sec, ops_burst);
	t->last_ns = 0;
	t->started = false;
}

bool vs_throttle_enabled(const struct vs_throttle *t)
{
	return t->bytes.rate > 0 || t->ops.rate > 0;
}

static void refill(struct vs_throttle_bucket *b, double secs)
{
	if (b->rate <= 0)
		return;
	b->level += b->rate * secs;
	if (b->level > b->burst)
		b->level = b->burst;
}

/* Nanoseconds until the bucket can pay for `cost` (0: now). A cost above
 * the burst only needs a full bucket, then leaves it in debt. */
static uint64_t wait_ns(const struct vs_throttle_bucket *b, double cost)
{
	if (b->rate <= 0)
		return 0;
	double need = cost < b->burst ? cost : b->burst;
	if (b->level >= need)
		return 0;
	/* +1 ns so that rounding cannot leave the balance just short. */
	return (uint64_t)ceil((need - b->level) / b->rate * 1e9) + 1;
}

uint64_t vs_throttle_admit(struct vs_throttle *t, uint64_t bytes, uint64_t now_ns)
{
	if (!t->started) {
		t->started = true;
		t->last_ns = now_ns;
	}
	if (now_ns > t->last_ns) {
		double secs = (double)(now_ns - t->last_ns) / 1e9;
		refill(&t->bytes, secs);
		refill(&t->ops, secs);
		t->last_ns = now_ns;
	}
	uint64_t w = wait_ns(&t->bytes, (double)bytes), w2 = wait_ns(&t->ops, 1);
	if (w2 > w)
		w = w2;
	if (w)
		return w;
	if (t->bytes.rate > 0)
		t->bytes.level -= (double)bytes;
	if (t->ops.rate > 0)
		t->ops.level -= 1;
	return 0;
}
