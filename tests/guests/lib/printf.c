/* A small printf that writes straight to the serial console. It handles
 * only what the tests print: integers in decimal or hex with an optional
 * width, strings and characters. */
#include "libc.h"
#include "serial.h"

static void put_padding(char c, int n)
{
	while (n-- > 0)
		serial_putc(c);
}

static void put_number(uint64_t v, unsigned base, bool upper, bool negative, int width, char pad, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	int len = n + (negative ? 1 : 0);

	if (!left && pad == ' ')
		put_padding(' ', width - len);
	if (negative)
		serial_putc('-');
	if (!left && pad == '0')
		put_padding('0', width - len);
	while (n)
		serial_putc(buf[--n]);
	if (left)
		put_padding(' ', width - len);
}

void vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		bool left = false;
		char pad = ' ';
		int width = 0, lng = 0, prec = -1;

		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			for (fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}

		switch (*fmt) {
		case 'c': {
			char c = (char)va_arg(ap, int);
			if (!left)
				put_padding(' ', width - 1);
			serial_putc(c);
			if (left)
				put_padding(' ', width - 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int len = 0;
			while (s[len] && (prec < 0 || len < prec))
				len++;
			if (!left)
				put_padding(' ', width - len);
			for (int i = 0; i < len; i++)
				serial_putc(s[i]);
			if (left)
				put_padding(' ', width - len);
			break;
		}
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_number(mag, 10, false, v < 0, width, pad, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_number(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false, width, pad, left);
			break;
		}
		case 'p':
			serial_puts("0x");
			put_number((uintptr_t)va_arg(ap, void *), 16, false, false, width, pad, left);
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			/* Unknown conversion: show it rather than guess. */
			serial_putc('%');
			serial_putc(*fmt);
			break;
		}
	}
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void puts_raw(const char *s)
{
	serial_puts(s);
}
