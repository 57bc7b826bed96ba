/* LUKS primitives against known values computed with OpenSSL's command line
 * (luks_vectors.py regenerates them): PBKDF2, the anti-forensic merge, the
 * sector cipher in every mode and IV generator; then a header made by
 * vs_luks_format unlocked with the right and a wrong passphrase, and
 * hostile header fields refused by name. qemu-img interop is in
 * tests/integration/test_img_luks.py. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../tap.h"
#include "block/block.h"
#include "block/luks.h"

static void fill_key(uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k[i] = (uint8_t)(i * 7 + 3);
}

TEST(pbkdf2_vectors)
{
	uint8_t salt[32], out[64];
	for (int i = 0; i < 32; i++)
		salt[i] = (uint8_t)i;
	CHECK(vs_luks_pbkdf2("sha256", "vessel", 6, salt, 32, 1000, out, 32) == 0);
	CHECK(memcmp(out,
		     "\x7a\xa5\x30\xe4\x30\xe5\x9e\x38\xc2\x7d\x5a\x3e\x72\xa2\x2a\xb9\x50\x76\xb0\x48\x48"
		     "\x40\x9f\xed"
		     "\xbf\x4b\xdd\x86\x1f\xea\xc9\x9c",
		     32) == 0);
	CHECK(vs_luks_pbkdf2("sha1", "password", 8, (const uint8_t *)"salt", 4, 2, out, 20) == 0);
	CHECK(memcmp(out, "\xea\x6c\x01\x4d\xc7\x2d\x6f\x8c\xcd\x1e\xd9\x2a\xce\x1d\x41\xf0\xd8\xde\x89\x57",
		     20) == 0);
	CHECK(vs_luks_pbkdf2("sha512", "pass", 4, (const uint8_t *)"NaCl", 4, 3, out, 64) == 0);
	CHECK(memcmp(out,
		     "\x02\x65\xf3\xb3\x1b\xc7\x53\x8f\x51\xa9\xec\xf2\xe3\x23\xc3\x4e\x2d\x85\x35\xa9\x9e"
		     "\x68\xd7\x62"
		     "\x3d\xd5\x96\xf1\x7d\x60\x4d\xaf\x55\x23\x5b\x29\x6a\x7e\x30\xcb\xe9\x87\x34\xe1\xed"
		     "\x62\xbd\x48"
		     "\x5f\x08\x1e\xea\x3a\x36\x29\xe7\x6d\xc0\x5b\x14\x81\xb8\x36\x08",
		     64) == 0);
	CHECK(vs_luks_pbkdf2("no-such-hash", "x", 1, salt, 32, 1, out, 32) < 0);
}

TEST(af_merge_vector_and_split_round_trip)
{
	uint8_t material[120], key[40];
	for (int i = 0; i < 120; i++)
		material[i] = (uint8_t)(i * 11 + 1);
	CHECK(vs_luks_af_merge("sha256", material, 40, 3, key) == 0);
	CHECK(memcmp(key,
		     "\xbd\xec\x8f\xd6\xde\xa3\x6c\x42\x8d\x0d\xd2\x63\xbd\xf4\x83\xe4\x26\x41\x9a\x29\x53"
		     "\xa1\x91\x36"
		     "\x33\xd6\x66\xf7\x54\xca\xb8\x50\xbf\x5c\x7c\xd6\x38\x75\x75\x6e",
		     40) == 0);
	/* Split with the real stripe count, merge back. */
	static uint8_t big[64 * VS_LUKS_STRIPES];
	uint8_t mk[64], back[64];
	fill_key(mk, sizeof(mk));
	CHECK(vs_luks_af_split("sha1", mk, 64, VS_LUKS_STRIPES, big) == 0);
	CHECK(vs_luks_af_merge("sha1", big, 64, VS_LUKS_STRIPES, back) == 0);
	CHECK(memcmp(mk, back, 64) == 0);
	big[12345] ^= 1; /* any damage destroys the key */
	CHECK(vs_luks_af_merge("sha1", big, 64, VS_LUKS_STRIPES, back) == 0);
	CHECK(memcmp(mk, back, 64) != 0);
}

struct cipher_case {
	const char *name;
	enum vs_luks_mode mode;
	enum vs_luks_ivgen ivgen;
	unsigned bits, key_bytes;
	uint64_t first_sector;
	const char *digest; /* sha256 of the ciphertext of 1024 bytes */
};

TEST(sector_cipher_vectors)
{
	static const struct cipher_case cases[] = {
		{ "aes-256-xts-plain64", VS_LUKS_XTS, VS_LUKS_IV_PLAIN64, 256, 64, 5,
		  "\x0f\x96\xfb\x17\xe6\x7a\x31\xa1\xc6\x6d\x8a\x40\x6a\x73\x88\x8a\x7e\xf8\x79\xe0\x3a\x28"
		  "\xdb\x74\x73"
		  "\x1a\xc1\x50\x5c\x6f\x58\xbe" },
		{ "aes-128-xts-plain64", VS_LUKS_XTS, VS_LUKS_IV_PLAIN64, 128, 32, 5,
		  "\x08\xd0\x06\xb1\x51\x80\x9a\xaf\x4b\x22\x81\xa9\xf3\x95\x43\x61\x5e\xa1\xe8\xf0\x28\x76"
		  "\x37\x81\xb7"
		  "\x08\x7a\xaa\xaa\x3f\x0c\x02" },
		{ "aes-128-cbc-essiv:sha256", VS_LUKS_CBC, VS_LUKS_IV_ESSIV, 128, 16, 5,
		  "\x6a\x0b\x1b\xad\x70\xd3\x75\xf2\xf6\x2b\xbb\x28\x06\x99\xce\x11\xde\xd6\x9a\xed\xfc\xfb"
		  "\x8a\x88\x8b"
		  "\x4f\x8d\xaa\x49\x0a\x54\x53" },
		{ "aes-192-cbc-plain64", VS_LUKS_CBC, VS_LUKS_IV_PLAIN64, 192, 24, 5,
		  "\x31\x2f\x60\x61\x81\x88\x72\xaf\x2a\x92\x1b\x3c\x33\xfc\xf3\x64\xa7\xec\xb2\xe0\x65\x00"
		  "\x03\x3c\x25"
		  "\xaa\x53\xc1\x47\x32\xc6\xf9" },
		/* plain keeps 32 bits of the sector: 2^32 + 5 acts as 5. */
		{ "aes-192-cbc-plain", VS_LUKS_CBC, VS_LUKS_IV_PLAIN, 192, 24, (1ull << 32) + 5,
		  "\x31\x2f\x60\x61\x81\x88\x72\xaf\x2a\x92\x1b\x3c\x33\xfc\xf3\x64\xa7\xec\xb2\xe0\x65\x00"
		  "\x03\x3c\x25"
		  "\xaa\x53\xc1\x47\x32\xc6\xf9" },
		{ "aes-256-ecb", VS_LUKS_ECB, VS_LUKS_IV_NONE, 256, 32, 5,
		  "\x5b\x33\xf3\x8a\x21\x1e\x9b\x5f\x8f\xaa\xd8\xe3\xbf\x88\x4b\xb0\xde\xb1\x00\xe3\xbb\xb7"
		  "\x79\xb1\x49"
		  "\x10\x61\x23\x89\x6d\x9c\xce" },
	};
	uint8_t key[64], plain[1024], buf[1024], digest[32];
	fill_key(key, sizeof(key));
	for (int i = 0; i < 1024; i++)
		plain[i] = (uint8_t)(i * 13 + 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cipher_case *c = &cases[i];
		struct vs_luks_header h = {
			.mode = c->mode, .ivgen = c->ivgen, .aes_bits = c->bits, .key_bytes = c->key_bytes
		};
		struct vs_luks_cipher *ci = NULL;
		struct vs_error err = { 0 };
		snprintf(h.ivgen_hash, sizeof(h.ivgen_hash), "sha256");
		if (vs_luks_cipher_new(&h, key, &ci, &err) < 0) {
			printf("#   %s: %s\n", c->name, err.msg);
			CHECK(0);
			continue;
		}
		memcpy(buf, plain, sizeof(buf));
		CHECK(vs_luks_cipher_run(ci, true, c->first_sector, buf, sizeof(buf)) == 0);
		CHECK(EVP_Digest(buf, sizeof(buf), digest, NULL, EVP_sha256(), NULL) == 1);
		if (memcmp(digest, c->digest, 32) != 0) {
			printf("#   %s: ciphertext differs from OpenSSL's\n", c->name);
			CHECK(0);
		}
		CHECK(vs_luks_cipher_run(ci, false, c->first_sector, buf, sizeof(buf)) == 0);
		CHECK(memcmp(buf, plain, sizeof(buf)) == 0);
		CHECK(vs_luks_cipher_run(ci, true, 0, buf, 100) < 0); /* not whole blocks */
		vs_luks_cipher_free(ci);
	}
}

static int read_mem(void *ctx, uint64_t off, void *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)ctx + off, len);
	return 0;
}

TEST(format_unlock_and_refuse)
{
	struct vs_luks_create_opts o = { .cipher_mode = "cbc",
					 .ivgen_alg = "essiv",
					 .cipher_alg = "aes-192" };
	struct vs_luks_header h, parsed;
	struct vs_error err = { 0 };
	uint8_t master[64], got[64], *area = NULL;
	size_t len = 0;
	CHECK(vs_luks_format(&o, "secret", 6, &area, &len, &h, master, &err) == 0);
	if (!area) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_EQ_U64(len, (uint64_t)h.payload_offset * 512);
	CHECK(vs_luks_parse(&parsed, area, len, len, &err) == 0);
	CHECK_STREQ(parsed.cipher_mode, "cbc-essiv:sha256");
	CHECK_EQ_U64(parsed.key_bytes, 24);
	CHECK_EQ_U64(parsed.slots[0].iterations, VS_LUKS_DEFAULT_ITERATIONS);
	CHECK(vs_luks_unlock(&parsed, "secret", 6, read_mem, area, got, &err) == 0);
	CHECK(memcmp(got, master, 24) == 0);
	CHECK(vs_luks_unlock(&parsed, "Secret", 6, read_mem, area, got, &err) < 0);
	CHECK_EQ(err.code, EACCES);
	/* Hostile fields, each named in the refusal. */
	static const struct {
		size_t off;
		uint32_t value;
		const char *field;
	} bad[] = { { 108, 4096, "key_bytes" },
		    { 164, 0, "mk_digest_iterations" },
		    { 212, VS_LUKS_MAX_ITERATIONS + 1, "iterations" },
		    { 248, 0x7fffffff, "key_offset" },
		    { 248, 1, "key_offset" },
		    { 252, 3999, "stripes" },
		    { 208 + 48, 0x12345678, "active" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t hdr[VS_LUKS_HEADER_SIZE];
		memcpy(hdr, area, sizeof(hdr));
		for (int b = 0; b < 4; b++)
			hdr[bad[i].off + (size_t)b] = (uint8_t)(bad[i].value >> (24 - 8 * b));
		CHECK(vs_luks_parse(&parsed, hdr, sizeof(hdr), len, &err) < 0);
		if (!strstr(err.msg, bad[i].field)) {
			printf("#   %s: %s\n", bad[i].field, err.msg);
			CHECK(0);
		}
	}
	/* Slots must lie inside the area they were found in. */
	CHECK(vs_luks_parse(&parsed, area, len, 65536, &err) < 0);
	CHECK(strstr(err.msg, "past the end") != NULL);
	free(area);
	struct vs_luks_create_opts bad_alg = { .cipher_alg = "aes-512" };
	CHECK(vs_luks_format(&bad_alg, "x", 1, &area, &len, &h, master, &err) < 0);
	CHECK(strstr(err.msg, "cipher-alg") != NULL);
}

static int open_key(const char *path, const char *key, unsigned flags, struct vs_block **bs,
		    struct vs_error *err)
{
	struct vs_block_open_opts o = { .flags = flags, .key = key, .key_len = key ? strlen(key) : 0 };
	return vs_block_open(path, &o, bs, err);
}

/* An encrypted qcow2 through the block layer: byte-granular reads and
 * writes (widened to sectors inside) against a model, across a reopen;
 * the passphrase checks; a metadata-only open that cannot touch data. */
TEST(qcow2_unaligned_io)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/vessel-luks-%d.qcow2", (int)getpid());
	struct vs_block_create_opts co = {
		.size = 1 << 20, .cluster_size = 4096, .encrypt_format = "luks", .key = "pw", .key_len = 2
	};
	struct vs_error err = { 0 };
	struct vs_block *bs = NULL;
	static uint8_t model[1 << 20], buf[1 << 20];
	if (vs_block_create(path, "qcow2", &co, &err) < 0 ||
	    open_key(path, "pw", VS_BLOCK_RDWR, &bs, &err) < 0) {
		printf("#   %s\n", err.msg);
		CHECK(0);
		return;
	}
	srand(7);
	for (int i = 0; i < 300; i++) {
		size_t off = (size_t)rand() % (sizeof(model) - 9000), len = 1 + (size_t)rand() % 9000;
		if (i % 2) {
			memset(model + off, i, len);
			CHECK(vs_block_pwrite(bs, off, model + off, len) == 0);
		} else {
			CHECK(vs_block_pread(bs, off, buf, len) == 0);
			CHECK(memcmp(buf, model + off, len) == 0);
		}
	}
	memset(model, 0x77, 4096); /* allocated data at 0, for the NO_IO open */
	CHECK(vs_block_pwrite(bs, 0, model, 4096) == 0);
	vs_block_close(bs);
	CHECK(open_key(path, "pw", 0, &bs, &err) == 0);
	CHECK(vs_block_pread(bs, 0, buf, sizeof(buf)) == 0);
	CHECK(memcmp(buf, model, sizeof(buf)) == 0);
	vs_block_close(bs);
	CHECK(open_key(path, "PW", 0, &bs, &err) < 0);
	CHECK_EQ(err.code, EACCES);
	CHECK(strstr(err.msg, "wrong passphrase for") != NULL);
	CHECK(open_key(path, NULL, 0, &bs, &err) < 0);
	CHECK_EQ(err.code, ENOKEY);
	CHECK(open_key(path, NULL, VS_BLOCK_NO_IO, &bs, &err) == 0);
	struct vs_block_info info;
	vs_block_get_info(bs, &info);
	CHECK(info.encrypt != NULL && info.encrypt->slots[0].active);
	CHECK_EQ(vs_block_pread(bs, 0, buf, 4096), -EACCES);
	vs_block_close(bs);
	unlink(path);
}

VS_TAP_MAIN(TAP_CASE(pbkdf2_vectors), TAP_CASE(af_merge_vector_and_split_round_trip),
	    TAP_CASE(sector_cipher_vectors), TAP_CASE(format_unlock_and_refuse), TAP_CASE(qcow2_unaligned_io))
