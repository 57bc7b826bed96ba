/* virtio-balloon (virtio 1.2 section 5.5) with free page reporting and
 * memory statistics. The guest hands back ranges of RAM it does not use
 * (reporting_vq) and pages it gives up (inflateq), and the device drops
 * their host memory with madvise(MADV_DONTNEED), so an idle guest's freed
 * memory returns to the host. The target size stays 0: nothing asks the
 * guest to inflate, so inflate and deflate only see what a driver does on
 * its own.
 *
 * Statistics (VIRTIO_BALLOON_F_STATS_VQ, section 5.5.6.3): the driver
 * keeps one readable buffer of 10-byte {le16 tag, le64 value} entries on
 * the statsq; the device holds it, and asks for fresh values by returning
 * it used, which the driver answers with a new buffer. The device keeps
 * the latest set and when it arrived, and asks every `stats_interval`
 * seconds (0: never; the driver's first report at probe still counts). */
#ifndef VESSEL_DEVICES_VIRTIO_BALLOON_H
#define VESSEL_DEVICES_VIRTIO_BALLOON_H

#include <stdint.h>
#include <stdio.h>

#include "devices/virtio/virtio_pci.h"
#include "hw/device.h"

/* Queue numbers. Section 5.5.2 lists inflateq, deflateq, statsq,
 * free_page_vq, reporting_vq, each of the last three existing only with
 * its feature; Linux (and QEMU) number only the queues that exist, so the
 * reporting queue is 3 with the stats queue, 2 without it (no free page
 * hinting is offered). Linux 6.1 reports free pages on queue 3 here
 * (tests/integration/test_linux_devices.py). */
#define VS_BALLOON_Q_INFLATE 0
#define VS_BALLOON_Q_DEFLATE 1
#define VS_BALLOON_Q_STATS 2
#define VS_BALLOON_F_STATS_VQ (1ull << 1)
#define VS_BALLOON_F_REPORTING (1ull << 5)
#define VS_BALLOON_Q_REPORTING(features) ((features)&VS_BALLOON_F_STATS_VQ ? 3 : 2)

/* Statistics tags (section 5.5.6.3); memory amounts are in bytes. */
enum vs_balloon_stat {
	VS_BALLOON_S_SWAP_IN,
	VS_BALLOON_S_SWAP_OUT,
	VS_BALLOON_S_MAJFLT,
	VS_BALLOON_S_MINFLT,
	VS_BALLOON_S_MEMFREE,
	VS_BALLOON_S_MEMTOT,
	VS_BALLOON_S_AVAIL,
	VS_BALLOON_S_CACHES,
	VS_BALLOON_S_HTLB_PGALLOC,
	VS_BALLOON_S_HTLB_PGFAIL,
	VS_BALLOON_S_NR
};

/* The latest report; a tag the driver left out has its `present` bit
 * clear (and value 0). */
struct vs_balloon_stats {
	uint64_t reports; /* buffers received since the device was created, 0: none yet */
	uint64_t at_ns;	  /* when the last one arrived, CLOCK_MONOTONIC */
	uint32_t present; /* 1 << tag for each tag in it */
	uint64_t val[VS_BALLOON_S_NR];
};

struct vs_balloon_config {
	unsigned int stats_interval; /* seconds between requests, 0: none */
};

/* `env` as for vs_virtio_rng_create; `bc` NULL: no periodic requests. */
int vs_virtio_balloon_create(const struct vs_virtio_config *env, const struct vs_balloon_config *bc,
			     struct vs_device *dev, struct vs_error *err);

/* On the device (`dev->opaque`), from any thread: a copy of the latest
 * statistics; ask the driver for fresh ones now, as the timer does (no
 * effect while the driver holds the buffer). */
void vs_virtio_balloon_stats(void *balloon, struct vs_balloon_stats *out);
void vs_virtio_balloon_stats_request(void *balloon);
/* The tag's name in reports ("free-memory", ...), NULL past the known ones. */
const char *vs_balloon_stat_name(unsigned int tag);
/* One line: the statistics and their age at `now_ns` (CLOCK_MONOTONIC). */
void vs_balloon_stats_print(const struct vs_balloon_stats *s, uint64_t now_ns, FILE *out);

#endif
