/* The host-only switch: ports on one name hear each other's frames,
 * a port on another name hears nothing, a dead peer's socket file is
 * cleaned up, and a closed port leaves no file behind. */
#include <dirent.h>
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

static int open_port(const char *name, struct vs_loop *loop, struct vs_net_backend *be)
{
	struct vs_error err = { 0 };
	if (vs_net_switch_open(name, be, &err) < 0 || be->ops->attach(be->opaque, loop, &peer, &err) < 0) {
		printf("# switch: %s\n", err.msg);
		return -1;
	}
	return 0;
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
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
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
	    TAP_CASE(a_dead_peers_socket_is_removed), TAP_CASE(bad_names_are_refused), TAP_CASE(cleanup))
