/* LUKS1 keys: PBKDF2, the anti-forensic splitter (each key slot stores the
 * master key spread over 4000 stripes joined by a hash diffusion, so that
 * wiping any part of it destroys the key), unlocking a slot with a
 * passphrase, and making a new header with its first slot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "block/luks.h"

int vs_luks_pbkdf2(const char *hash, const void *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
		   uint32_t iterations, uint8_t *out, size_t out_len)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	if (!md || iterations == 0 || iterations > INT32_MAX || pass_len > INT32_MAX)
		return -1;
	return PKCS5_PBKDF2_HMAC(pass_len ? pass : "", (int)pass_len, salt, (int)salt_len, (int)iterations,
				 md, (int)out_len, out) == 1
		   ? 0
		   : -1;
}

/* The diffusion between stripes: each digest-sized piece of the block is
 * replaced by H(be32(piece index) || piece), the last piece truncated. */
static int diffuse(const EVP_MD *md, uint8_t *block, size_t len)
{
	size_t ds = (size_t)EVP_MD_get_size(md);
	uint8_t out[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = ctx ? 0 : -1;
	for (size_t i = 0; r == 0 && i * ds < len; i++) {
		size_t n = len - i * ds < ds ? len - i * ds : ds;
		uint8_t idx[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, idx, 4) != 1 ||
		    EVP_DigestUpdate(ctx, block + i * ds, n) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
			r = -1;
		else
			memcpy(block + i * ds, out, n);
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] ^= src[i];
}

/* Fold stripes [0, stripes - 1) into acc: the value the last stripe is
 * XORed with. */
static int af_fold(const EVP_MD *md, const uint8_t *material, size_t block, unsigned stripes, uint8_t *acc)
{
	memset(acc, 0, block);
	for (unsigned i = 0; i + 1 < stripes; i++) {
		xor_into(acc, material + (size_t)i * block, block);
		if (diffuse(md, acc, block) < 0)
			return -1;
	}
	return 0;
}

int vs_luks_af_merge(const char *hash, const uint8_t *material, size_t block, unsigned stripes, uint8_t *key)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	if (!md || !stripes || af_fold(md, material, block, stripes, key) < 0)
		return -1;
	xor_into(key, material + (size_t)(stripes - 1) * block, block);
	return 0;
}

int vs_luks_af_split(const char *hash, const uint8_t *key, size_t block, unsigned stripes, uint8_t *material)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	uint8_t *last = material + (size_t)(stripes - 1) * block;
	if (!md || !stripes || RAND_bytes(material, (int)((stripes - 1) * block)) != 1 ||
	    af_fold(md, material, block, stripes, last) < 0)
		return -1;
	xor_into(last, key, block);
	return 0;
}

/* Try one slot: slot key from the passphrase, key material decrypted with
 * it, merged, and compared through the master-key digest. 1: it opens. */
static int try_slot(const struct vs_luks_header *h, const struct vs_luks_slot *s, const void *pass,
		    size_t pass_len, uint8_t *material, uint8_t *master, struct vs_error *err)
{
	uint8_t slot_key[VS_LUKS_MAX_KEY], digest[VS_LUKS_DIGEST_LEN];
	struct vs_luks_cipher *c = NULL;
	int r = -1;
	if (vs_luks_pbkdf2(h->hash_spec, pass, pass_len, s->salt, VS_LUKS_SALT_LEN, s->iterations, slot_key,
			   h->key_bytes) < 0) {
		vs_error_msg(err, "PBKDF2 with %s failed (OpenSSL)", h->hash_spec);
		goto out;
	}
	if (vs_luks_cipher_new(h, slot_key, &c, err) < 0)
		goto out;
	if (vs_luks_cipher_run(c, false, 0, material, vs_luks_material_len(h)) < 0 ||
	    vs_luks_af_merge(h->hash_spec, material, h->key_bytes, VS_LUKS_STRIPES, master) < 0 ||
	    vs_luks_pbkdf2(h->hash_spec, master, h->key_bytes, h->mk_salt, VS_LUKS_SALT_LEN, h->mk_iterations,
			   digest, VS_LUKS_DIGEST_LEN) < 0) {
		vs_error_msg(err, "decrypting a LUKS key slot failed (OpenSSL)");
		goto out;
	}
	r = CRYPTO_memcmp(digest, h->mk_digest, VS_LUKS_DIGEST_LEN) == 0;
out:
	vs_luks_cipher_free(c);
	OPENSSL_cleanse(slot_key, sizeof(slot_key));
	return r;
}

int vs_luks_unlock(const struct vs_luks_header *h, const void *pass, size_t pass_len, vs_luks_read_fn read,
		   void *ctx, uint8_t *master, struct vs_error *err)
{
	size_t mlen = vs_luks_material_len(h);
	uint8_t *material = malloc(mlen);
	bool any = false;
	int r = 0;
	if (!material)
		return vs_error_set(err, ENOMEM, "LUKS key material");
	for (unsigned i = 0; i < VS_LUKS_SLOTS && r == 0; i++) {
		const struct vs_luks_slot *s = &h->slots[i];
		if (!s->active)
			continue;
		any = true;
		int rr = read(ctx, (uint64_t)s->key_offset * VS_LUKS_SECTOR, material, mlen);
		if (rr < 0) {
			vs_error_set(err, -rr, "read LUKS key slot %u", i);
			break;
		}
		r = try_slot(h, s, pass, pass_len, material, master, err);
	}
	OPENSSL_cleanse(material, mlen);
	free(material);
	if (r == 1)
		return 0;
	if (r == 0 && !any)
		return vs_error_msg(err, "the LUKS header has no active key slot");
	if (r == 0)
		return vs_error_msg_code(err, EACCES, "wrong passphrase: no LUKS key slot accepts it");
	OPENSSL_cleanse(master, h->key_bytes);
	return -1;
}

static int pick(const char *v, const char *def, const char *const *names, int n, const char *what,
		struct vs_error *err)
{
	if (!v)
		v = def;
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return vs_error_msg(err, "encrypt.%s=%s is not supported", what, v);
}

/* Header fields from the create options. */
static int describe(struct vs_luks_header *h, const struct vs_luks_create_opts *o, struct vs_error *err)
{
	static const char *const algs[] = { "aes-128", "aes-192", "aes-256" };
	static const char *const modes[] = { "ecb", "cbc", "xts" };
	static const char *const ivgens[] = { "plain", "plain64", "essiv" };
	int alg = pick(o->cipher_alg, "aes-256", algs, 3, "cipher-alg", err);
	int mode = alg < 0 ? -1 : pick(o->cipher_mode, "xts", modes, 3, "cipher-mode", err);
	int iv = mode < 0 ? -1 : pick(o->ivgen_alg, "plain64", ivgens, 3, "ivgen-alg", err);
	if (iv < 0)
		return -1;
	const char *hash = o->hash_alg ? o->hash_alg : "sha256";
	const char *ivhash = o->ivgen_hash_alg ? o->ivgen_hash_alg : "sha256";
	unsigned bits = 128 + 64 * (unsigned)alg;
	h->key_bytes = bits / 8 * (mode == 2 ? 2 : 1);
	snprintf(h->cipher_name, sizeof(h->cipher_name), "aes");
	snprintf(h->hash_spec, sizeof(h->hash_spec), "%s", hash);
	if (iv == 2)
		snprintf(h->cipher_mode, sizeof(h->cipher_mode), "%s-essiv:%.20s", modes[mode], ivhash);
	else
		snprintf(h->cipher_mode, sizeof(h->cipher_mode), "%s-%s", modes[mode], ivgens[iv]);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Slot iterations that take about `ms` milliseconds here (qemu's way). */
static uint32_t timed_iterations(const char *hash, uint64_t ms)
{
	uint8_t out[32], salt[VS_LUKS_SALT_LEN] = { 0 };
	uint32_t probe = 1000;
	uint64_t t0 = now_ns();
	for (;;) {
		if (vs_luks_pbkdf2(hash, "probe", 5, salt, sizeof(salt), probe, out, sizeof(out)) < 0)
			return VS_LUKS_DEFAULT_ITERATIONS;
		uint64_t dt = now_ns() - t0;
		if (dt >= 20000000u || probe >= (1u << 24)) {
			double it = (double)probe * (double)ms * 1e6 / (double)(dt ? dt : 1);
			return it < 1000		     ? 1000
			       : it > VS_LUKS_MAX_ITERATIONS ? VS_LUKS_MAX_ITERATIONS
							     : (uint32_t)it;
		}
		probe *= 2;
		t0 = now_ns();
	}
}

static int random_uuid(char *out, size_t len)
{
	uint8_t u[16];
	if (RAND_bytes(u, sizeof(u)) != 1)
		return -1;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

/* Split the master key into slot i's material (`m`, material_len bytes),
 * encrypted with the key the passphrase derives. */
static int fill_slot(const struct vs_luks_header *h, unsigned i, const void *pass, size_t pass_len,
		     const uint8_t *master, uint8_t *m, struct vs_error *err)
{
	uint8_t slot_key[VS_LUKS_MAX_KEY];
	struct vs_luks_cipher *c = NULL;
	int r = -1;
	if (vs_luks_pbkdf2(h->hash_spec, pass, pass_len, h->slots[i].salt, VS_LUKS_SALT_LEN,
			   h->slots[i].iterations, slot_key, h->key_bytes) < 0) {
		vs_error_msg(err, "PBKDF2 with %s failed (OpenSSL)", h->hash_spec);
		goto out;
	}
	if (vs_luks_cipher_new(h, slot_key, &c, err) < 0)
		goto out;
	if (vs_luks_af_split(h->hash_spec, master, h->key_bytes, VS_LUKS_STRIPES, m) < 0 ||
	    vs_luks_cipher_run(c, true, 0, m, vs_luks_material_len(h)) < 0) {
		vs_error_msg(err, "making the LUKS key slot failed (OpenSSL)");
		goto out;
	}
	r = 0;
out:
	vs_luks_cipher_free(c);
	OPENSSL_cleanse(slot_key, sizeof(slot_key));
	return r;
}

int vs_luks_format(const struct vs_luks_create_opts *o, const void *pass, size_t pass_len, uint8_t **area,
		   size_t *area_len, struct vs_luks_header *h, uint8_t *master, struct vs_error *err)
{
	struct vs_luks_header nh = { 0 };
	struct vs_luks_cipher *probe = NULL;
	uint8_t tmp[VS_LUKS_MAX_KEY];
	if (describe(&nh, o, err) < 0)
		return -1;
	/* OpenSSL refuses xts keys whose halves are equal. */
	for (unsigned i = 0; i < sizeof(tmp); i++)
		tmp[i] = (uint8_t)i;
	/* Parse our own header once to decode it (and catch what OpenSSL
	 * cannot do) before any expensive work. */
	uint8_t raw[VS_LUKS_HEADER_SIZE];
	nh.mk_iterations = 1;
	snprintf(nh.uuid, sizeof(nh.uuid), "-");
	vs_luks_serialize(&nh, raw);
	if (vs_luks_parse(&nh, raw, sizeof(raw), sizeof(raw), err) < 0 ||
	    vs_luks_cipher_new(&nh, tmp, &probe, err) < 0)
		return vs_error_prefix(err, "encrypt options: ");
	vs_luks_cipher_free(probe);
	if (!EVP_get_digestbyname(nh.hash_spec))
		return vs_error_msg(err, "encrypt.hash-alg=%s is not available in OpenSSL", nh.hash_spec);

	/* qemu's layout: key material 4 KiB-aligned after a 4 KiB header. */
	uint32_t split = (uint32_t)((vs_luks_material_len(&nh) + VS_LUKS_SECTOR - 1) / VS_LUKS_SECTOR);
	split = (split + 7) & ~7u;
	uint32_t slot_iters =
	    o->iter_time_ms ? timed_iterations(nh.hash_spec, o->iter_time_ms) : VS_LUKS_DEFAULT_ITERATIONS;
	nh.mk_iterations = slot_iters / 8 < 1000 ? 1000 : slot_iters / 8;
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		nh.slots[i].key_offset = 8 + i * split;
		nh.slots[i].stripes = VS_LUKS_STRIPES;
	}
	nh.slots[0].active = true;
	nh.slots[0].iterations = slot_iters;
	nh.payload_offset = 8 + VS_LUKS_SLOTS * split;
	if (RAND_bytes(master, (int)nh.key_bytes) != 1 || RAND_bytes(nh.mk_salt, VS_LUKS_SALT_LEN) != 1 ||
	    RAND_bytes(nh.slots[0].salt, VS_LUKS_SALT_LEN) != 1 || random_uuid(nh.uuid, sizeof(nh.uuid)) < 0)
		return vs_error_msg(err, "no random bytes from OpenSSL");
	if (vs_luks_pbkdf2(nh.hash_spec, master, nh.key_bytes, nh.mk_salt, VS_LUKS_SALT_LEN, nh.mk_iterations,
			   nh.mk_digest, VS_LUKS_DIGEST_LEN) < 0)
		return vs_error_msg(err, "PBKDF2 with %s failed (OpenSSL)", nh.hash_spec);
	size_t len = (size_t)nh.payload_offset * VS_LUKS_SECTOR;
	uint8_t *a = calloc(1, len);
	if (!a)
		return vs_error_set(err, ENOMEM, "LUKS header");
	if (fill_slot(&nh, 0, pass, pass_len, master, a + (size_t)nh.slots[0].key_offset * VS_LUKS_SECTOR,
		      err) < 0) {
		free(a);
		return -1;
	}
	vs_luks_serialize(&nh, a);
	*area = a;
	*area_len = len;
	*h = nh;
	return 0;
}

/* Key slot management: qemu-img amend's encrypt.state=active|inactive. */

int vs_luks_amend_check(const struct vs_luks_amend *a, struct vs_error *err)
{
	if (a->keyslot >= VS_LUKS_SLOTS || a->keyslot < -1)
		return vs_error_msg(err, "Invalid keyslot %d specified, must be between 0 and %d", a->keyslot,
				    VS_LUKS_SLOTS - 1);
	switch (a->state) {
	case VS_LUKS_STATE_NONE:
		if (a->keyslot >= 0 || a->new_secret || a->old_secret || a->iter_time_ms)
			return vs_error_msg(err,
					    "encrypt.keyslot, encrypt.new-secret, encrypt.old-secret and "
					    "encrypt.iter-time need encrypt.state=active or inactive");
		return 0;
	case VS_LUKS_STATE_ACTIVE:
		if (!a->new_secret)
			return vs_error_msg(err, "'new-secret' is required to activate a keyslot");
		if (a->old_secret)
			return vs_error_msg(err, "'old-secret' must not be given when activating keyslots");
		return 0;
	case VS_LUKS_STATE_INACTIVE:
		if (a->new_secret)
			return vs_error_msg(err, "'new-secret' must not be given when erasing keyslots");
		if (a->iter_time_ms)
			return vs_error_msg(err, "'iter-time' must not be given when erasing keyslots");
		if (a->keyslot < 0 && !a->old_secret)
			return vs_error_msg(err, "To erase keyslot(s), either explicit keyslot index or the "
						 "password currently contained in them must be given");
		return 0;
	}
	return vs_error_msg(err, "encrypt.state: unknown state");
}

static int write_header(const struct vs_luks_header *h, const struct vs_luks_io *io, struct vs_error *err)
{
	uint8_t raw[VS_LUKS_HEADER_SIZE];
	vs_luks_serialize(h, raw);
	int r = io->write(io->ctx, 0, raw, sizeof(raw));
	if (r == 0)
		r = io->sync(io->ctx);
	return r < 0 ? vs_error_set(err, -r, "write the LUKS header") : 0;
}

static unsigned count_active(const struct vs_luks_header *h)
{
	unsigned n = 0;
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++)
		n += h->slots[i].active;
	return n;
}

int vs_luks_add_key(struct vs_luks_header *h, const uint8_t *master, const struct vs_luks_amend *a,
		    const struct vs_luks_io *io, unsigned *slot, struct vs_error *err)
{
	if (vs_luks_amend_check(a, err) < 0)
		return -1;
	if (a->state != VS_LUKS_STATE_ACTIVE)
		return vs_error_msg(err, "adding a LUKS key needs encrypt.state=active");
	int i = a->keyslot;
	if (i >= 0 && h->slots[i].active && !a->force)
		return vs_error_msg(err, "Refusing to overwrite active keyslot %d - please erase it first",
				    i);
	for (unsigned j = 0; i < 0 && j < VS_LUKS_SLOTS; j++)
		if (!h->slots[j].active)
			i = (int)j;
	if (i < 0)
		return vs_error_msg(err, "Can't add a keyslot - all keyslots are in use");
	if (vs_luks_check_slot_area(h, (unsigned)i, io->area_len, err) < 0)
		return -1;

	size_t mlen = vs_luks_material_len(h);
	uint8_t *m = malloc(mlen);
	if (!m)
		return vs_error_set(err, ENOMEM, "LUKS key material");
	struct vs_luks_header nh = *h;
	struct vs_luks_slot *s = &nh.slots[i];
	int r = -1;
	/* Overwriting an active slot (--force): it stops being active first,
	 * so a crash never leaves an active slot with half-written material. */
	if (h->slots[i].active) {
		nh.slots[i].active = false;
		if (write_header(&nh, io, err) < 0)
			goto out;
		h->slots[i].active = false;
	}
	s->iterations =
	    a->iter_time_ms ? timed_iterations(nh.hash_spec, a->iter_time_ms) : VS_LUKS_DEFAULT_ITERATIONS;
	s->stripes = VS_LUKS_STRIPES;
	if (RAND_bytes(s->salt, VS_LUKS_SALT_LEN) != 1) {
		vs_error_msg(err, "no random bytes from OpenSSL");
		goto out;
	}
	if (fill_slot(&nh, (unsigned)i, a->new_secret, a->new_len, master, m, err) < 0)
		goto out;
	/* The material first (durable), then the header that activates it. */
	r = io->write(io->ctx, (uint64_t)s->key_offset * VS_LUKS_SECTOR, m, mlen);
	if (r == 0)
		r = io->sync(io->ctx);
	if (r < 0) {
		vs_error_set(err, -r, "write LUKS key slot %d", i);
		r = -1;
		goto out;
	}
	s->active = true;
	r = write_header(&nh, io, err);
	if (r == 0) {
		*h = nh;
		*slot = (unsigned)i;
	}
out:
	OPENSSL_cleanse(m, mlen);
	free(m);
	return r;
}

/* Does `pass` open slot i? 1, 0, or -1 with err. */
static int slot_opens(const struct vs_luks_header *h, unsigned i, const void *pass, size_t pass_len,
		      const struct vs_luks_io *io, uint8_t *material, struct vs_error *err)
{
	uint8_t master[VS_LUKS_MAX_KEY];
	int r = io->read(io->ctx, (uint64_t)h->slots[i].key_offset * VS_LUKS_SECTOR, material,
			 vs_luks_material_len(h));
	if (r < 0)
		return vs_error_set(err, -r, "read LUKS key slot %u", i);
	r = try_slot(h, &h->slots[i], pass, pass_len, material, master, err);
	OPENSSL_cleanse(master, sizeof(master));
	return r;
}

int vs_luks_erase_keys(struct vs_luks_header *h, const struct vs_luks_amend *a, const struct vs_luks_io *io,
		       unsigned *mask, struct vs_error *err)
{
	if (vs_luks_amend_check(a, err) < 0)
		return -1;
	if (a->state != VS_LUKS_STATE_INACTIVE)
		return vs_error_msg(err, "erasing LUKS keys needs encrypt.state=inactive");
	size_t mlen = vs_luks_material_len(h);
	uint8_t *m = malloc(mlen);
	unsigned erase = 0;
	int r = -1;
	if (!m)
		return vs_error_set(err, ENOMEM, "LUKS key material");
	if (a->keyslot >= 0) {
		unsigned i = (unsigned)a->keyslot;
		if (!h->slots[i].active && !a->force) {
			vs_error_msg(err, "Given keyslot %u is already erased (inactive)", i);
			goto out;
		}
		if (h->slots[i].active && a->old_secret) {
			int o = slot_opens(h, i, a->old_secret, a->old_len, io, m, err);
			if (o < 0)
				goto out;
			if (!o && !a->force) {
				vs_error_msg(
				    err,
				    "Given keyslot %u doesn't contain the given old password for erase "
				    "operation",
				    i);
				goto out;
			}
		}
		if (h->slots[i].active && count_active(h) == 1 && !a->force) {
			vs_error_msg(
			    err,
			    "Attempt to erase the only active keyslot %u which will erase all the data "
			    "in the image irreversibly - refusing operation (--force erases it)",
			    i);
			goto out;
		}
		erase = 1u << i;
	} else {
		for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
			if (!h->slots[i].active)
				continue;
			int o = slot_opens(h, i, a->old_secret, a->old_len, io, m, err);
			if (o < 0)
				goto out;
			erase |= (unsigned)o << i;
		}
		if (!erase) {
			vs_error_msg(err, "No keyslots match given (old) password for erase operation");
			goto out;
		}
		if ((unsigned)__builtin_popcount(erase) == count_active(h) && !a->force) {
			vs_error_msg(
			    err, "All the active keyslots match the (old) password that was given and "
				 "erasing them will erase all the data in the image irreversibly - refusing "
				 "operation (--force erases them)");
			goto out;
		}
	}
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		if (!(erase & (1u << i)))
			continue;
		if (vs_luks_check_slot_area(h, i, io->area_len, err) < 0)
			goto out;
		/* The flag first (durable): a crash then leaves an inactive
		 * slot with stale material, never an active one half erased. */
		struct vs_luks_header nh = *h;
		nh.slots[i].active = false;
		nh.slots[i].iterations = 0;
		memset(nh.slots[i].salt, 0, VS_LUKS_SALT_LEN);
		if (write_header(&nh, io, err) < 0)
			goto out;
		*h = nh;
		if (RAND_bytes(m, (int)mlen) != 1) {
			vs_error_msg(err, "no random bytes from OpenSSL");
			goto out;
		}
		int w = io->write(io->ctx, (uint64_t)h->slots[i].key_offset * VS_LUKS_SECTOR, m, mlen);
		if (w == 0)
			w = io->sync(io->ctx);
		if (w < 0) {
			vs_error_set(err, -w, "erase the key material of LUKS key slot %u", i);
			goto out;
		}
	}
	*mask = erase;
	r = 0;
out:
	OPENSSL_cleanse(m, mlen);
	free(m);
	return r;
}
