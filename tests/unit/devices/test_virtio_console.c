/* virtio-console driven as a guest driver would: output reaches out_fd,
 * input from in_fd fills receive buffers whichever comes first (the data
 * or the buffer), and a listening socket's client gets both directions. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/console.h"
#include "tap.h"
#include "virtio_driver.h"

#define SLOT 6

static int make(struct vdrv *d, struct vs_device *dev, const struct vs_virtio_console_config *cc)
{
	struct vs_error err = { 0 };
	struct vs_virtio_config env;
	if (vd_board(d, false) < 0)
		return -1;
	env = vd_env(d, SLOT);
	if (vs_virtio_console_create(&env, cc, dev, &err) < 0) {
		printf("# console: %s\n", err.msg);
		return -1;
	}
	return 0;
}

TEST(output_and_input_through_pipes)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	int in[2], out[2];
	char buf[32] = "";
	CHECK(pipe(in) == 0 && pipe(out) == 0);
	struct vs_virtio_console_config cc = { .in_fd = in[0], .out_fd = out[1], .listen_fd = -1 };
	CHECK(make(&d, &dev, &cc) == 0);
	CHECK_EQ_U64(vd_cfg_read(&d, SLOT, 0, 4), 0x10431af4);
	CHECK(vd_start(&d, SLOT, 0, 2, true) & VS_VIRTIO_S_DRIVER_OK);
	CHECK_EQ_U64(vd_read(&d, VS_VIRTIO_COMMON_NUMQ, 2), 2);
	/* Output: two readable segments, written in order. */
	vs_gpa_write(&d.mem, VD_DATA, "hello, ", 7);
	vs_gpa_write(&d.mem, VD_DATA + 0x100, "host", 4);
	struct vd_seg tx[2] = { { VD_DATA, 7, false }, { VD_DATA + 0x100, 4, false } };
	vd_submit(&d, VS_CONSOLE_Q_TX, tx, 2);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_TX), 0);
	CHECK_EQ_U64(read(out[0], buf, sizeof(buf)), 11);
	CHECK(memcmp(buf, "hello, host", 11) == 0);
	/* Input waiting before the buffer is posted. */
	CHECK(write(in[1], "abc", 3) == 3);
	struct vd_seg rx = { VD_DATA + 0x1000, 16, true };
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 3);
	CHECK(memcmp(vs_gpa_ptr(&d.mem, VD_DATA + 0x1000, 3), "abc", 3) == 0);
	/* A buffer posted before the input arrives. */
	rx.addr = VD_DATA + 0x2000;
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	CHECK(write(in[1], "defgh", 5) == 5);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 5);
	CHECK(memcmp(vs_gpa_ptr(&d.mem, VD_DATA + 0x2000, 5), "defgh", 5) == 0);
	/* More input than one buffer holds spills into the next. */
	rx.addr = VD_DATA + 0x3000;
	rx.len = 4;
	CHECK(write(in[1], "123456", 6) == 6);
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 4);
	rx.addr = VD_DATA + 0x4000;
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 2);
	CHECK(memcmp(vs_gpa_ptr(&d.mem, VD_DATA + 0x4000, 2), "56", 2) == 0);
	vd_release(&d, &dev);
	close(in[1]);
	close(out[0]);
}

TEST(socket_client)
{
	struct vdrv d;
	struct vs_device dev = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vessel-console-XXXXXX";
	char buf[16] = "";
	int lfd, cfd;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 1) == 0);
	struct vs_virtio_console_config cc = { .in_fd = -1, .out_fd = -1, .listen_fd = lfd };
	CHECK(make(&d, &dev, &cc) == 0);
	CHECK(vd_start(&d, SLOT, 0, 2, true) & VS_VIRTIO_S_DRIVER_OK);
	/* Output with nobody connected is dropped, not kept. */
	vs_gpa_write(&d.mem, VD_DATA, "lost", 4);
	struct vd_seg tx = { VD_DATA, 4, false };
	vd_submit(&d, VS_CONSOLE_Q_TX, &tx, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_TX), 0);
	struct vd_seg rx = { VD_DATA + 0x1000, 16, true };
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(write(cfd, "ping", 4) == 4);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 4);
	CHECK(memcmp(vs_gpa_ptr(&d.mem, VD_DATA + 0x1000, 4), "ping", 4) == 0);
	vs_gpa_write(&d.mem, VD_DATA, "pong", 4);
	vd_submit(&d, VS_CONSOLE_Q_TX, &tx, 1);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_TX), 0);
	CHECK_EQ_U64(read(cfd, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	/* The client leaves; the next one is served. */
	close(cfd);
	rx.addr = VD_DATA + 0x2000;
	vd_submit(&d, VS_CONSOLE_Q_RX, &rx, 1);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(write(cfd, "again", 5) == 5);
	CHECK_EQ_U64(vd_wait_used(&d, VS_CONSOLE_Q_RX), 5);
	CHECK(memcmp(vs_gpa_ptr(&d.mem, VD_DATA + 0x2000, 5), "again", 5) == 0);
	close(cfd);
	vd_release(&d, &dev);
	unlink(sa.sun_path);
	rmdir(dir);
}

VS_TAP_MAIN(TAP_CASE(output_and_input_through_pipes), TAP_CASE(socket_client))
