/* LUKS1 (cryptsetup's on-disk format 1.2.1, as qemu's crypto/block-luks.c
 * reads and writes it): the header and its key slots, unlocking a key slot
 * with a passphrase (PBKDF2, anti-forensic merge, master-key digest), making
 * a new header, and the sector cipher that encrypts data in 512-byte units.
 * Crypto comes from OpenSSL (libcrypto).
 *
 * The header is untrusted input: vs_luks_parse() refuses every value that
 * would make later steps read out of bounds, allocate absurdly or spin for
 * hours, naming the field. */
#ifndef VESSEL_BLOCK_LUKS_H
#define VESSEL_BLOCK_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define VS_LUKS_HEADER_SIZE 592
#define VS_LUKS_SLOTS 8
#define VS_LUKS_STRIPES 4000
#define VS_LUKS_SECTOR 512
#define VS_LUKS_DIGEST_LEN 20
#define VS_LUKS_SALT_LEN 32
#define VS_LUKS_MAX_KEY 64
/* PBKDF2 iterations refused beyond this (per slot and for the master-key
 * digest): cryptsetup and qemu time theirs to 1-2 s, a few million on
 * today's machines; an absurd count would make opening hang for hours. */
#define VS_LUKS_MAX_ITERATIONS 10000000u
/* Key-slot iterations `create` uses without encrypt.iter-time (about a
 * tenth of a second with sha256). */
#define VS_LUKS_DEFAULT_ITERATIONS 100000u
#define VS_LUKS_MAX_PASSPHRASE (64u << 10)

enum vs_luks_mode { VS_LUKS_ECB, VS_LUKS_CBC, VS_LUKS_XTS };
enum vs_luks_ivgen { VS_LUKS_IV_NONE, VS_LUKS_IV_PLAIN, VS_LUKS_IV_PLAIN64, VS_LUKS_IV_ESSIV };

struct vs_luks_slot {
	bool active;
	uint32_t iterations;
	uint8_t salt[VS_LUKS_SALT_LEN];
	uint32_t key_offset; /* sectors from the start of the header */
	uint32_t stripes;
};

/* A parsed header; strings are NUL-terminated. */
struct vs_luks_header {
	char cipher_name[33];	 /* "aes" */
	char cipher_mode[33];	 /* "xts-plain64", "cbc-essiv:sha256", ... */
	char hash_spec[33];	 /* PBKDF2 and anti-forensic hash: "sha256" */
	uint32_t payload_offset; /* sectors */
	uint32_t key_bytes;	 /* master key length */
	uint8_t mk_digest[VS_LUKS_DIGEST_LEN];
	uint8_t mk_salt[VS_LUKS_SALT_LEN];
	uint32_t mk_iterations;
	char uuid[41];
	struct vs_luks_slot slots[VS_LUKS_SLOTS];
	/* Decoded from cipher_name, cipher_mode and key_bytes. */
	enum vs_luks_mode mode;
	enum vs_luks_ivgen ivgen;
	char ivgen_hash[33]; /* essiv only */
	unsigned aes_bits;   /* 128, 192 or 256 (per half of an xts key) */
};

/* What `create` asks for, as qemu-img's encrypt.* options spell it; NULL
 * strings take qemu's defaults (aes-256, xts, plain64, sha256). */
struct vs_luks_create_opts {
	const char *cipher_alg;	    /* aes-128, aes-192, aes-256 */
	const char *cipher_mode;    /* ecb, cbc, xts */
	const char *ivgen_alg;	    /* plain, plain64, essiv */
	const char *ivgen_hash_alg; /* essiv's hash */
	const char *hash_alg;	    /* PBKDF2 / anti-forensic hash */
	uint64_t iter_time_ms;	    /* 0: VS_LUKS_DEFAULT_ITERATIONS */
};

/* Parse and validate a header whose key-material area spans `area_len`
 * bytes from its start (the key slots must lie inside it). */
int vs_luks_parse(struct vs_luks_header *h, const uint8_t *buf, size_t len, uint64_t area_len,
		  struct vs_error *err);
void vs_luks_serialize(const struct vs_luks_header *h, uint8_t out[VS_LUKS_HEADER_SIZE]);

/* Bytes of one slot's split key material. */
static inline size_t vs_luks_material_len(const struct vs_luks_header *h)
{
	return (size_t)h->key_bytes * VS_LUKS_STRIPES;
}

/* Primitives (0 or -1). */
int vs_luks_pbkdf2(const char *hash, const void *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
		   uint32_t iterations, uint8_t *out, size_t out_len);
int vs_luks_af_merge(const char *hash, const uint8_t *material, size_t block, unsigned stripes, uint8_t *key);
int vs_luks_af_split(const char *hash, const uint8_t *key, size_t block, unsigned stripes, uint8_t *material);

/* The sector cipher, keyed with a master (or slot) key. */
struct vs_luks_cipher;
int vs_luks_cipher_new(const struct vs_luks_header *h, const uint8_t *key, struct vs_luks_cipher **out,
		       struct vs_error *err);
void vs_luks_cipher_free(struct vs_luks_cipher *c);
/* En/decrypt `len` bytes in place, 512-byte units numbered from `sector`
 * (a last shorter unit must be a multiple of 16 bytes). 0 or -1. */
int vs_luks_cipher_run(struct vs_luks_cipher *c, bool encrypt, uint64_t sector, uint8_t *buf, size_t len);

/* Read `len` bytes at `off` from the start of the LUKS area: 0 or -errno. */
typedef int (*vs_luks_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/* Find the master key (h->key_bytes into master) with a passphrase; a
 * passphrase no slot accepts fails with code EACCES. */
int vs_luks_unlock(const struct vs_luks_header *h, const void *pass, size_t pass_len, vs_luks_read_fn read,
		   void *ctx, uint8_t *master, struct vs_error *err);

/* A new LUKS area (header and key slots; slot 0 holds the passphrase):
 * malloc'd in *area (*area_len bytes, the payload offset), with its
 * parsed header in *h and the fresh master key in master. */
int vs_luks_format(const struct vs_luks_create_opts *o, const void *pass, size_t pass_len, uint8_t **area,
		   size_t *area_len, struct vs_luks_header *h, uint8_t *master, struct vs_error *err);

/* Key slot management (qemu-img amend's encrypt.* options). */

/* Write `len` bytes at `off` from the start of the LUKS area; make what
 * was written durable (fdatasync). 0 or -errno. */
typedef int (*vs_luks_write_fn)(void *ctx, uint64_t off, const void *buf, size_t len);
typedef int (*vs_luks_sync_fn)(void *ctx);

struct vs_luks_io {
	vs_luks_read_fn read;
	vs_luks_write_fn write;
	vs_luks_sync_fn sync;
	void *ctx;
	uint64_t area_len; /* bytes of the LUKS area (key slots lie inside) */
};

enum vs_luks_slot_state { VS_LUKS_STATE_NONE, VS_LUKS_STATE_ACTIVE, VS_LUKS_STATE_INACTIVE };

/* encrypt.state, encrypt.keyslot, encrypt.new-secret, encrypt.old-secret,
 * encrypt.iter-time and --force, as qemu-img amend takes them. */
struct vs_luks_amend {
	enum vs_luks_slot_state state;
	int keyslot;		/* -1: not given */
	const void *new_secret; /* NULL: not given */
	size_t new_len;
	const void *old_secret; /* NULL: not given */
	size_t old_len;
	uint64_t iter_time_ms; /* 0: not given */
	bool force;
};

/* The combination of options is one qemu accepts (checked before the
 * image is touched): 0 or -1 with the message. */
int vs_luks_amend_check(const struct vs_luks_amend *a, struct vs_error *err);

/* A slot's key material area lies inside the LUKS area, after the header,
 * before the payload and clear of every other active slot's. */
int vs_luks_check_slot_area(const struct vs_luks_header *h, unsigned slot, uint64_t area_len,
			    struct vs_error *err);

/* Put a->new_secret in slot a->keyslot (or the first free one) for the
 * master key `master`: the slot's material is written and made durable
 * before the header marks the slot active. *h is updated; the slot used
 * in *slot. An active slot is refused unless a->force. */
int vs_luks_add_key(struct vs_luks_header *h, const uint8_t *master, const struct vs_luks_amend *a,
		    const struct vs_luks_io *io, unsigned *slot, struct vs_error *err);

/* Erase slot a->keyslot, or every slot a->old_secret opens: the header
 * marks the slot inactive (durable) before its material is overwritten
 * with random bytes. Erasing the last active slot is refused unless
 * a->force. *h is updated; the slots erased in *mask (bit per slot). */
int vs_luks_erase_keys(struct vs_luks_header *h, const struct vs_luks_amend *a, const struct vs_luks_io *io,
		       unsigned *mask, struct vs_error *err);

/* "aes-256", "xts", "plain64" as qemu-img info names them. */
void vs_luks_cipher_alg(const struct vs_luks_header *h, char *buf, size_t len);
const char *vs_luks_mode_name(const struct vs_luks_header *h);
const char *vs_luks_ivgen_name(const struct vs_luks_header *h);

#endif
