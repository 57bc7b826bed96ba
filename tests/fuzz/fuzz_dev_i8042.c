/* libFuzzer target: the i8042 controller under any sequence of guest
 * accesses to its data and command ports. */
#include <stdlib.h>

#include "devices/legacy/i8042.h"
#include "fuzz_dev.h"
#include "hw/pc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stop stops = { 0 };
	struct vs_stop_sink sink = { fuzz_stop_request, &stops };
	struct fuzz_input in = { data, size };
	struct vs_i8042 *kbd;

	fuzz_dev_quiet();
	kbd = vs_i8042_create(&sink);
	if (!kbd)
		abort();
	const struct fuzz_range ranges[] = {
		{ VS_PORT_I8042_DATA, 1, &vs_i8042_data_ops, kbd, "i8042-data" },
		{ VS_PORT_I8042_CMD, 1, &vs_i8042_cmd_ops, kbd, "i8042-cmd" },
	};
	fuzz_dev_run(&in, ranges, 2, NULL, NULL);
	/* The controller only ever asks for a reset. */
	if (stops.calls && stops.last_reason != VS_STOP_RESET)
		abort();
	vs_i8042_destroy(kbd);
	return 0;
}
