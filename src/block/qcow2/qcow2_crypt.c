/* qcow2 with LUKS encryption (crypt_method 2, qemu's encrypt.format=luks):
 * the LUKS header and key slots live in clusters of the image named by the
 * full-disk-encryption header extension; guest data is encrypted per
 * 512-byte sector with the sector's *host* offset as IV (what qemu does
 * for LUKS); metadata stays in the clear. Data paths see sector-aligned
 * requests only: the driver's entry points widen the others. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "block/qcow2/qcow2.h"

#define CRYPT_BOUNCE (256u << 10)
#define CRYPT_MAX_AREA (64u << 20) /* LUKS areas beyond this are absurd */

struct qcow2_crypt {
	struct vs_luks_header hdr;
	struct vs_luks_cipher *cipher; /* NULL: opened without the key */
	uint8_t *bounce;	       /* CRYPT_BOUNCE bytes */
};

void qcow2_crypt_free(struct qcow2 *s)
{
	if (!s->crypt)
		return;
	vs_luks_cipher_free(s->crypt->cipher);
	free(s->crypt->bounce);
	free(s->crypt);
	s->crypt = NULL;
}

int qcow2_crypt_check_header(struct qcow2 *s, uint64_t file_size, struct vs_error *err)
{
	if (s->crypt_method == 0)
		return 0;
	if (s->crypt_method == 1)
		return vs_error_msg(
		    err, "legacy AES encryption (crypt_method 1) is not supported (qemu deprecates "
			 "it): convert the image to LUKS with qemu-img");
	if (s->crypt_method != 2)
		return vs_error_msg(err, "crypt_method %u is unknown (2 is LUKS)", s->crypt_method);
	uint64_t off = s->crypt_offset, len = s->crypt_length;
	if (!s->has_crypt_ext)
		return vs_error_msg(
		    err, "crypt_method 2: LUKS-encrypted, but the encryption header extension is missing");
	if (off % s->cluster_size || off < s->cluster_size)
		return vs_error_msg(err, "LUKS header offset 0x%llx is not cluster-aligned or in the header",
				    (unsigned long long)off);
	if (len < VS_LUKS_HEADER_SIZE || len > CRYPT_MAX_AREA)
		return vs_error_msg(err, "LUKS header length %llu is out of range", (unsigned long long)len);
	if (off + len > file_size)
		return vs_error_msg(err,
				    "LUKS header (offset 0x%llx, %llu bytes) lies past the end of the file",
				    (unsigned long long)off, (unsigned long long)len);
	if (off < s->l1_offset + (uint64_t)s->l1_size * 8 && s->l1_offset < off + len)
		return vs_error_msg(err, "LUKS header overlaps the L1 table");
	if (off < s->rt_offset + (uint64_t)s->rt_clusters * s->cluster_size && s->rt_offset < off + len)
		return vs_error_msg(err, "LUKS header overlaps the refcount table");
	if (s->size % VS_LUKS_SECTOR)
		return vs_error_msg(err, "encrypted image size %llu is not a multiple of 512",
				    (unsigned long long)s->size);
	return 0;
}

static int read_area(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct qcow2 *s = ctx;
	if (off + len > s->crypt_length)
		return -EIO;
	return qcow2_pread(s, s->crypt_offset + off, buf, len);
}

static int crypt_new(struct qcow2 *s, struct vs_error *err)
{
	s->crypt = calloc(1, sizeof(*s->crypt));
	if (!s->crypt || !(s->crypt->bounce = malloc(CRYPT_BOUNCE)))
		return vs_error_set(err, ENOMEM, "`%s`: encryption", s->bs->filename);
	return 0;
}

static int set_key(struct qcow2 *s, const uint8_t *master, struct vs_error *err)
{
	if (vs_luks_cipher_new(&s->crypt->hdr, master, &s->crypt->cipher, err) < 0)
		return vs_error_prefix(err, "`%s`: ", s->bs->filename);
	return 0;
}

int qcow2_crypt_open(struct qcow2 *s, const struct vs_block_open_opts *o, struct vs_error *err)
{
	uint8_t raw[VS_LUKS_HEADER_SIZE], master[VS_LUKS_MAX_KEY];
	const char *name = s->bs->filename;
	if (s->crypt_method != 2)
		return 0;
	if (crypt_new(s, err) < 0)
		return -1;
	int r = qcow2_pread(s, s->crypt_offset, raw, sizeof(raw));
	if (r < 0)
		return vs_error_set(err, -r, "`%s`: read the LUKS header", name);
	if (vs_luks_parse(&s->crypt->hdr, raw, sizeof(raw), s->crypt_length, err) < 0)
		return vs_error_prefix(err, "`%s`: ", name);
	/* Metadata only (info): no unlocking, as qemu-img info does not. */
	if (o->flags & VS_BLOCK_NO_IO)
		return 0;
	if (!o->key)
		return vs_error_msg_code(err, ENOKEY, "`%s` is encrypted (LUKS) and no passphrase was given",
					 name);
	if (vs_luks_unlock(&s->crypt->hdr, o->key, o->key_len, read_area, s, master, err) < 0) {
		if (err->code == EACCES)
			return vs_error_msg_code(
			    err, EACCES,
			    "wrong passphrase for `%s`: no LUKS key slot accepts it (a key file is used byte "
			    "for byte, a trailing newline included)",
			    name);
		return vs_error_prefix(err, "`%s`: ", name);
	}
	r = set_key(s, master, err);
	OPENSSL_cleanse(master, sizeof(master));
	return r;
}

const struct vs_luks_header *qcow2_crypt_header(const struct qcow2 *s)
{
	return s->crypt ? &s->crypt->hdr : NULL;
}

static int no_key(struct qcow2 *s)
{
	qcow2_fail(s, "the image was opened without its passphrase: its data cannot be read or written");
	return -EACCES;
}

int qcow2_crypt_decrypt(struct qcow2 *s, uint64_t host, uint8_t *buf, uint64_t len)
{
	if (!s->crypt->cipher)
		return no_key(s);
	if ((host | len) % VS_LUKS_SECTOR ||
	    vs_luks_cipher_run(s->crypt->cipher, false, host / VS_LUKS_SECTOR, buf, len) < 0) {
		qcow2_fail(s, "decrypting %llu bytes at host offset 0x%llx failed", (unsigned long long)len,
			   (unsigned long long)host);
		return -EIO;
	}
	return 0;
}

int qcow2_write_data(struct qcow2 *s, uint64_t host, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;
	if (!s->crypt)
		return qcow2_pwrite(s, host, buf, len);
	if (!s->crypt->cipher)
		return no_key(s);
	while (len) {
		uint64_t n = len < CRYPT_BOUNCE ? len : CRYPT_BOUNCE;
		memcpy(s->crypt->bounce, p, n);
		if ((host | n) % VS_LUKS_SECTOR ||
		    vs_luks_cipher_run(s->crypt->cipher, true, host / VS_LUKS_SECTOR, s->crypt->bounce, n) <
			0) {
			qcow2_fail(s, "encrypting %llu bytes at host offset 0x%llx failed",
				   (unsigned long long)n, (unsigned long long)host);
			return -EIO;
		}
		int r = qcow2_pwrite(s, host, s->crypt->bounce, n);
		if (r < 0)
			return r;
		host += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* The sector-aligned span around [off, off + len). */
static void widen(uint64_t off, uint64_t len, uint64_t *a, uint64_t *b)
{
	*a = off & ~(uint64_t)(VS_LUKS_SECTOR - 1);
	*b = (off + len + VS_LUKS_SECTOR - 1) & ~(uint64_t)(VS_LUKS_SECTOR - 1);
}

int qcow2_crypt_read_unaligned(struct vs_block *bs, uint64_t off, void *buf, size_t len)
{
	uint64_t a, b;
	widen(off, len, &a, &b);
	uint8_t *tmp = malloc(b - a);
	if (!tmp)
		return -ENOMEM;
	int r = bs->drv->read(bs, a, tmp, b - a);
	if (r == 0)
		memcpy(buf, tmp + (off - a), len);
	free(tmp);
	return r;
}

int qcow2_crypt_write_unaligned(struct vs_block *bs, uint64_t off, const void *buf, size_t len)
{
	uint64_t a, b;
	widen(off, len, &a, &b);
	uint8_t *tmp = malloc(b - a);
	int r = tmp ? 0 : -ENOMEM;
	/* The edge sectors keep what the guest saw around the new bytes. */
	if (r == 0 && off != a)
		r = bs->drv->read(bs, a, tmp, VS_LUKS_SECTOR);
	if (r == 0 && off + len != b)
		r = bs->drv->read(bs, b - VS_LUKS_SECTOR, tmp + (b - a - VS_LUKS_SECTOR), VS_LUKS_SECTOR);
	if (r == 0) {
		memcpy(tmp + (off - a), buf, len);
		r = bs->drv->write(bs, a, tmp, b - a);
	}
	free(tmp);
	return r;
}

int qcow2_crypt_create(struct vs_block *bs, const struct vs_block_create_opts *o, uint64_t ext_data,
		       struct vs_error *err)
{
	struct qcow2 *s = bs->opaque;
	uint8_t master[VS_LUKS_MAX_KEY], b[16];
	uint8_t *area = NULL;
	size_t area_len;
	uint64_t host = 0;
	if (strcmp(o->encrypt_format, "luks") != 0)
		return vs_error_msg(err, "encrypt.format=%s: only luks is supported", o->encrypt_format);
	if (!o->key)
		return vs_error_msg(err, "encrypt.format=luks needs a passphrase");
	if (crypt_new(s, err) < 0)
		return -1;
	if (vs_luks_format(&o->encrypt, o->key, o->key_len, &area, &area_len, &s->crypt->hdr, master, err) <
	    0)
		return -1;
	/* The area fills whole clusters (zeros after the key slots). */
	uint64_t n = (area_len + s->cluster_size - 1) / s->cluster_size;
	uint8_t *full = realloc(area, n * s->cluster_size);
	int r = full ? 0 : -ENOMEM;
	if (full) {
		area = full;
		memset(area + area_len, 0, n * s->cluster_size - area_len);
		r = qcow2_alloc_clusters(s, n, &host);
	}
	if (r == 0)
		r = qcow2_pwrite(s, host, area, n * s->cluster_size);
	free(area);
	if (r == 0)
		r = qcow2_fdatasync(s);
	/* The extension's place was reserved at create; the crypt method
	 * switches on last, once everything it points at is there. */
	qcow2_put64(b, host);
	qcow2_put64(b + 8, area_len);
	if (r == 0)
		r = qcow2_pwrite(s, ext_data, b, 16);
	qcow2_put32(b, 2);
	if (r == 0)
		r = qcow2_pwrite(s, 32, b, 4);
	if (r == 0)
		r = qcow2_fdatasync(s);
	if (r < 0) {
		OPENSSL_cleanse(master, sizeof(master));
		return vs_error_set(err, -r, "write the LUKS header%s%s", bs->last_error[0] ? ": " : "",
				    bs->last_error);
	}
	s->crypt_method = 2;
	s->has_crypt_ext = true;
	s->crypt_offset = host;
	s->crypt_length = area_len;
	r = set_key(s, master, err);
	OPENSSL_cleanse(master, sizeof(master));
	return r;
}
