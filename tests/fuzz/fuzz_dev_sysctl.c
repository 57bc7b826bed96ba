/* libFuzzer target: the system-control ports (isa-debug-exit, ACPI PM1a
 * event and control blocks, reset register, POST port) under any sequence
 * of guest accesses. */
#include <stdlib.h>

#include "devices/legacy/sysctl.h"
#include "fuzz_dev.h"
#include "hw/pc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stop stops = { 0 };
	struct vs_stop_sink sink = { fuzz_stop_request, &stops };
	struct fuzz_input in = { data, size };
	struct vs_sysctl *sc;

	fuzz_dev_quiet();
	sc = vs_sysctl_create(&sink);
	if (!sc)
		abort();
	const struct fuzz_range ranges[] = {
		{ VS_PORT_DEBUG_EXIT, 2, &vs_debug_exit_ops, sc, "isa-debug-exit" },
		{ VS_PORT_ACPI_PM1A_EVT, 4, &vs_acpi_pm1a_evt_ops, sc, "acpi-pm1a-evt" },
		{ VS_PORT_ACPI_PM1A_CNT, 2, &vs_acpi_pm1a_cnt_ops, sc, "acpi-pm1a-cnt" },
		{ VS_PORT_RESET, 1, &vs_reset_ops, sc, "reset-control" },
		{ VS_PORT_POST, 1, &vs_post_port_ops, sc, "post-port" },
	};
	fuzz_dev_run(&in, ranges, 5, NULL, NULL);
	vs_sysctl_destroy(sc);
	return 0;
}
