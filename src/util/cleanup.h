/* Scope-bound release helpers: a variable declared with one of these
 * attributes is released when it leaves scope unless ownership was handed
 * off with vs_steal_fd()/vs_steal_ptr(). */
#ifndef VESSEL_UTIL_CLEANUP_H
#define VESSEL_UTIL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vs_cleanup_free_(void *p)
{
	free(*(void **)p);
}

static inline void vs_cleanup_close_(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void vs_cleanup_fclose_(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define vs_autofree __attribute__((cleanup(vs_cleanup_free_)))
#define vs_autoclose __attribute__((cleanup(vs_cleanup_close_)))
#define vs_autofclose __attribute__((cleanup(vs_cleanup_fclose_)))

static inline int vs_steal_fd(int *fd)
{
	int ret = *fd;
	*fd = -1;
	return ret;
}

static inline void *vs_steal_ptr(void *pp)
{
	void **p = pp;
	void *ret = *p;
	*p = NULL;
	return ret;
}

#define VS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VS_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define VS_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))

#endif
