/* Minimal TAP producer for unit tests: each TEST is a function; main()
 * comes from VS_TAP_MAIN(list of tests). */
#ifndef VESSEL_TESTS_TAP_H
#define VESSEL_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

struct vs_tap_case {
	const char *name;
	void (*fn)(int *failed);
};

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			*failed_ = 1;                                                       \
		}                                                                           \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                                \
	do {                                                                                              \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);            \
		if (a_ != b_) {                                                                           \
			printf("#   %s:%d: %s == %s: 0x%llx != 0x%llx\n", __FILE__, __LINE__, #a, #b, a_, \
			       b_);                                                                       \
			*failed_ = 1;                                                                     \
		}                                                                                         \
	} while (0)

/* Whether an integer expression has a signed type (not evaluated). Plain
 * char follows the platform; bool and enums with an unsigned underlying
 * type count as unsigned. For integers only, not pointers. */
#define VS_TAP_SIGNED(x)                                                                         \
	_Generic((x), char                                                                       \
		 : ((char)-1 < 0), signed char : 1, short : 1, int : 1, long : 1, long long : 1, \
		   default : 0)

/* a == b as integers of any width and signedness, each evaluated once;
 * compared as mathematical values (-1 and 0xffffffffu differ), so a sign
 * mix-up shows instead of being hidden by the usual conversions. */
static inline int vs_tap_eq(unsigned long long a, int a_signed, unsigned long long b, int b_signed)
{
	if (a_signed != b_signed && ((a_signed && (long long)a < 0) || (b_signed && (long long)b < 0)))
		return 0;
	return a == b;
}

static inline void vs_tap_int(unsigned long long v, int is_signed)
{
	if (is_signed)
		printf("%lld (0x%llx)", (long long)v, v);
	else
		printf("%llu (0x%llx)", v, v);
}

#define CHECK_EQ(a, b)                                                                                      \
	do {                                                                                                \
		int as_ = VS_TAP_SIGNED(a), bs_ = VS_TAP_SIGNED(b);                                         \
		/* sign-extends a signed value, zero-extends an unsigned one */                             \
		unsigned long long a_ = as_ ? (unsigned long long)(long long)(a) : (unsigned long long)(a); \
		unsigned long long b_ = bs_ ? (unsigned long long)(long long)(b) : (unsigned long long)(b); \
		if (!vs_tap_eq(a_, as_, b_, bs_)) {                                                         \
			printf("#   %s:%d: %s == %s: ", __FILE__, __LINE__, #a, #b);                        \
			vs_tap_int(a_, as_);                                                                \
			printf(" != ");                                                                     \
			vs_tap_int(b_, bs_);                                                                \
			printf("\n");                                                                       \
			*failed_ = 1;                                                                       \
		}                                                                                           \
	} while (0)

/* A string for a diagnostic line: quoted, NULL as NULL, control bytes and
 * quotes escaped so a newline cannot break the TAP stream. */
static inline void vs_tap_str(const char *s)
{
	if (!s) {
		printf("NULL");
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			printf("\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Two strings equal; NULL equals only NULL. */
#define CHECK_STREQ(a, b)                                                                                 \
	do {                                                                                              \
		const char *a_ = (a), *b_ = (b);                                                          \
		if (!((a_ == NULL && b_ == NULL) || (a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0))) { \
			printf("#   %s:%d: %s == %s: ", __FILE__, __LINE__, #a, #b);                      \
			vs_tap_str(a_);                                                                   \
			printf(" != ");                                                                   \
			vs_tap_str(b_);                                                                   \
			printf("\n");                                                                     \
			*failed_ = 1;                                                                     \
		}                                                                                         \
	} while (0)

/* Skip the rest of a case: reported as "ok N - name # SKIP reason". */
#define SKIP(reason)                                   \
	do {                                           \
		printf("#   skipped: %s\n", (reason)); \
		*failed_ = -1;                         \
		return;                                \
	} while (0)

#define TEST(name) static void name(int *failed_)
#define TAP_CASE(name)      \
	{                   \
#name, name \
	}

#define VS_TAP_MAIN(...)                                                                                 \
	int main(void)                                                                                   \
	{                                                                                                \
		static const struct vs_tap_case cases[] = { __VA_ARGS__ };                               \
		size_t n = sizeof(cases) / sizeof(cases[0]);                                             \
		int any = 0;                                                                             \
		setvbuf(stdout, NULL, _IOLBF, 0);                                                        \
		printf("1..%zu\n", n);                                                                   \
		for (size_t i = 0; i < n; i++) {                                                         \
			int failed = 0;                                                                  \
			cases[i].fn(&failed);                                                            \
			if (failed < 0)                                                                  \
				printf("ok %zu - %s # SKIP see above\n", i + 1, cases[i].name);          \
			else                                                                             \
				printf("%s %zu - %s\n", failed ? "not ok" : "ok", i + 1, cases[i].name); \
			any |= failed > 0;                                                               \
		}                                                                                        \
		return any;                                                                              \
	}

#endif
