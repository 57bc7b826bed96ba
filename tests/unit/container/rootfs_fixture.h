/* Shared by the rootfs tests: a temporary rootfs (busybox, a symlink
 * "evil -> /", a marker file, a copy-up seed), a host directory and file
 * to bind, mountinfo look-ups, and children that run a case in their own
 * mount namespace. */
#ifndef VESSEL_TESTS_ROOTFS_FIXTURE_H
#define VESSEL_TESTS_ROOTFS_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "container/rootfs.h"

#define SKIP_STATUS 77

#define STRV(...)                                                \
	((struct vs_strv){ .v = (char *[]){ __VA_ARGS__, NULL }, \
			   .count = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *) })

/* CHECK for code running in a child: counts into *fails_. */
#define CCHECK(cond)                                                                                         \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			printf("#   child %s:%d: check failed: %s (errno: %s)\n", __FILE__, __LINE__, #cond, \
			       strerror(errno));                                                             \
			(*fails_)++;                                                                         \
		}                                                                                            \
	} while (0)

struct vs_fixture {
	char dir[64];	   /* everything lives below it */
	char root[96];	   /* the rootfs */
	char host[96];	   /* a host directory to bind */
	char hostfile[96]; /* a host file to bind */
	char escape[64];   /* a name that must appear in the rootfs's /tmp, never the host's */
	char escape_dest[96];
};

/* The topmost /proc/self/mountinfo entry at `point`. */
struct vs_mi_entry {
	char root[256], point[256], opts[256], optional[128], fstype[64], super[256];
};

/* Build the tree below a fresh /tmp/vs-rootfs-XXXXXX; remove it all. */
int vs_fixture_make(struct vs_fixture *f);
void vs_fixture_remove(struct vs_fixture *f);

int vs_fx_write_text(const char *path, const char *text);
bool vs_fx_read_eq(const char *path, const char *want);

/* mountinfo of the calling process: the topmost entry at `point`; whether
 * it exists with that type and per-mount option (NULL: any); whether any
 * mount point contains `needle`. */
bool vs_fx_mi_find(const char *point, struct vs_mi_entry *out);
bool vs_fx_has_opt(const char *list, const char *opt);
bool vs_fx_mi_has(const char *point, const char *fstype, const char *opt);
bool vs_fx_mounts_mention(const char *needle);

/* Fork; the child unshares its mount namespace, makes / rprivate and
 * exits with fn(arg) (SKIP_STATUS when it may not). Returns that status. */
int vs_fx_run_child(int (*fn)(void *), void *arg);

/* prepare + pivot + finalize, printing the error; 0 or -1. */
int vs_fx_setup_all(const struct vs_spec *spec, const struct vs_rootfs_cgroup_mounts *cg);

bool vs_fx_is_chr(const char *path, unsigned int maj, unsigned int min);
bool vs_fx_link_is(const char *path, const char *target);
bool vs_fx_is_ro(const char *path);
int vs_fx_create_errno(const char *path); /* errno of creating the file, 0 if it could be */
int vs_fx_run_sh(const char *script);	  /* exit status of the rootfs's /bin/sh -c script */

#endif
