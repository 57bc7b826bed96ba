/* qcow2 asynchronous fast path: a read whose range maps to one run of
 * data clusters goes straight to the engine (io_uring) at its host offset,
 * and one that reads as zeros completes at once; a write into clusters it
 * owns alone (COPIED) goes straight to the engine too. Everything else
 * (backing files, compressed clusters, allocating writes) takes the
 * synchronous path on a worker. The lookup runs in the submitting thread under a trylock, so
 * an I/O thread never blocks behind a worker holding the image.
 *
 * A cluster used this way must not be freed, reused or shared before the
 * request lands: the paths that free or share clusters wait first. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "block/qcow2/qcow2.h"

static void fast_done(struct vs_aio_req *areq)
{
	struct vs_block_req *req = areq->opaque;
	struct qcow2 *s = req->bs_->opaque;
	__atomic_fetch_sub(&s->fast_inflight, 1, __ATOMIC_RELEASE);
	vs_block_aio_done(areq);
}

void qcow2_drain_fast(struct qcow2 *s)
{
	/* Completions are counted down by the engine's poller (another
	 * thread); this only waits on reads already in the kernel. */
	while (__atomic_load_n(&s->fast_inflight, __ATOMIC_ACQUIRE))
		sched_yield();
}

int qcow2_submit(struct vs_block *bs, struct vs_aio *aio, struct vs_aio_req *areq, int op, uint64_t off,
		 const struct iovec *iov, int iovcnt)
{
	struct qcow2 *s = bs->opaque;
	struct qcow2_map m;
	size_t len = 0;
	/* Encrypted data goes through the cipher on the synchronous path. */
	if ((op != VS_BLOCK_READ && op != VS_BLOCK_WRITE) || s->crypt)
		return -ENOTSUP;
	uint64_t misalign = 0, align = bs->direct_align;
	for (int i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		misalign |= (uintptr_t)iov[i].iov_base | iov[i].iov_len;
	}
	/* O_DIRECT: buffers and offsets the file takes as they are (others
	 * are bounced by the synchronous path); no writes when a cluster is
	 * smaller than a block (metadata could share its block). */
	if (align && ((misalign | off) & (align - 1) || (op == VS_BLOCK_WRITE && s->cluster_size < align)))
		return -ENOTSUP;
	if (!len || pthread_mutex_trylock(&bs->lock) != 0)
		return -ENOTSUP;
	int r = qcow2_get_mapping(s, off, len, &m);
	bool write = op == VS_BLOCK_WRITE;
	bool zero = !write && (m.kind == QCOW2_ZERO || (m.kind == QCOW2_UNALLOCATED && !bs->backing));
	bool data = m.kind == QCOW2_NORMAL && (!write || m.copied) && m.host_offset + len <= s->file_end &&
		    !(align && (m.host_offset & (align - 1))) &&
		    (!write || !qcow2_metadata_at(s, m.host_offset, len, true));
	if (r < 0 || m.bytes < len || !(zero || data)) {
		pthread_mutex_unlock(&bs->lock);
		return -ENOTSUP;
	}
	if (zero) {
		pthread_mutex_unlock(&bs->lock);
		for (int i = 0; i < iovcnt; i++)
			memset(iov[i].iov_base, 0, iov[i].iov_len);
		vs_aio_complete_now(aio, areq, (int64_t)len);
		return 0;
	}
	__atomic_fetch_add(&s->fast_inflight, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&bs->lock);
	areq->op = write ? VS_AIO_WRITE : VS_AIO_READ;
	areq->fd = s->fd;
	areq->offset = m.host_offset;
	areq->iov = iov;
	areq->iovcnt = iovcnt;
	areq->done = fast_done;
	areq->inline_ok = write && bs->page_cache;
	vs_aio_submit(aio, areq);
	return 0;
}
