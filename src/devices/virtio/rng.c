#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define RNG_TYPE 4
#define RNG_CLASS 0x00ff00 /* unclassified device */
#define RNG_QUEUE_SIZE 64
/* A chain asking for more is served in part: the length in the used ring
 * says how much it got. */
#define RNG_MAX_CHUNK (64 * 1024)

struct rng {
	struct vs_virtio *virtio; /* first: tests/fuzz/fuzz_virtio_pci.c relies on it */
	struct vs_vq_elem elem;
};

static uint32_t fill(const struct vs_vq_elem *e)
{
	uint64_t done = 0;
	for (unsigned int i = e->nout; i < (unsigned int)e->nout + e->nin && done < RNG_MAX_CHUNK; i++) {
		uint64_t want = e->iov[i].len, got = 0;
		if (want > RNG_MAX_CHUNK - done)
			want = RNG_MAX_CHUNK - done;
		while (got < want) {
			ssize_t n = getrandom(e->iov[i].base + got, want - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return (uint32_t)(done + got);
			}
			got += (uint64_t)n;
		}
		done += got;
	}
	return (uint32_t)done;
}

static void rng_notify(void *opaque, struct vs_virtio *v, uint16_t q)
{
	struct rng *r = opaque;
	struct vs_vq *vq = vs_virtio_queue(v, q);
	while (vs_vq_pop(vq, &r->elem) > 0)
		vs_vq_push(vq, r->elem.head, fill(&r->elem));
	vs_virtio_queue_done(v, q);
}

static const struct vs_virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_type = RNG_TYPE,
	.pci_class = RNG_CLASS,
	.num_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.queue_notify = rng_notify,
};

static void rng_destroy(void *opaque)
{
	struct rng *r = opaque;
	vs_virtio_destroy(r->virtio);
	free(r);
}

int vs_virtio_rng_create(const struct vs_virtio_config *env, struct vs_device *dev, struct vs_error *err)
{
	struct vs_virtio_config cfg = *env;
	struct rng *r = calloc(1, sizeof(*r));
	if (!r)
		return vs_error_set(err, ENOMEM, "allocating virtio-rng");
	cfg.ops = &rng_ops;
	cfg.opaque = r;
	if (vs_virtio_create(&cfg, &r->virtio, err) < 0) {
		free(r);
		return -1;
	}
	*dev = (struct vs_device){ .name = "virtio-rng", .opaque = r, .destroy = rng_destroy };
	return 0;
}
