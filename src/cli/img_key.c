/* Passphrases of encrypted images for `vessel img`, spelled as qemu-img
 * spells them: `--object secret,id=ID,file=FILE` (or data=...; format=raw
 * or base64) named by `encrypt.key-secret=ID` in `-o` (create, convert's
 * target) or in `--image-opts` image specs; or, simpler, `--key-file FILE`
 * or the environment variable VESSEL_IMG_PASSPHRASE. Files are taken byte
 * for byte, as qemu does (a trailing newline is part of the passphrase).
 *
 * These options are taken out of argv before a command parses its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli/cli.h"
#include "cli/img.h"

#define MAX_SECRETS 16
#define PASSPHRASE_ENV "VESSEL_IMG_PASSPHRASE"

struct secret {
	char *id; /* NULL: from --key-file */
	uint8_t *data;
	size_t len;
};

static struct secret secrets[MAX_SECRETS + 1];
static unsigned nsecrets;
static bool image_opts;

static int decode_base64(const char *in, uint8_t **out, size_t *len)
{
	size_t n = strlen(in);
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	int r = buf && n % 4 == 0 ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : -1;
	if (r < 0) {
		free(buf);
		vs_cli_error("--object secret: the data is not valid base64");
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	size_t pad = n >= 2 && in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
	*out = buf;
	*len = (size_t)r - pad;
	return 0;
}

static int add_secret(char *id, uint8_t *data, size_t len)
{
	if (nsecrets >= MAX_SECRETS) {
		vs_cli_error("--object secret: at most %d secrets", MAX_SECRETS);
		OPENSSL_cleanse(data, len);
		free(data);
		free(id);
		return -1;
	}
	secrets[nsecrets++] = (struct secret){ .id = id, .data = data, .len = len };
	return 0;
}

/* "secret,id=sec0,file=F[,format=raw|base64]" or with data=... */
static int parse_object(const char *arg)
{
	char *copy = strdup(arg), *save = NULL;
	const char *id = NULL, *file = NULL, *data = NULL, *format = "raw";
	int r = -1;
	if (!copy)
		return -1;
	char *type = strtok_r(copy, ",", &save);
	if (!type || strcmp(type, "secret") != 0) {
		vs_cli_error("--object %s: only secret objects are supported (secret,id=ID,file=FILE)", arg);
		goto out;
	}
	for (char *kv = strtok_r(NULL, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v) {
			vs_cli_error("--object %s: `%s` is not key=value", arg, kv);
			goto out;
		}
		*v++ = '\0';
		if (strcmp(kv, "id") == 0)
			id = v;
		else if (strcmp(kv, "file") == 0)
			file = v;
		else if (strcmp(kv, "data") == 0)
			data = v;
		else if (strcmp(kv, "format") == 0)
			format = v;
		else {
			vs_cli_error("--object secret: unknown property `%s` (id, file, data, format)", kv);
			goto out;
		}
	}
	if (!id || !!file == !!data) {
		vs_cli_error("--object secret needs id= and one of file= or data=");
		goto out;
	}
	if (strcmp(format, "raw") != 0 && strcmp(format, "base64") != 0) {
		vs_cli_error("--object secret: format=%s: use raw or base64", format);
		goto out;
	}
	for (unsigned i = 0; i < nsecrets; i++)
		if (secrets[i].id && strcmp(secrets[i].id, id) == 0) {
			vs_cli_error("--object secret: id `%s` given twice", id);
			goto out;
		}
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (file && vs_cli_read_key_file(file, &bytes, &len) < 0)
		goto out;
	if (strcmp(format, "base64") == 0) {
		char *text = file ? strndup((const char *)bytes, len) : strdup(data);
		if (bytes)
			OPENSSL_cleanse(bytes, len);
		free(bytes);
		bytes = NULL;
		r = text ? decode_base64(text, &bytes, &len) : -1;
		free(text);
		if (r < 0)
			goto out;
	} else if (data) {
		len = strlen(data);
		bytes = (uint8_t *)strdup(data);
	}
	char *sid = strdup(id);
	r = bytes && sid ? add_secret(sid, bytes, len) : -1;
	if (r < 0 && !(bytes && sid)) {
		free(bytes);
		free(sid);
	}
out:
	free(copy);
	return r;
}

/* The value of a long option at argv[*i] ("--name V" or "--name=V"). */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (!argv[*i] || strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		vs_cli_error("%s needs a value", name);
		return "";
	}
	return argv[++*i];
}

int vs_img_take_key_args(int *argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *v;
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--image-opts") == 0) {
			image_opts = true;
		} else if ((v = option_value(*argc, argv, &i, "--object"))) {
			if (!*v || parse_object(v) < 0)
				return -1;
		} else if ((v = option_value(*argc, argv, &i, "--key-file"))) {
			uint8_t *bytes;
			size_t len;
			if (!*v || vs_cli_read_key_file(v, &bytes, &len) < 0 ||
			    add_secret(NULL, bytes, len) < 0)
				return -1;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

void vs_img_forget_keys(void)
{
	for (unsigned i = 0; i < nsecrets; i++) {
		OPENSSL_cleanse(secrets[i].data, secrets[i].len);
		free(secrets[i].data);
		free(secrets[i].id);
	}
	nsecrets = 0;
	image_opts = false;
}

int vs_img_secret(const char *id, const void **key, size_t *len)
{
	for (unsigned i = 0; i < nsecrets; i++)
		if (secrets[i].id && strcmp(secrets[i].id, id) == 0) {
			*key = secrets[i].data;
			*len = secrets[i].len;
			return 0;
		}
	vs_cli_error("encrypt.key-secret=%s: no --object secret,id=%s,... was given", id, id);
	return -1;
}

void vs_img_default_key(const void **key, size_t *len)
{
	const char *env = getenv(PASSPHRASE_ENV);
	*key = NULL;
	*len = 0;
	/* --key-file, then the environment, then a lone --object secret. */
	for (unsigned i = 0; i < nsecrets; i++)
		if (!secrets[i].id) {
			*key = secrets[i].data;
			*len = secrets[i].len;
			return;
		}
	if (env) {
		*key = env;
		*len = strlen(env);
	} else if (nsecrets == 1) {
		*key = secrets[0].data;
		*len = secrets[0].len;
	}
}

void vs_img_key_hint(const char *msg)
{
	vs_cli_error("%s: pass its passphrase with --object secret,id=sec0,file=FILE and --image-opts "
		     "driver=qcow2,file.filename=IMAGE,encrypt.key-secret=sec0 (as qemu-img), or --key-file "
		     "FILE, or the environment variable " PASSPHRASE_ENV,
		     msg);
}

int vs_img_create_key(struct vs_block_create_opts *o, const char *fmt)
{
	const struct vs_luks_create_opts *e = &o->encrypt;
	if (!o->encrypt_format) {
		if (!o->key && !e->cipher_alg && !e->cipher_mode && !e->ivgen_alg && !e->ivgen_hash_alg &&
		    !e->hash_alg && !e->iter_time_ms)
			return 0;
		vs_cli_error("encrypt.* options need -o encrypt.format=luks");
		return -1;
	}
	if (strcmp(fmt, "qcow2") != 0) {
		vs_cli_error("encrypt.format: encryption needs the qcow2 format (-f/-O qcow2)");
		return -1;
	}
	if (strcmp(o->encrypt_format, "luks") != 0) {
		vs_cli_error("encrypt.format=%s: only luks is supported", o->encrypt_format);
		return -1;
	}
	if (!o->key)
		vs_img_default_key(&o->key, &o->key_len);
	if (!o->key) {
		vs_cli_error(
		    "encrypt.format=luks needs a passphrase: pass --object secret,id=sec0,file=FILE with "
		    "-o encrypt.key-secret=sec0, or --key-file FILE, or " PASSPHRASE_ENV);
		return -1;
	}
	return 0;
}

bool vs_img_image_opts(void)
{
	return image_opts;
}
