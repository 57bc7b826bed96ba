/* `vessel img`: disk image commands with qemu-img's option names and exit
 * statuses (1 for errors; check and compare have their own). */
#ifndef VESSEL_CLI_IMG_H
#define VESSEL_CLI_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

enum {
	VS_IMG_OK = 0,
	VS_IMG_ERROR = 1,
	/* check */
	VS_IMG_CHECK_CORRUPT = 2,
	VS_IMG_CHECK_LEAKS = 3,
	VS_IMG_CHECK_UNSUPPORTED = 63,
	/* compare */
	VS_IMG_COMPARE_DIFFERENT = 1,
	VS_IMG_COMPARE_ERROR = 2,
};

/* Open with a printed error; NULL on failure. Encrypted images get the
 * passphrase the command line or environment gives (img_key.c). */
struct vs_block *vs_img_open(const char *path, const char *format, unsigned flags);
struct vs_block *vs_img_open_key(const char *path, const char *format, unsigned flags, const void *key,
				 size_t key_len);
/* An image named on the command line: a file name, or with --image-opts
 * an image spec (driver=qcow2,file.filename=F,encrypt.key-secret=ID). */
struct vs_block *vs_img_open_arg(const char *arg, const char *format, unsigned flags);

/* img_key.c: take --object secret,..., --key-file and --image-opts out of
 * argv (0, or -1 with the error printed); forget them at the end. */
int vs_img_take_key_args(int *argc, char **argv);
void vs_img_forget_keys(void);
bool vs_img_image_opts(void);
/* The secret with this id (printed error when there is none). */
int vs_img_secret(const char *id, const void **key, size_t *len);
/* --key-file, else VESSEL_IMG_PASSPHRASE, else a lone --object secret. */
void vs_img_default_key(const void **key, size_t *len);
/* Print an open error saying how to give a passphrase. */
void vs_img_key_hint(const char *msg);
/* Check the encrypt.* create options and find their passphrase. */
int vs_img_create_key(struct vs_block_create_opts *o, const char *fmt);
/* img_luks_info.c: the `encrypt` part of info, as qemu-img prints it. */
void vs_img_luks_human(const struct vs_luks_header *h);
struct vs_json_writer;
void vs_img_luks_json(struct vs_json_writer *w, const struct vs_luks_header *h);
/* Print an I/O failure with the driver's explanation when it has one. */
void vs_img_io_error(struct vs_block *bs, const char *what, int r);
/* Parse "-o key=value,key=value" into create options; strings point into
 * `opts`, which is modified. */
int vs_img_parse_create_opts(char *opts, struct vs_block_create_opts *o, const char **fmt_backing_file,
			     const char **fmt_backing_fmt);
/* "196 KiB", "1 MiB", as qemu-img prints sizes. */
void vs_img_size_str(uint64_t v, char *buf, size_t len);
bool vs_img_is_zero(const void *buf, size_t len);
/* "Snapshot list:" and one line per snapshot, as qemu-img prints them. */
void vs_img_snapshot_table(const struct vs_block_snapshot *l, unsigned n);

int vs_img_create(int argc, char **argv);
int vs_img_info(int argc, char **argv);
int vs_img_resize(int argc, char **argv);
int vs_img_check(int argc, char **argv);
int vs_img_map(int argc, char **argv);
int vs_img_convert(int argc, char **argv);
int vs_img_compare(int argc, char **argv);
int vs_img_snapshot(int argc, char **argv);
int vs_img_rebase(int argc, char **argv);
int vs_img_commit(int argc, char **argv);
int vs_img_bench(int argc, char **argv);
int vs_img_serve(int argc, char **argv);
int vs_img_amend(int argc, char **argv);
/* Copy src into a fresh dst (convert's loop): an exit status. */
int vs_img_copy(struct vs_block *src, struct vs_block *dst, bool show);
/* Copy src onto dst where dst does not read zeros: over `base` (dst's
 * backing file, opened) only what differs, else zeros written too. */
int vs_img_copy_onto(struct vs_block *src, struct vs_block *dst, struct vs_block *base, bool show);
/* A backing file name resolved against the image naming it. */
void vs_img_backing_path(const char *image, const char *backing, char *out, size_t len);

#endif
