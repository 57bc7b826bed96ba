#include <pthread.h>
#include <string.h>

#include "tap.h"
#include "util/log.h"

struct capture {
	int calls;
	enum vs_log_level level;
	char msg[256];
};

static void capture_write(void *opaque, enum vs_log_level level, const char *msg)
{
	struct capture *c = opaque;
	c->calls++;
	c->level = level;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

TEST(sink_receives_messages_above_threshold)
{
	struct capture c = { 0 };
	const struct vs_log_sink sink = { capture_write, &c };
	vs_log_set_sink(&sink);
	vs_log_set_level(VS_LOG_WARN);
	vs_warn("hook `%s` failed", "poststop");
	vs_debug("not shown");
	CHECK(c.calls == 1);
	CHECK(c.level == VS_LOG_WARN);
	CHECK(strcmp(c.msg, "hook `poststop` failed") == 0);
	vs_log_set_level(VS_LOG_DEBUG);
	vs_debug("now shown");
	CHECK(c.calls == 2);
	CHECK(c.level == VS_LOG_DEBUG);
	vs_log_set_level(VS_LOG_WARN);
	vs_log_set_sink(NULL);
	vs_warn("to stderr, not the capture");
	CHECK(c.calls == 2);
}

TEST(level_names)
{
	CHECK(strcmp(vs_log_level_name(VS_LOG_WARN), "warning") == 0);
	CHECK(strcmp(vs_log_level_name(VS_LOG_ERROR), "error") == 0);
}

TEST(ratelimit_allows_burst_then_refuses)
{
	/* One token per ~31 years: nothing refills during the test. */
	struct vs_ratelimit rl = VS_RATELIMIT_INIT(1e-9, 5.0);
	int ok = 0;
	for (int i = 0; i < 20; i++)
		ok += vs_ratelimit_ok(&rl);
	CHECK(ok == 5);
	CHECK(atomic_load(&rl.suppressed) == 15);
}

#define THREADS 4
#define CALLS 20000

static void *hammer(void *arg)
{
	struct vs_ratelimit *rl = arg;
	long ok = 0;
	for (int i = 0; i < CALLS; i++)
		ok += vs_ratelimit_ok(rl);
	return (void *)ok;
}

TEST(ratelimit_is_exact_across_threads)
{
	struct vs_ratelimit rl = VS_RATELIMIT_INIT(1e-9, 1000.0);
	pthread_t t[THREADS];
	long total = 0;
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, &rl) == 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	/* An unlocked read-modify-write hands out more (or fewer) tokens. */
	CHECK(total == 1000);
	CHECK(atomic_load(&rl.suppressed) == (uint64_t)THREADS * CALLS - 1000);
}

VS_TAP_MAIN(TAP_CASE(sink_receives_messages_above_threshold), TAP_CASE(level_names),
	    TAP_CASE(ratelimit_allows_burst_then_refuses), TAP_CASE(ratelimit_is_exact_across_threads))
