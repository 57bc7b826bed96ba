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
