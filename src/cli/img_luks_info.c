/* The `encrypt` section of `vessel img info` for LUKS images, with
 * qemu-img's field names and order (human and json). */
#include <stdio.h>

#include "cli/img.h"
#include "util/json.h"

void vs_img_luks_human(const struct vs_luks_header *h)
{
	char alg[32];
	const char *iv = vs_luks_ivgen_name(h);
	vs_luks_cipher_alg(h, alg, sizeof(alg));
	printf("    encrypt:\n");
	if (iv)
		printf("        ivgen alg: %s\n", iv);
	printf("        hash alg: %s\n        cipher alg: %s\n        uuid: %s\n", h->hash_spec, alg,
	       h->uuid);
	if (h->ivgen == VS_LUKS_IV_ESSIV)
		printf("        ivgen hash alg: %s\n", h->ivgen_hash);
	printf("        format: luks\n        cipher mode: %s\n        slots:\n", vs_luks_mode_name(h));
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		const struct vs_luks_slot *s = &h->slots[i];
		uint64_t off = (uint64_t)s->key_offset * VS_LUKS_SECTOR;
		printf("            [%u]:\n                active: %s\n", i, s->active ? "true" : "false");
		if (s->active)
			printf("                iters: %u\n", s->iterations);
		printf("                key offset: %llu\n", (unsigned long long)off);
		if (s->active)
			printf("                stripes: %u\n", s->stripes);
	}
	printf("        payload offset: %llu\n        master key iters: %u\n",
	       (unsigned long long)h->payload_offset * VS_LUKS_SECTOR, h->mk_iterations);
}

void vs_img_luks_json(struct vs_json_writer *w, const struct vs_luks_header *h)
{
	char alg[32];
	const char *iv = vs_luks_ivgen_name(h);
	vs_luks_cipher_alg(h, alg, sizeof(alg));
	vs_jw_key(w, "encrypt");
	vs_jw_object_begin(w);
	if (iv)
		vs_jw_kv_string(w, "ivgen-alg", iv);
	vs_jw_kv_string(w, "hash-alg", h->hash_spec);
	vs_jw_kv_string(w, "cipher-alg", alg);
	vs_jw_kv_string(w, "uuid", h->uuid);
	if (h->ivgen == VS_LUKS_IV_ESSIV)
		vs_jw_kv_string(w, "ivgen-hash-alg", h->ivgen_hash);
	vs_jw_kv_string(w, "format", "luks");
	vs_jw_kv_string(w, "cipher-mode", vs_luks_mode_name(h));
	vs_jw_key(w, "slots");
	vs_jw_array_begin(w);
	for (unsigned i = 0; i < VS_LUKS_SLOTS; i++) {
		const struct vs_luks_slot *s = &h->slots[i];
		uint64_t off = (uint64_t)s->key_offset * VS_LUKS_SECTOR;
		vs_jw_object_begin(w);
		vs_jw_kv_bool(w, "active", s->active);
		if (s->active)
			vs_jw_kv_uint(w, "iters", s->iterations);
		vs_jw_kv_uint(w, "key-offset", off);
		if (s->active)
			vs_jw_kv_uint(w, "stripes", s->stripes);
		vs_jw_object_end(w);
	}
	vs_jw_array_end(w);
	vs_jw_kv_uint(w, "payload-offset", (uint64_t)h->payload_offset * VS_LUKS_SECTOR);
	vs_jw_kv_uint(w, "master-key-iters", h->mk_iterations);
	vs_jw_object_end(w);
}
