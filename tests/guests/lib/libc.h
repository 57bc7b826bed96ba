/* The sliver of a C library the guest needs: memory and string helpers
 * (gcc may also emit calls to memcpy/memset itself) and printf to COM1. */
#ifndef GUEST_LIBC_H
#define GUEST_LIBC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Parse an unsigned decimal or 0x-prefixed hex number; returns false when
 * `s` holds anything else. */
bool parse_uint(const char *s, size_t len, uint64_t *out);

/* printf subset: %c %s %d %i %u %x %X %p %%, flags '0' and '-', a width,
 * a precision for %s, and the length modifiers l, ll and z. Output goes
 * to the console. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *fmt, va_list ap);
void puts_raw(const char *s); /* no newline added */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
