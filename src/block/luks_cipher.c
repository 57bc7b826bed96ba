/* The LUKS sector cipher: AES in xts, cbc or ecb mode over 512-byte units,
 * each with its IV made from the unit's number (dm-crypt's plain, plain64
 * and essiv generators), through OpenSSL's EVP interface. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "block/luks.h"

struct vs_luks_cipher {
	EVP_CIPHER_CTX *enc, *dec;
	EVP_CIPHER_CTX *essiv; /* encrypts the IVs (essiv only) */
	enum vs_luks_mode mode;
	enum vs_luks_ivgen ivgen;
};

static const EVP_CIPHER *aes_cipher(enum vs_luks_mode mode, unsigned bits)
{
	switch (mode) {
	case VS_LUKS_XTS:
		/* OpenSSL has no aes-192-xts. */
		return bits == 128 ? EVP_aes_128_xts() : bits == 256 ? EVP_aes_256_xts() : NULL;
	case VS_LUKS_CBC:
		return bits == 128 ? EVP_aes_128_cbc() : bits == 192 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	case VS_LUKS_ECB:
		break;
	}
	return bits == 128 ? EVP_aes_128_ecb() : bits == 192 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}

static EVP_CIPHER_CTX *keyed(const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx && EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1)
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

void vs_luks_cipher_free(struct vs_luks_cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_CIPHER_CTX_free(c->essiv);
	free(c);
}

/* ESSIV: IVs are encrypted with the hash of the key as an AES key. */
static int essiv_init(struct vs_luks_cipher *c, const struct vs_luks_header *h, const uint8_t *key,
		      struct vs_error *err)
{
	uint8_t hkey[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;
	const EVP_MD *md = EVP_get_digestbyname(h->ivgen_hash);
	if (!md || EVP_Digest(key, h->key_bytes, hkey, &hlen, md, NULL) != 1)
		return vs_error_msg(err, "essiv hash %s is not available in OpenSSL", h->ivgen_hash);
	c->essiv = keyed(aes_cipher(VS_LUKS_ECB, hlen * 8), hkey, 1);
	OPENSSL_cleanse(hkey, sizeof(hkey));
	return c->essiv ? 0 : vs_error_msg(err, "essiv: OpenSSL refused the cipher");
}

int vs_luks_cipher_new(const struct vs_luks_header *h, const uint8_t *key, struct vs_luks_cipher **out,
		       struct vs_error *err)
{
	const EVP_CIPHER *cipher = aes_cipher(h->mode, h->aes_bits);
	if (!cipher)
		return vs_error_msg(err, "aes-%u-%s is not available in OpenSSL", h->aes_bits,
				    vs_luks_mode_name(h));
	struct vs_luks_cipher *c = calloc(1, sizeof(*c));
	if (!c)
		return vs_error_msg(err, "out of memory");
	c->mode = h->mode;
	c->ivgen = h->ivgen;
	c->enc = keyed(cipher, key, 1);
	c->dec = keyed(cipher, key, 0);
	if (!c->enc || !c->dec) {
		vs_luks_cipher_free(c);
		return vs_error_msg(err, "OpenSSL refused the aes-%u-%s key", h->aes_bits,
				    vs_luks_mode_name(h));
	}
	if (c->ivgen == VS_LUKS_IV_ESSIV && essiv_init(c, h, key, err) < 0) {
		vs_luks_cipher_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static int make_iv(struct vs_luks_cipher *c, uint64_t sector, uint8_t iv[16])
{
	int n;
	memset(iv, 0, 16);
	/* plain keeps the low 32 bits only; all are little-endian. */
	unsigned bytes = c->ivgen == VS_LUKS_IV_PLAIN ? 4 : 8;
	for (unsigned i = 0; i < bytes; i++)
		iv[i] = (uint8_t)(sector >> (8 * i));
	if (c->ivgen == VS_LUKS_IV_ESSIV)
		return EVP_EncryptUpdate(c->essiv, iv, &n, iv, 16) == 1 ? 0 : -1;
	return 0;
}

int vs_luks_cipher_run(struct vs_luks_cipher *c, bool encrypt, uint64_t sector, uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX *ctx = encrypt ? c->enc : c->dec;
	uint8_t iv[16];
	if (len % 16)
		return -1;
	while (len) {
		int n = len < VS_LUKS_SECTOR ? (int)len : VS_LUKS_SECTOR, outl = 0;
		if (c->mode != VS_LUKS_ECB) {
			/* A fresh IV restarts the chain (cbc) or the tweak (xts). */
			if (make_iv(c, sector, iv) < 0 ||
			    EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) != 1)
				return -1;
		}
		if (EVP_CipherUpdate(ctx, buf, &outl, buf, n) != 1 || outl != n)
			return -1;
		buf += n;
		len -= (size_t)n;
		sector++;
	}
	return 0;
}
