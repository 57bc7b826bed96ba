#include "net/bucket.h"

#include "net/net_backend.h"

void vs_net_bucket_init(struct vs_net_bucket *b, uint64_t rate, uint64_t now_ns)
{
	uint64_t burst = rate / 20;
	if (burst < 2 * VS_NET_MAX_FRAME)
		burst = 2 * VS_NET_MAX_FRAME;
	*b = (struct vs_net_bucket){
		.rate = rate, .burst = burst, .tokens = (int64_t)burst, .last_ns = now_ns
	};
}

static void refill(struct vs_net_bucket *b, uint64_t now_ns)
{
	uint64_t dt, add;
	if (now_ns <= b->last_ns)
		return;
	dt = now_ns - b->last_ns;
	/* Whole tokens only; the remainder of the interval stays for later. */
	add = (uint64_t)((unsigned __int128)dt * b->rate / 1000000000u);
	if (!add)
		return;
	b->last_ns += (uint64_t)((unsigned __int128)add * 1000000000u / b->rate);
	b->tokens =
	    b->tokens + (int64_t)add > (int64_t)b->burst ? (int64_t)b->burst : b->tokens + (int64_t)add;
	if (b->tokens == (int64_t)b->burst)
		b->last_ns = now_ns;
}

uint64_t vs_net_bucket_take(struct vs_net_bucket *b, uint64_t bytes, uint64_t now_ns)
{
	uint64_t missing, need = bytes < b->burst ? bytes : b->burst;
	if (!b->rate)
		return 0;
	refill(b, now_ns);
	if (b->tokens >= (int64_t)need) {
		b->tokens -= (int64_t)bytes;
		return 0;
	}
	missing = (uint64_t)((int64_t)need - b->tokens);
	return (uint64_t)((unsigned __int128)missing * 1000000000u / b->rate) + 1;
}

void vs_net_bucket_refund(struct vs_net_bucket *b, uint64_t bytes)
{
	if (!b->rate)
		return;
	b->tokens =
	    b->tokens + (int64_t)bytes > (int64_t)b->burst ? (int64_t)b->burst : b->tokens + (int64_t)bytes;
}
