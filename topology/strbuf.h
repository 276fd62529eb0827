/*
 * topology/strbuf.h — growable heap strings and checked formatting.
 *
 * Owns: the one way this program builds text whose length comes from data
 * (GTID positions and sets, statements holding them, messages quoting them):
 * a strbuf grows on the heap to whatever the text needs, so nothing is ever
 * cut; and fmt_checked(), for the places that keep a fixed buffer on purpose
 * (host names, paths, identifiers with a documented limit), which refuses a
 * value that does not fit with a message instead of writing a shorter one.
 *
 * A strbuf remembers its first failure (out of memory, or longer than
 * STRBUF_MAX): later appends do nothing, strbuf_error() says what happened,
 * and the text so far stays readable (never a silently shorter value: check
 * strbuf_error() before using it as a value).
 */
#ifndef MYORCH_TOPOLOGY_STRBUF_H
#define MYORCH_TOPOLOGY_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest text a strbuf holds (64 MiB): past it appends fail with -EOVERFLOW. */
#define STRBUF_MAX ((size_t)64 << 20)

typedef struct {
    char *s;      /* NUL-terminated when cap > 0; NULL before the first append */
    size_t len;   /* bytes of text */
    size_t cap;   /* bytes allocated */
    int err;      /* 0, -ENOMEM or -EOVERFLOW: the first failure */
} strbuf;

#define STRBUF_INIT {NULL, 0, 0, 0}

void strbuf_init(strbuf *b);
/* Free the text; the buffer is empty and usable again. */
void strbuf_free(strbuf *b);
/* Empty the text (keeps the allocation) and forget a failure. */
void strbuf_reset(strbuf *b);

/* Append. Each returns 0 or the buffer's (first) failure. */
int strbuf_puts(strbuf *b, const char *s);
int strbuf_putn(strbuf *b, const char *s, size_t n);
int strbuf_putc(strbuf *b, char c);
int strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Replace the text: reset + printf. */
int strbuf_setf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The text ("" when empty; never NULL). */
const char *strbuf_str(const strbuf *b);
/* 0 or the first failure (-ENOMEM, -EOVERFLOW). */
int strbuf_error(const strbuf *b);
/*
 * Hand the text over as a heap string the caller frees (never NULL unless out
 * of memory) and leave the buffer empty. NULL also when the buffer failed.
 */
char *strbuf_steal(strbuf *b);

/* A heap copy of the formatted text (NULL: out of memory or longer than STRBUF_MAX). */
char *strbuf_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *strbuf_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy src into dst[size] whole: false (dst untouched) when it does not fit. */
bool str_copy_fits(char *dst, size_t size, const char *src);

/*
 * snprintf into a fixed buffer, checked: 0 when the whole text fits; else
 * buf is set to "" and -EOVERFLOW returned with err saying
 * "WHAT: N bytes do not fit in LEN" (err may be NULL). -EINVAL for a
 * formatting error or a zero-length buffer.
 */
int fmt_checked(char *buf, size_t len, char *err, size_t errlen, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Fill an error buffer (the err, errlen pair every module's functions take): err may be
 * NULL or errlen 0 (then nothing is written). A message longer than errlen is cut: error
 * texts, never data (data goes through fmt_checked).
 */
void strbuf_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A line in a fixed buffer that its reader sees cut: each append is bounded by cap, and the
 * first one that does not fit ends the text with "..." (for explanations: evidence lines,
 * reasons; data that must stay whole goes into a strbuf or through fmt_checked). Start with
 * (strbuf_line){.buf = b, .cap = sizeof(b)} over a NUL-terminated (empty) b.
 */
typedef struct {
    char *buf;
    size_t cap, len;
    bool full;
} strbuf_line;
void strbuf_line_add(strbuf_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
