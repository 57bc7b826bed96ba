/* qcow2 driver internals (format: qemu's docs/interop/qcow2.txt).
 *
 * Metadata is written in an order that makes a crash, a power cut
 * included, leave leaked clusters at worst: a cluster's refcount is raised
 * before anything points at it, data lands before the L2 entry that maps
 * it, and a refcount is lowered only after the last pointer to the
 * cluster is gone. "Before" means an fdatasync barrier in between, which
 * the page cache alone does not give: L2 entries that point at freshly
 * allocated clusters wait in the L2 cache (dirty) until a barrier has made
 * the refcounts durable (at flush, eviction, or before a refcount is
 * lowered), so allocating writes cost no fdatasync each; writes into
 * clusters already allocated never wait for one. The L1 entry of a new
 * L2 table waits the same way, so a flush costs one barrier for all.
 * Refcount changes wait in the refcount block cache too, and every
 * barrier writes them first: a raised count reaches the file before the
 * barrier that precedes any pointer to the cluster, and a lowered one is
 * made only after the pointers it counted are durable (a count written
 * late is a leak at worst). An allocating write thus costs one host write
 * (its data) until the next flush.
 *
 * With lazy refcounts (compat bit) the dirty bit is set before the first
 * refcount change, refcount blocks are written back lazily, the barriers
 * are skipped, and opening a dirty image rebuilds the counts (as qemu).
 *
 * Not thread-safe: the block layer serializes calls under the image lock.
 */
#ifndef VESSEL_BLOCK_QCOW2_H
#define VESSEL_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20) /* refused beyond: absurd */
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_HEADER_V2_LEN 72
#define QCOW2_HEADER_V3_LEN 104

/* Header field offsets. */
#define QH_BACKING_OFFSET 8
#define QH_SIZE 24
#define QH_L1_SIZE 36
#define QH_L1_OFFSET 40
#define QH_RT_OFFSET 48
#define QH_RT_CLUSTERS 56
#define QH_INCOMPAT 72
#define QH_COMPAT 80
#define QH_AUTOCLEAR 88

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* Header extension types. */
#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* Table entry bits. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull
#define QCOW2_RT_RESERVED 0x1ffull

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

/* What a guest range maps to. */
enum qcow2_kind {
	QCOW2_UNALLOCATED, /* read from the backing file, or zeros */
	QCOW2_ZERO,	   /* reads as zeros */
	QCOW2_NORMAL,	   /* at host_offset */
	QCOW2_COMPRESSED,  /* compressed cluster: host_offset/comp_len */
};

struct qcow2_map {
	enum qcow2_kind kind;
	uint64_t host_offset; /* NORMAL: of the byte asked for */
	uint64_t comp_len;    /* COMPRESSED: bytes to read */
	uint64_t bytes;	      /* how far the mapping holds */
	bool copied;	      /* NORMAL: refcount 1, writable in place */
};

struct qcow2_cache_slot {
	uint64_t offset; /* 0: empty */
	uint64_t used;	 /* LRU stamp */
	uint8_t *data;
	bool dirty;		     /* newer than the file: written back on eviction/flush */
	uint32_t dirty_lo, dirty_hi; /* the bytes that are (a write-back writes only those) */
};

struct qcow2_cache {
	unsigned n;
	unsigned ndirty; /* slots marked dirty (write-back skips clean caches) */
	uint64_t clock;
	struct qcow2_cache_slot *slots;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint64_t disk_size;
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
};

struct qcow2 {
	struct vs_block *bs;
	int fd;
	bool rw;

	/* Header. */
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t size;
	uint32_t crypt_method;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
	uint64_t backing_offset;
	uint32_t backing_len;
	char *backing_file;
	char backing_fmt[32];

	/* Geometry. */
	bool extl2;
	unsigned l2_entry_size; /* 8, or 16 with extended L2 entries */
	uint64_t l2_entries;	/* per L2 table */
	unsigned l2_bits;	/* log2(l2_entries) */
	uint64_t subcluster_size;
	uint64_t rb_entries; /* refcounts per refcount block */
	unsigned rb_bits;
	uint64_t refcount_max;

	/* Tables kept in memory (host byte order). */
	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;

	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_size; /* bytes of the snapshot table */
	struct qcow2_snapshot *snapshots;

	/* Feature names read from the feature-name table, for messages. */
	char feature_names[3][64][47];

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;
	uint64_t free_hint; /* no free cluster below this index */
	uint64_t file_end;  /* bytes: end of the file as last known */

	/* One decompressed cluster, reused when reads walk through it. */
	uint8_t *zbuf_in;
	uint8_t *zbuf_out;
	uint64_t zbuf_host; /* descriptor of the cluster in zbuf_out, 0: none */
	uint64_t comp_next; /* free bytes after the last compressed cluster written, 0: none */
	uint8_t *cow_buf;   /* one cluster for read-modify-write */
	uint8_t *zeros;	    /* one cluster of zeros */

	/* Ordering (see the top): written since the last fdatasync, and a
	 * refcount raised since then (L2 entries wait for a barrier). */
	bool unsynced, alloc_unsynced;
	bool l1_dirty; /* L1 entries for new tables wait for a barrier too */
	bool lazy;     /* lazy refcounts on an image open read-write */
	bool unsafe;   /* VS_BLOCK_UNSAFE: no fdatasync at all */
	/* Reads sent straight to the engine and not yet completed: paths
	 * that free clusters wait for them (qcow2_drain_fast). */
	unsigned fast_inflight;
	/* Sorted offsets of the refcount blocks and active L2 tables, for
	 * the overlap check of in-place writes; rebuilt when stale. */
	uint64_t *meta;
	uint64_t nmeta;
	bool meta_stale;

	/* LUKS encryption (crypt_method 2): the area holding the LUKS header
	 * and key slots, and the unlocked cipher (qcow2_crypt.c). */
	bool has_crypt_ext;
	uint64_t crypt_offset, crypt_length;
	struct qcow2_crypt *crypt;
};

/* Big-endian helpers. */
static inline uint64_t qcow2_be64(const void *p)
{
	const uint8_t *b = p;
	return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) | ((uint64_t)b[2] << 40) |
	       ((uint64_t)b[3] << 32) | ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
	       ((uint64_t)b[6] << 8) | b[7];
}
static inline uint32_t qcow2_be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}
static inline uint16_t qcow2_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)((b[0] << 8) | b[1]);
}
static inline void qcow2_put64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}
static inline void qcow2_put32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 3; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}
static inline void qcow2_put16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Record why a data operation failed (the block layer's last error). */
void qcow2_fail(struct qcow2 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* File I/O: whole transfers or -errno (-EIO on a short read). */
int qcow2_pread(struct qcow2 *s, uint64_t off, void *buf, size_t len);
int qcow2_pwrite(struct qcow2 *s, uint64_t off, const void *buf, size_t len);

/* qcow2_fast.c */
int qcow2_submit(struct vs_block *bs, struct vs_aio *aio, struct vs_aio_req *areq, int op, uint64_t off,
		 const struct iovec *iov, int iovcnt);
void qcow2_drain_fast(struct qcow2 *s);

/* qcow2_header.c */
int qcow2_parse_header(struct qcow2 *s, const uint8_t *buf, size_t len, uint64_t file_size, unsigned flags,
		       struct vs_error *err);
int qcow2_load_tables(struct qcow2 *s, struct vs_error *err);
int qcow2_write_incompat(struct qcow2 *s, uint64_t incompat);
int qcow2_set_backing(struct vs_block *bs, const char *file, const char *fmt, struct vs_error *err);
int qcow2_create(const char *path, const struct vs_block_create_opts *o, struct vs_error *err);

/* qcow2_snapshot.c */
int qcow2_read_snapshots(struct qcow2 *s, struct vs_error *err);
void qcow2_free_snapshots(struct qcow2 *s);

/* qcow2_snapshot_ops.c */
int qcow2_snapshot_create(struct vs_block *bs, const char *name, struct vs_error *err);
int qcow2_snapshot_apply(struct vs_block *bs, const char *name, struct vs_error *err);
int qcow2_snapshot_delete(struct vs_block *bs, const char *name, struct vs_error *err);
int qcow2_snapshot_list(struct vs_block *bs, struct vs_block_snapshot **out, unsigned *n);

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size);
void qcow2_cache_free(struct qcow2_cache *c);
/* Table at `offset` (cluster-aligned), loaded if needed. */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data);
/* A table just written in full to a fresh cluster: install without reading. */
int qcow2_cache_install(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, uint8_t **data);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t offset);
/* Bytes [lo, hi) of the table at `offset` are newer than the file. */
void qcow2_cache_mark_dirty_range(struct qcow2_cache *c, uint64_t offset, uint64_t lo, uint64_t hi);
bool qcow2_cache_has_dirty(const struct qcow2_cache *c);
/* Write every dirty slot to the file. */
int qcow2_cache_write_back(struct qcow2 *s, struct qcow2_cache *c);

/* Ordering: fdatasync when anything was written since the last one; the
 * barrier is the same but skipped while lazy refcounts hold the dirty
 * bit. qcow2_write_back() writes what the caches hold back (refcounts,
 * then a barrier, then L2 entries); flush and close end with a sync. */
int qcow2_sync(struct qcow2 *s);
int qcow2_barrier(struct qcow2 *s);
/* Refcount blocks the cache holds to the file, then fdatasync (even
 * when unsafe): every fdatasync of an ordering step goes through here,
 * since raised refcounts wait in the cache for the next one. */
int qcow2_fdatasync(struct qcow2 *s);
int qcow2_write_back(struct qcow2 *s);
bool qcow2_lazy_active(const struct qcow2 *s);
/* qcow2_write_back() before an operation that reads tables from the file
 * (snapshots, check); a message on failure. */
int qcow2_write_back_for(struct qcow2 *s, struct vs_error *err);

/* qcow2_refcount.c */
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *out);
/* Add `delta` to the refcounts of clusters [first, first + n): blocks must
 * exist for increments (allocation makes them). */
int qcow2_update_refcounts(struct qcow2 *s, uint64_t first, uint64_t n, int64_t delta);
/* Allocate n contiguous clusters (refcount 1): returns the byte offset. */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset);
/* Drop one reference to every cluster touched by [off, off + len). */
int qcow2_free_range(struct qcow2 *s, uint64_t off, uint64_t len);
void qcow2_put_refcount_entry(struct qcow2 *s, uint8_t *block, uint64_t index, uint64_t value);
uint64_t qcow2_get_refcount_entry(const struct qcow2 *s, const uint8_t *block, uint64_t index);

/* qcow2_cluster.c */
int qcow2_get_mapping(struct qcow2 *s, uint64_t guest, uint64_t max, struct qcow2_map *m);
/* L2 table for a guest offset, made (or copied if shared) when `alloc`:
 * *l2 is NULL (and 0 returned) when there is none and !alloc. */
int qcow2_get_l2(struct qcow2 *s, uint64_t guest, bool alloc, uint8_t **l2, uint64_t *l2_offset);
uint64_t qcow2_l2_entry(const struct qcow2 *s, const uint8_t *l2, uint64_t idx);
uint64_t qcow2_l2_bitmap(const struct qcow2 *s, const uint8_t *l2, uint64_t idx);
/* Set entries [idx, idx + n) of an L2 table in the cache and the file. */
int qcow2_set_l2_entries(struct qcow2 *s, uint64_t l2_offset, uint8_t *l2, uint64_t idx, uint64_t n,
			 const uint64_t *entries, const uint64_t *bitmaps);
/* Release what an L2 entry points at (data or compressed bytes). */
int qcow2_free_entry(struct qcow2 *s, uint64_t entry);
int qcow2_grow_l1(struct qcow2 *s, uint64_t min_entries);
/* The in-memory L1 table to the file (write-back of new table entries). */
int qcow2_write_l1(struct qcow2 *s);
bool qcow2_entry_bad(struct qcow2 *s, uint64_t entry);
/* Which metadata structure [off, off + len) overlaps, NULL if none; the
 * `deep` check also walks refcount blocks, L2 tables and snapshot L1s. */
const char *qcow2_metadata_at(struct qcow2 *s, uint64_t off, uint64_t len, bool deep);
void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2_compress.c */
int qcow2_decompress(struct qcow2 *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);
/* Compress one cluster into out (out_len bytes of room): the compressed
 * length, or 0 when it does not get smaller than out_len. */
size_t qcow2_compress(struct qcow2 *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);
int qcow2_write_compressed(struct vs_block *bs, uint64_t off, const void *buf, size_t len);

/* qcow2_crypt.c */
int qcow2_crypt_check_header(struct qcow2 *s, uint64_t file_size, struct vs_error *err);
/* Read the LUKS header and unlock it with the passphrase the options give. */
int qcow2_crypt_open(struct qcow2 *s, const struct vs_block_open_opts *o, struct vs_error *err);
void qcow2_crypt_free(struct qcow2 *s);
const struct vs_luks_header *qcow2_crypt_header(const struct qcow2 *s);
/* Decrypt data read from sector-aligned host bytes (s->crypt set). */
int qcow2_crypt_decrypt(struct qcow2 *s, uint64_t host, uint8_t *buf, uint64_t len);
/* Write guest data at a host offset: encrypted when the image is. */
int qcow2_write_data(struct qcow2 *s, uint64_t host, const void *buf, uint64_t len);
/* Requests not aligned to sectors, widened (encrypted images). */
int qcow2_crypt_read_unaligned(struct vs_block *bs, uint64_t off, void *buf, size_t len);
int qcow2_crypt_write_unaligned(struct vs_block *bs, uint64_t off, const void *buf, size_t len);
/* Add a LUKS area to an image being created, whose header reserves the
 * encryption extension with its data at byte `ext_data`. */
int qcow2_crypt_create(struct vs_block *bs, const struct vs_block_create_opts *o, uint64_t ext_data,
		       struct vs_error *err);

/* qcow2_check.c */
int qcow2_check(struct vs_block *bs, unsigned fix, struct vs_block_check *res, vs_block_report_fn report,
		void *ctx, struct vs_error *err);

#endif
