/* The host-only switch: ports on one name hear each other's frames,
 * a port on another name hears nothing, a dead peer's socket file is
 * cleaned up, a closed port leaves no file behind, a burst of unicast
 * frames arrives whole under back-pressure, and a peer that reads nothing
 * stalls its sender only briefly. */
#include <dirent.h>
#include <time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/net_backend.h"
#include "tap.h"

static void nop(void *opaque)
{
	(void)opaque;
}

static const struct vs_net_peer peer = { nop, nop, NULL };

static int open_port_with(const char *name, struct vs_loop *loop, struct vs_net_backend *be,
			  const struct vs_net_peer *p)
{
	struct vs_error err = { 0 };
	if (vs_net_switch_open(name, be, &err) < 0 || be->ops->attach(be->opaque, loop, p, &err) < 0) {
		printf("# switch: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int open_port(const char *name, struct vs_loop *loop, struct vs_net_backend *be)
{
	return open_port_with(name, loop, be, &peer);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char tmpdir[] = "/tmp/vessel-switch-test-XXXXXX";

TEST(frames_reach_every_port_of_the_same_name_only)
{
	struct vs_loop *loop;
	struct vs_error err = { 0 };
	struct vs_net_backend a, b, c;
	uint8_t frame[60], got[VS_NET_MAX_FRAME];
	struct iovec iov[2] = { { frame, 14 }, { frame + 14, 46 } };
	char dir[128];
	CHECK(vs_loop_create(&loop, &err) == 0);
	CHECK(open_port("segA", loop, &a) == 0);
	CHECK(open_port("segA", loop, &b) == 0);
	CHECK(open_port("segB", loop, &c) == 0);
	CHECK(vs_net_switch_dir("segA", dir, sizeof(dir), &err) == 0);
	CHECK(strncmp(dir, tmpdir, strlen(tmpdir)) == 0); /* under $XDG_RUNTIME_DIR */
	CHECK_EQ(count_files(dir), 2);
	for (int i = 0; i < 60; i++)
		frame[i] = (uint8_t)(i + 1);
	CHECK_EQ(a.ops->send(a.opaque, iov, 2), 0);
	CHECK_EQ(b.ops->recv(b.opaque, got, sizeof(got)), 60);
	CHECK(memcmp(got, frame, 60) == 0);
	CHECK_EQ(b.ops->recv(b.opaque, got, sizeof(got)), -EAGAIN);
	CHECK_EQ(a.ops->recv(a.opaque, got, sizeof(got)), -EAGAIN); /* not echoed to the sender */
	CHECK_EQ(c.ops->recv(c.opaque, got, sizeof(got)), -EAGAIN); /* another segment */
	/* And back. */
	CHECK_EQ(b.ops->send(b.opaque, iov, 1), 0);
	CHECK_EQ(a.ops->recv(a.opaque, got, sizeof(got)), 14);
	a.ops->destroy(a.opaque);
	b.ops->destroy(b.opaque);
	c.ops->destroy(c.opaque);
	CHECK_EQ(count_files(dir), 0);
	vs_loop_destroy(loop);
}

TEST(a_dead_peers_socket_is_removed)
{
	struct vs_loop *loop;
	struct vs_error err = { 0 };
	struct vs_net_backend a;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint8_t frame[60] = { 0 };
	struct iovec iov = { frame, sizeof(frame) };
	char dir[80];
	int fd;
	CHECK(vs_loop_create(&loop, &err) == 0);
	CHECK(vs_net_switch_dir("segC", dir, sizeof(dir), &err) == 0);
	CHECK(open_port("segC", loop, &a) == 0);
	/* A socket bound then closed: what a killed VM leaves. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/999999-0.sock", dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	close(fd);
	CHECK_EQ(count_files(dir), 2);
	CHECK_EQ(a.ops->send(a.opaque, &iov, 1), 0);
	CHECK_EQ(count_files(dir), 1);
	a.ops->destroy(a.opaque);
	vs_loop_destroy(loop);
}

TEST(bad_names_are_refused)
{
	struct vs_error err = { 0 };
	struct vs_net_backend be;
	CHECK(vs_net_switch_open("../x", &be, &err) < 0);
	CHECK(vs_net_switch_open("", &be, &err) < 0);
	CHECK(vs_net_switch_open("a/b", &be, &err) < 0);
	CHECK(strstr(err.msg, "not a switch name") != NULL);
}

/* A driver of two ports on one loop: the receiver drains whenever its
 * port says frames wait (unless told to read nothing), the sender's
 * tx_ready stops the loop. */
struct pair {
	struct vs_loop *loop;
	struct vs_net_backend a, b;
	bool b_reads, a_ready;
	int received, out_of_order;
};

static void b_rx_ready(void *opaque)
{
	struct pair *p = opaque;
	uint8_t got[VS_NET_MAX_FRAME];
	ssize_t n;
	if (!p->b_reads)
		return;
	while ((n = p->b.ops->recv(p->b.opaque, got, sizeof(got))) > 0) {
		int seq = got[14] | got[15] << 8;
		if (n != 1000 || seq != p->received)
			p->out_of_order++;
		p->received++;
	}
}

static void a_tx_ready(void *opaque)
{
	struct pair *p = opaque;
	p->a_ready = true;
	vs_loop_stop(p->loop);
}

static void frame_to(uint8_t *f, const uint8_t *dst, const uint8_t *src, int seq)
{
	memset(f, 0, 1000);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = (uint8_t)seq;
	f[15] = (uint8_t)(seq >> 8);
}

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa }, mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };

/* b announces itself (a learns where mac_b is), then a unicasts to b. */
static int pair_open(struct pair *p, const char *name)
{
	struct vs_error err = { 0 };
	struct vs_net_peer pa = { nop, a_tx_ready, p }, pb = { b_rx_ready, nop, p };
	uint8_t f[1000], got[VS_NET_MAX_FRAME];
	struct iovec iov = { f, sizeof(f) };
	if (vs_loop_create(&p->loop, &err) < 0 || open_port_with(name, p->loop, &p->a, &pa) < 0 ||
	    open_port_with(name, p->loop, &p->b, &pb) < 0)
		return -1;
	frame_to(f, (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, mac_b, 0);
	if (p->b.ops->send(p->b.opaque, &iov, 1) != 0 ||
	    p->a.ops->recv(p->a.opaque, got, sizeof(got)) != 1000)
		return -1;
	return 0;
}

static void pair_close(struct pair *p)
{
	p->a.ops->destroy(p->a.opaque);
	p->b.ops->destroy(p->b.opaque);
	vs_loop_destroy(p->loop);
}

enum { BURST = 1000 };

TEST(a_unicast_burst_arrives_whole_under_back_pressure)
{
	struct pair p = { .b_reads = true };
	uint8_t f[1000];
	struct iovec iov[2] = { { f, 14 }, { f + 14, sizeof(f) - 14 } };
	int eagain = 0;
	CHECK(pair_open(&p, "segD") == 0);
	/* The whole burst is sent before b reads anything: far more than
	 * one socket holds (or the 10 datagrams of net.unix.max_dgram_qlen). */
	for (int seq = 0; seq < BURST;) {
		int rc;
		frame_to(f, mac_b, mac_a, seq);
		rc = p.a.ops->send(p.a.opaque, iov, 2);
		if (rc == -EAGAIN) {
			/* The frame stays with the sender until the link drains. */
			eagain++;
			p.a_ready = false;
			CHECK(vs_loop_run(p.loop) == 0);
			CHECK(p.a_ready);
			continue;
		}
		CHECK_EQ(rc, 0);
		seq++;
	}
	b_rx_ready(&p);
	CHECK_EQ(p.received, BURST);
	CHECK_EQ(p.out_of_order, 0);
	CHECK(eagain > 0); /* back-pressure was exercised, not avoided */
	printf("# %d frames, %d waits for the receiver\n", BURST, eagain);
	pair_close(&p);
}

TEST(a_peer_that_reads_nothing_stalls_the_sender_only_briefly)
{
	struct pair p = { .b_reads = false };
	uint8_t f[1000];
	struct iovec iov = { f, sizeof(f) };
	struct timespec t0, t1;
	int eagain = 0, sent = 0;
	CHECK(pair_open(&p, "segE") == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < BURST; i++) {
		frame_to(f, mac_b, mac_a, i);
		if (p.a.ops->send(p.a.opaque, &iov, 1) == -EAGAIN) {
			eagain++;
			p.a_ready = false;
			CHECK(vs_loop_run(p.loop) == 0); /* the stall timer ends the wait */
			CHECK(p.a_ready);
			CHECK_EQ(p.a.ops->send(p.a.opaque, &iov, 1), 0); /* dropped now */
		}
		sent++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ(sent, BURST);
	CHECK_EQ(eagain, 1); /* once stalled, frames to it are dropped without waiting */
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	/* Once b drains, a waits for it again instead of dropping. */
	p.b_reads = true;
	b_rx_ready(&p);
	CHECK(p.received > 0 && p.received < BURST);
	pair_close(&p);
}

/* The rendezvous directories live in a private $XDG_RUNTIME_DIR. */
TEST(setup)
{
	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK(setenv("XDG_RUNTIME_DIR", tmpdir, 1) == 0);
}

TEST(cleanup)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0);
}

VS_TAP_MAIN(TAP_CASE(setup), TAP_CASE(frames_reach_every_port_of_the_same_name_only),
	    TAP_CASE(a_dead_peers_socket_is_removed), TAP_CASE(bad_names_are_refused),
	    TAP_CASE(a_unicast_burst_arrives_whole_under_back_pressure),
	    TAP_CASE(a_peer_that_reads_nothing_stalls_the_sender_only_briefly), TAP_CASE(cleanup))
