/* The test programs. Each prints its results and ends the machine itself
 * (debug-exit, power-off, reset or a triple fault); none returns. `arg` is
 * what followed "name=" in test=name=arg (e.g. exit=5), else "". */
#ifndef GUEST_TESTS_H
#define GUEST_TESTS_H

#include <stddef.h>

void test_info(const char *arg);
void test_serial(const char *arg);
void test_serial_irq(const char *arg);
void test_smp(const char *arg);
void test_cpuid(const char *arg);
void test_timer(const char *arg);
void test_timer_apic(const char *arg);
void test_lapic_timer(const char *arg);
void test_rtc(const char *arg);
void test_reboot(const char *arg);
void test_triple(const char *arg);
void test_poweroff(const char *arg);
void test_exit(const char *arg);
void test_demo(const char *arg);
void test_bench(const char *arg);
void test_pci(const char *arg);
void test_virtio_rng(const char *arg);
void test_virtio_blk(const char *arg);
void test_virtio_net(const char *arg);
void test_isa(const char *arg);

#endif
