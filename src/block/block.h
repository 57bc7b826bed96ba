/* The block layer: disk images behind one driver ops table (raw, qcow2),
 * a synchronous API for tools (`vessel img`) and an asynchronous one for
 * device models (virtio-blk), which submit requests from an I/O thread and
 * get completion callbacks from vs_aio_poll() on that same thread.
 *
 * Drivers implement a synchronous data path; the block layer runs it on the
 * engine's worker threads under the image's lock unless the driver has an
 * asynchronous fast path (`submit`, raw uses io_uring directly).
 */
#ifndef VESSEL_BLOCK_BLOCK_H
#define VESSEL_BLOCK_BLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "block/aio.h"
#include "block/luks.h"
#include "block/throttle.h"
#include "util/error.h"

#define VS_BLOCK_MAX_CHAIN 256 /* backing chain depth refused beyond this */

enum vs_block_open_flags {
	VS_BLOCK_RDWR = 1 << 0,
	VS_BLOCK_NO_BACKING = 1 << 1, /* do not open the backing file */
	/* Open an image whose metadata looks wrong (for `check`): no refusal
	 * of corrupt/dirty images, no consistency checks beyond safety. */
	VS_BLOCK_CHECK = 1 << 2,
	/* Bypass the host page cache (O_DIRECT) once open. Requests aligned
	 * to `direct_align` (512 or 4096, from the file system) in offset,
	 * length and address go to the file as they are; others through
	 * aligned bounce buffers (read-modify-write of the edge blocks), as
	 * qcow2's metadata does. */
	VS_BLOCK_DIRECT = 1 << 3,
	/* Metadata only (`info`): an encrypted image opens without being
	 * unlocked (any passphrase is ignored); its data cannot be read or
	 * written then. */
	VS_BLOCK_NO_IO = 1 << 4,
	/* qemu's cache=unsafe (convert's default): flushes and the ordering
	 * barriers are skipped, nothing is synced at close. */
	VS_BLOCK_UNSAFE = 1 << 5,
};

/* Identity of an image already in the chain being opened (loop check). */
struct vs_block_chain {
	dev_t dev;
	ino_t ino;
	const struct vs_block_chain *next;
};

struct vs_block_open_opts {
	const char *format; /* NULL: probe (raw unless the content says qcow2) */
	unsigned flags;
	uint64_t l2_cache_bytes; /* qcow2: L2 table cache size, 0 = default */
	/* Set by drivers opening a backing file; NULL for the top image. */
	const struct vs_block_chain *chain;
	unsigned depth;
	/* Passphrase of encrypted images (qcow2 LUKS), for the whole chain;
	 * NULL: none given (an encrypted image then refuses to open with
	 * code ENOKEY; a wrong one with EACCES). */
	const void *key;
	size_t key_len;
};

enum vs_block_prealloc {
	VS_PREALLOC_OFF,
	VS_PREALLOC_METADATA,
	VS_PREALLOC_FALLOC,
	VS_PREALLOC_FULL,
};

struct vs_block_create_opts {
	uint64_t size;
	uint32_t cluster_size; /* qcow2; 0 = 64 KiB */
	const char *backing_file;
	const char *backing_fmt;
	enum vs_block_prealloc prealloc;
	int compat; /* qcow2 version: 2 ("0.10") or 3 ("1.1"); 0 = 3 */
	bool lazy_refcounts;
	unsigned refcount_bits; /* 0 = 16 */
	bool extended_l2;
	const char *compression_type; /* "zlib" (NULL) or "zstd" */
	/* Encryption (qcow2): "luks" or NULL, with its passphrase. */
	const char *encrypt_format;
	const void *key;
	size_t key_len;
	struct vs_luks_create_opts encrypt;
};

struct vs_block_info {
	const char *format;
	uint64_t virtual_size;
	uint64_t actual_size;  /* bytes the host file system allocated */
	uint32_t cluster_size; /* 0: not clustered */
	int qcow2_version;
	unsigned refcount_bits;
	bool dirty, corrupt, lazy_refcounts, extended_l2;
	const char *compression_type;
	char backing_file[1024];
	char backing_fmt[32];
	unsigned nb_snapshots;
	const struct vs_luks_header *encrypt; /* LUKS header; NULL: not encrypted */
};

/* block_status flags, as qemu-img map spells them. */
enum {
	VS_BLOCK_DATA = 1 << 0,		/* reads come from a data area (not zeros) */
	VS_BLOCK_ZERO = 1 << 1,		/* reads return zeros */
	VS_BLOCK_ALLOCATED = 1 << 2,	/* this layer (not a backing file) decides */
	VS_BLOCK_OFFSET_VALID = 1 << 3, /* host_offset is the data's location */
	VS_BLOCK_COMPRESSED = 1 << 4,
};

struct vs_block_status {
	unsigned flags;
	uint64_t host_offset;
	unsigned depth; /* layer that decides: 0 = this image */
};

/* Result of a consistency check (qemu-img check's numbers). */
struct vs_block_check {
	uint64_t corruptions, leaks;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t allocated_clusters, total_clusters, fragmented_clusters, compressed_clusters;
	uint64_t image_end_offset;
	bool check_errors; /* the check itself could not complete */
};

enum {
	VS_CHECK_FIX_LEAKS = 1 << 0,
	VS_CHECK_FIX_ERRORS = 1 << 1,
};

/* An internal snapshot, as `snapshot -l` lists it. */
struct vs_block_snapshot {
	char id[32];
	char name[1024];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size;
};

/* Receives one line per problem found, for the CLI to print. */
typedef void (*vs_block_report_fn)(void *ctx, const char *line);

struct vs_block;

/* One driver. Data ops return 0 or -errno; offsets and lengths are in
 * bytes and lie within the image's size (the block layer checks). */
struct vs_block_driver_ops {
	const char *name;
	/* Score how likely the first bytes of a file are this format (0: no). */
	int (*probe)(const uint8_t *buf, size_t len);
	int (*create)(const char *path, const struct vs_block_create_opts *o, struct vs_error *err);
	int (*open)(struct vs_block *bs, int fd, const struct vs_block_open_opts *o, struct vs_error *err);
	void (*close)(struct vs_block *bs);
	int (*read)(struct vs_block *bs, uint64_t off, void *buf, size_t len);
	int (*write)(struct vs_block *bs, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct vs_block *bs);
	int (*discard)(struct vs_block *bs, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct vs_block *bs, uint64_t off, uint64_t len);
	void (*get_info)(struct vs_block *bs, struct vs_block_info *info);
	/* Status of the range starting at `off`: fills `st` and the length
	 * (<= len, > 0) over which it holds in *pnum. */
	int (*block_status)(struct vs_block *bs, uint64_t off, uint64_t len, uint64_t *pnum,
			    struct vs_block_status *st);
	int (*resize)(struct vs_block *bs, uint64_t new_size, struct vs_error *err);
	/* Optional: write one whole cluster compressed (the last one may be
	 * partial), for `convert -c`. */
	int (*write_compressed)(struct vs_block *bs, uint64_t off, const void *buf, size_t len);
	/* Optional: unmap everything (reads come from the backing file). */
	int (*make_empty)(struct vs_block *bs);
	/* Optional: change the backing file name and format recorded in the
	 * image (nothing is copied: `rebase` does that first). */
	int (*set_backing)(struct vs_block *bs, const char *file, const char *fmt, struct vs_error *err);
	/* Optional: internal snapshots (by id or name). */
	int (*snapshot_list)(struct vs_block *bs, struct vs_block_snapshot **out, unsigned *n);
	int (*snapshot_create)(struct vs_block *bs, const char *name, struct vs_error *err);
	int (*snapshot_apply)(struct vs_block *bs, const char *name, struct vs_error *err);
	int (*snapshot_delete)(struct vs_block *bs, const char *name, struct vs_error *err);
	/* Optional: consistency check, repairs as `fix` asks (image opened
	 * read-write with VS_BLOCK_CHECK for repairs). */
	int (*check)(struct vs_block *bs, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		     void *ctx, struct vs_error *err);
	/* Optional asynchronous fast path; returns 0 when it took the request,
	 * -ENOTSUP to fall back to the synchronous path on a worker. A driver
	 * that wraps areq->done must end by calling vs_block_aio_done(). */
	int (*submit)(struct vs_block *bs, struct vs_aio *aio, struct vs_aio_req *areq, int op, uint64_t off,
		      const struct iovec *iov, int iovcnt);
};

enum vs_block_op {
	VS_BLOCK_READ,
	VS_BLOCK_WRITE,
	VS_BLOCK_FLUSH,
	VS_BLOCK_DISCARD,
	VS_BLOCK_WRITE_ZEROES,
};

struct vs_block_req;
typedef void (*vs_block_cb)(struct vs_block_req *req, int ret);

/* An asynchronous request, owned by the submitter until `done` runs. */
struct vs_block_req {
	enum vs_block_op op;
	uint64_t offset;
	uint64_t len; /* DISCARD / WRITE_ZEROES; READ/WRITE use the iovecs */
	const struct iovec *iov;
	int iovcnt;
	vs_block_cb done;
	void *opaque;
	/* block-layer private */
	struct vs_block *bs_;
	struct vs_aio_req aio_;
	void *bounce_;
	void *data_; /* the bytes the synchronous path reads or writes */
	size_t bytes_;
	struct vs_block_req *next_;
};

struct vs_block {
	const struct vs_block_driver_ops *drv;
	void *opaque; /* driver state */
	int fd;
	uint64_t size;
	bool read_only;
	/* A regular file read and written through the page cache (not
	 * O_DIRECT): writes to it may run inline (vs_aio_req.inline_ok). */
	bool page_cache;
	/* O_DIRECT: the alignment of offsets, lengths and buffers the file
	 * takes (statx's DIO alignment, else st_blksize); 0 without it. */
	unsigned direct_align;
	char *filename;
	struct vs_block *backing; /* owned; NULL when none */
	/* Serializes the synchronous data path of drivers run on workers. */
	pthread_mutex_t lock;
	struct vs_throttle throttle;
	struct vs_block_req *throttled_head, *throttled_tail;
	/* Why the last data operation failed, when the driver knows better
	 * than an errno (a hostile table entry, ...); "" otherwise. */
	char last_error[256];
};

extern const struct vs_block_driver_ops vs_block_raw;
extern const struct vs_block_driver_ops vs_block_qcow2;

const struct vs_block_driver_ops *vs_block_driver(const char *name);

int vs_block_open(const char *path, const struct vs_block_open_opts *o, struct vs_block **out,
		  struct vs_error *err);
void vs_block_close(struct vs_block *bs);

/* Create an image: written to a temporary file next to `path` and renamed
 * into place, so a failure leaves nothing behind. */
int vs_block_create(const char *path, const char *format, const struct vs_block_create_opts *o,
		    struct vs_error *err);

/* File I/O for drivers, on bs->fd: whole transfers, through an aligned
 * bounce buffer where O_DIRECT needs one. Reads return the bytes read
 * (fewer only at the end of the file) or -errno; writes 0 or -errno. */
int64_t vs_block_file_read(struct vs_block *bs, uint64_t off, void *buf, size_t len);
int vs_block_file_write(struct vs_block *bs, uint64_t off, const void *buf, size_t len);

/* Synchronous data path (under the image's lock). Reads past the end of a
 * backing file return zeros. All return 0 or -errno. */
int vs_block_pread(struct vs_block *bs, uint64_t off, void *buf, size_t len);
int vs_block_pwrite(struct vs_block *bs, uint64_t off, const void *buf, size_t len);
int vs_block_flush(struct vs_block *bs);
/* -ENOTSUP when the format has no compression. */
int vs_block_pwrite_compressed(struct vs_block *bs, uint64_t off, const void *buf, size_t len);
int vs_block_discard(struct vs_block *bs, uint64_t off, uint64_t len);
int vs_block_write_zeroes(struct vs_block *bs, uint64_t off, uint64_t len);
int vs_block_status(struct vs_block *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		    struct vs_block_status *st);
void vs_block_get_info(struct vs_block *bs, struct vs_block_info *info);
int vs_block_resize(struct vs_block *bs, uint64_t new_size, struct vs_error *err);

int vs_block_check(struct vs_block *bs, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		   void *ctx, struct vs_error *err);

int vs_block_make_empty(struct vs_block *bs);
int vs_block_set_backing(struct vs_block *bs, const char *file, const char *fmt, struct vs_error *err);

/* Internal snapshots: the list is malloc'd (free() it). */
int vs_block_snapshot_list(struct vs_block *bs, struct vs_block_snapshot **out, unsigned *n,
			   struct vs_error *err);
int vs_block_snapshot_create(struct vs_block *bs, const char *name, struct vs_error *err);
int vs_block_snapshot_apply(struct vs_block *bs, const char *name, struct vs_error *err);
int vs_block_snapshot_delete(struct vs_block *bs, const char *name, struct vs_error *err);

/* Throttle the asynchronous path (zeros: unlimited). */
void vs_block_set_throttle(struct vs_block *bs, uint64_t bps, uint64_t bps_burst, uint64_t iops,
			   uint64_t iops_burst);

/* Submit an asynchronous request; `done` runs from vs_aio_poll(aio). A
 * request the throttle holds back waits inside the block layer until
 * vs_block_run_throttled() lets it go. Returns 0, or -errno when the
 * request is malformed (then `done` never runs). */
int vs_block_submit(struct vs_block *bs, struct vs_aio *aio, struct vs_block_req *req);

/* The block layer's completion of an engine request (for drivers). */
void vs_block_aio_done(struct vs_aio_req *areq);

/* Submit what the throttle now admits; returns the nanoseconds until the
 * next held request may go (0 when none is held): an I/O thread arms a
 * timer with it. */
uint64_t vs_block_run_throttled(struct vs_block *bs, struct vs_aio *aio);

/* Fail every request the throttle holds with -ECANCELED; their `done`
 * runs from vs_aio_poll() as usual (a device going away or reset). */
void vs_block_cancel_throttled(struct vs_block *bs, struct vs_aio *aio);

#endif
