/* The board's doorbell record (machine/doorbell.c): bindings made before
 * an accelerator exists are applied when it attaches, later ones at once,
 * unbinding deassigns only what was applied, and a backend refusing one
 * leaves the notification on the BAR handler. */
#include <errno.h>
#include <string.h>

#include "machine/doorbell.h"
#include "tap.h"

struct call {
	uint64_t gpa;
	uint32_t len;
	int fd;
	bool assign;
};

static struct call calls[16];
static int ncalls;
static uint64_t refuse_gpa;

static int fake_ioeventfd(struct vs_accel *acc, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	(void)acc;
	if (gpa == refuse_gpa && assign)
		return -ENOSPC;
	if (ncalls < 16)
		calls[ncalls++] = (struct call){ gpa, len, fd, assign };
	return 0;
}

static const struct vs_accel_ops fake_ops = { .name = "fake", .ioeventfd = fake_ioeventfd };

TEST(bindings_follow_the_accelerator)
{
	static struct vs_vm vm;
	memset(&vm, 0, sizeof(vm));
	ncalls = 0;
	refuse_gpa = 0;
	pthread_mutex_init(&vm.doorbell_lock, NULL);
	/* Before any accelerator: only recorded. */
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x1000, 10, true), 0);
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x1004, 11, true), 0);
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x2000, 12, true), 0);
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x2000, 12, false), 0); /* the BAR moved */
	CHECK_EQ(ncalls, 0);
	/* Attach: both remaining bindings applied, 2-byte writes. */
	vm.accel_ops = &fake_ops;
	vm.accel = (struct vs_accel *)&vm; /* any non-NULL handle */
	vs_pc_doorbells_attach(&vm);
	CHECK_EQ(ncalls, 2);
	for (int i = 0; i < 2; i++) {
		CHECK(calls[i].assign);
		CHECK_EQ(calls[i].len, 2);
		CHECK((calls[i].gpa == 0x1000 && calls[i].fd == 10) ||
		      (calls[i].gpa == 0x1004 && calls[i].fd == 11));
	}
	/* After: applied and removed at once. */
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x3000, 13, true), 0);
	CHECK_EQ(ncalls, 3);
	CHECK(calls[2].gpa == 0x3000 && calls[2].assign);
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x1000, 10, false), 0);
	CHECK_EQ(ncalls, 4);
	CHECK(calls[3].gpa == 0x1000 && calls[3].fd == 10 && !calls[3].assign);
	/* A refused binding is not deassigned later. */
	refuse_gpa = 0x4000;
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x4000, 14, true), 0);
	CHECK_EQ(ncalls, 4);
	CHECK_EQ(vs_pc_doorbell_bind(&vm, 0x4000, 14, false), 0);
	CHECK_EQ(ncalls, 4);
	vs_pc_doorbells_release(&vm);
	CHECK(vm.doorbells == NULL && vm.ndoorbells == 0);
	pthread_mutex_destroy(&vm.doorbell_lock);
}

VS_TAP_MAIN(TAP_CASE(bindings_follow_the_accelerator))
