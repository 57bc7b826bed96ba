/* LUKS1 header: parsing with validation of every field later steps rely
 * on, serialization, and the names qemu-img info prints. */
#include <stdio.h>
#include <string.h>

#include "block/luks.h"

#define SLOT_ENABLED 0x00ac71f3u
#define SLOT_DISABLED 0x0000deadu

static const uint8_t luks_magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A fixed-size string field: NUL-terminated inside its bytes. */
static int get_string(char *dst, const uint8_t *src, size_t field, const char *name, struct vs_error *err)
{
	const void *nul = memchr(src, 0, field);
	if (!nul)
		return vs_error_msg(err, "LUKS header: %s is not NUL-terminated", name);
	memcpy(dst, src, (size_t)((const uint8_t *)nul - src) + 1);
	return 0;
}

/* Digest length of a hash LUKS may name, 0 when not one we support. */
static unsigned hash_len(const char *name)
{
	static const struct {
		const char *name;
		unsigned len;
	} hashes[] = { { "sha1", 20 },	 { "sha224", 28 }, { "sha256", 32 },
		       { "sha384", 48 }, { "sha512", 64 }, { "ripemd160", 20 } };
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(name, hashes[i].name) == 0)
			return hashes[i].len;
	return 0;
}

static int parse_mode(struct vs_luks_header *h, struct vs_error *err)
{
	const char *m = h->cipher_mode;
	const char *dash = strchr(m, '-');
	size_t mlen = dash ? (size_t)(dash - m) : strlen(m);
	const char *iv = dash ? dash + 1 : "";
	if (mlen == 3 && strncmp(m, "xts", 3) == 0)
		h->mode = VS_LUKS_XTS;
	else if (mlen == 3 && strncmp(m, "cbc", 3) == 0)
		h->mode = VS_LUKS_CBC;
	else if (mlen == 3 && strncmp(m, "ecb", 3) == 0)
		h->mode = VS_LUKS_ECB;
	else
		return vs_error_msg(err, "LUKS header: cipher_mode `%s` is not supported (xts, cbc, ecb are)",
				    m);
	h->ivgen_hash[0] = '\0';
	/* ecb uses no IV, but qemu names a generator anyway ("ecb-plain64"). */
	if (h->mode == VS_LUKS_ECB && !*iv) {
		h->ivgen = VS_LUKS_IV_NONE;
		return 0;
	}
	if (strcmp(iv, "plain64") == 0) {
		h->ivgen = VS_LUKS_IV_PLAIN64;
	} else if (strcmp(iv, "plain") == 0) {
		h->ivgen = VS_LUKS_IV_PLAIN;
	} else if (strncmp(iv, "essiv:", 6) == 0) {
		h->ivgen = VS_LUKS_IV_ESSIV;
		snprintf(h->ivgen_hash, sizeof(h->ivgen_hash), "%s", iv + 6);
		unsigned l = hash_len(h->ivgen_hash);
		/* The hash of the key keys an AES cipher: its length must be one. */
		if (l != 16 && l != 24 && l != 32)
			return vs_error_msg(err,
					    "LUKS header: cipher_mode `%s`: essiv hash `%s` is not supported",
					    m, h->ivgen_hash);
	} else {
		return vs_error_msg(err, "LUKS header: cipher_mode `%s`: IV generator `%s` is not supported",
				    m, iv);
	}
	return 0;
}

/* Where slot i's key material lies: after the header, inside the area,
 * before the payload, clear of the active slots before it (parsing) or
 * of every other active slot (a slot about to be written). */
static int slot_area(const struct vs_luks_header *h, unsigned i, uint64_t area_len, bool all,
		     struct vs_error *err)
{
	const struct vs_luks_slot *s = &h->slots[i];
	uint64_t start = (uint64_t)s->key_offset * VS_LUKS_SECTOR, end = start + vs_luks_material_len(h);
	if (start < VS_LUKS_HEADER_SIZE)
		return vs_error_msg(err, "LUKS key slot %u: key_offset %u overlaps the header", i,
				    s->key_offset);
	if (end > area_len)
		return vs_error_msg(
		    err,
		    "LUKS key slot %u: key_offset %u puts its key material past the end of the "
		    "LUKS area (%llu bytes)",
		    i, s->key_offset, (unsigned long long)area_len);
	if (end > (uint64_t)h->payload_offset * VS_LUKS_SECTOR)
		return vs_error_msg(err, "LUKS key slot %u: key material runs past payload_offset %u", i,
				    h->payload_offset);
	for (unsigned j = 0; j < (all ? VS_LUKS_SLOTS : i); j++) {
		const struct vs_luks_slot *o = &h->slots[j];
		uint64_t os = (uint64_t)o->key_offset * VS_LUKS_SECTOR;
		if (j != i && o->active && start < os + vs_luks_material_len(h) && os < end)
			return vs_error_msg(err, "LUKS key slots %u and %u overlap", j < i ? j : i,
					    j < i ? i : j);
	}
	return 0;
}

static int check_slot(const struct vs_luks_header *h, unsigned i, uint64_t area_len, struct vs_error *err)
{
	const struct vs_luks_slot *s = &h->slots[i];
	if (!s->active)
		return 0;
	if (s->iterations == 0 || s->iterations > VS_LUKS_MAX_ITERATIONS)
		return vs_error_msg(err, "LUKS key slot %u: iterations %u out of range (1 to %u)", i,
				    s->iterations, VS_LUKS_MAX_ITERATIONS);
	if (s->stripes != VS_LUKS_STRIPES)
		return vs_error_msg(err, "LUKS key slot %u: stripes %u (only %u is valid)", i, s->stripes,
				    VS_LUKS_STRIPES);
	return slot_area(h, i, area_len, false, err);
}

int vs_luks_check_slot_area(const struct vs_luks_header *h, unsigned slot, uint64_t area_len,
			    struct vs_error *err)
{
	if (slot >= VS_LUKS_SLOTS)
		return vs_error_msg(err, "LUKS key slot %u does not exist (0 to %u)", slot,
				    VS_LUKS_SLOTS - 1);
	return slot_area(h, slot, area_len, true, err);
}

int vs_luks_parse(struct vs_luks_header *h, const uint8_t *buf, size_t len, uint64_t area_len,
		  struct vs_error *err)
{
	memset(h, 0, sizeof(*h));
	if (len < VS_LUKS_HEADER_SIZE)
		return vs_error_msg(err, "LUKS header truncated (%zu of %u bytes)", len, VS_LUKS_HEADER_SIZE);
	if (memcmp(buf, luks_magic, sizeof(luks_magic)) != 0)
		return vs_error_msg(err, "LUKS header: bad magic");
	unsigned version = (unsigned)((buf[6] << 8) | buf[7]);
	if (version != 1)
		return vs_error_msg(err, "LUKS header: version %u is not supported (1 is)", version);
	if (get_string(h->cipher_name, buf + 8, 32, "cipher_name", err) < 0 ||
	    get_string(h->cipher_mode, buf + 40, 32, "cipher_mode", err) < 0 ||
	    get_string(h->hash_spec, buf + 72, 32, "hash_spec", err) < 0 ||
	    get_string(h->uuid, buf + 168, 40, "uuid", err) < 0)
		return -1;
	h->payload_offset = be32(buf + 104);
	h->key_bytes = be32(buf + 108);
	memcpy(h->mk_digest, buf + 112, VS_LUKS_DIGEST_LEN);
	memcpy(h->mk_salt, buf + 132, VS_LUKS_SALT_LEN);
	h->mk_iterations = be32(buf + 164);
	if (strcmp(h->cipher_name, "aes") != 0)
		return vs_error_msg(err, "LUKS header: cipher_name `%s` is not supported (aes is)",
				    h->cipher_name);
	if (parse_mode(h, err) < 0)
		return -1;
	if (!hash_len(h->hash_spec))
		return vs_error_msg(err, "LUKS header: hash_spec `%s` is not supported (sha1, sha256, ...)",
				    h->hash_spec);
	uint32_t kb = h->key_bytes;
	bool xts = h->mode == VS_LUKS_XTS;
	if (xts ? (kb != 32 && kb != 48 && kb != 64) : (kb != 16 && kb != 24 && kb != 32))
		return vs_error_msg(err, "LUKS header: key_bytes %u is not a valid key size for aes-%s", kb,
				    xts ? "xts" : vs_luks_mode_name(h));
	h->aes_bits = xts ? kb * 4 : kb * 8;
	if (h->mk_iterations == 0 || h->mk_iterations > VS_LUKS_MAX_ITERATIONS)
		return vs_error_msg(err, "LUKS header: mk_digest_iterations %u out of range (1 to %u)",
				    h->mk_iterations, VS_LUKS_MAX_ITERATIONS);
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		const uint8_t *p = buf + 208 + i * 48;
		struct vs_luks_slot *s = &h->slots[i];
		uint32_t active = be32(p);
		if (active != SLOT_ENABLED && active != SLOT_DISABLED)
			return vs_error_msg(
			    err, "LUKS key slot %u: active field 0x%08x is neither enabled nor disabled", i,
			    active);
		s->active = active == SLOT_ENABLED;
		s->iterations = be32(p + 4);
		memcpy(s->salt, p + 8, VS_LUKS_SALT_LEN);
		s->key_offset = be32(p + 40);
		s->stripes = be32(p + 44);
		if (check_slot(h, i, area_len, err) < 0)
			return -1;
	}
	return 0;
}

void vs_luks_serialize(const struct vs_luks_header *h, uint8_t out[VS_LUKS_HEADER_SIZE])
{
	memset(out, 0, VS_LUKS_HEADER_SIZE);
	memcpy(out, luks_magic, sizeof(luks_magic));
	out[7] = 1;
	memcpy(out + 8, h->cipher_name, strlen(h->cipher_name));
	memcpy(out + 40, h->cipher_mode, strlen(h->cipher_mode));
	memcpy(out + 72, h->hash_spec, strlen(h->hash_spec));
	put32(out + 104, h->payload_offset);
	put32(out + 108, h->key_bytes);
	memcpy(out + 112, h->mk_digest, VS_LUKS_DIGEST_LEN);
	memcpy(out + 132, h->mk_salt, VS_LUKS_SALT_LEN);
	put32(out + 164, h->mk_iterations);
	memcpy(out + 168, h->uuid, strlen(h->uuid));
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		uint8_t *p = out + 208 + i * 48;
		const struct vs_luks_slot *s = &h->slots[i];
		put32(p, s->active ? SLOT_ENABLED : SLOT_DISABLED);
		put32(p + 4, s->iterations);
		memcpy(p + 8, s->salt, VS_LUKS_SALT_LEN);
		put32(p + 40, s->key_offset);
		put32(p + 44, s->stripes);
	}
}

void vs_luks_cipher_alg(const struct vs_luks_header *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%u", h->cipher_name, h->aes_bits);
}

const char *vs_luks_mode_name(const struct vs_luks_header *h)
{
	return h->mode == VS_LUKS_XTS ? "xts" : h->mode == VS_LUKS_CBC ? "cbc" : "ecb";
}

const char *vs_luks_ivgen_name(const struct vs_luks_header *h)
{
	switch (h->ivgen) {
	case VS_LUKS_IV_PLAIN:
		return "plain";
	case VS_LUKS_IV_PLAIN64:
		return "plain64";
	case VS_LUKS_IV_ESSIV:
		return "essiv";
	case VS_LUKS_IV_NONE:
		break;
	}
	return NULL;
}
