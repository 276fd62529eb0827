/* topology/strbuf.c — growable heap strings and checked formatting (see strbuf.h). */
#include "topology/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(strbuf *b) { *b = (strbuf)STRBUF_INIT; }

void strbuf_free(strbuf *b)
{
    free(b->s);
    strbuf_init(b);
}

void strbuf_reset(strbuf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->s)
        b->s[0] = '\0';
}

/* Room for n more bytes plus the NUL. */
static int grow(strbuf *b, size_t n)
{
    size_t need, cap;
    char *p;
    if (b->err)
        return b->err;
    if (n > STRBUF_MAX || b->len + n > STRBUF_MAX)
        return b->err = -EOVERFLOW;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->s, cap);
    if (!p)
        return b->err = -ENOMEM;
    if (!b->s)
        p[0] = '\0';
    b->s = p;
    b->cap = cap;
    return 0;
}

int strbuf_putn(strbuf *b, const char *s, size_t n)
{
    int rc = grow(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int strbuf_puts(strbuf *b, const char *s) { return strbuf_putn(b, s ? s : "", s ? strlen(s) : 0); }

int strbuf_putc(strbuf *b, char c) { return strbuf_putn(b, &c, 1); }

int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, rc;
    if (b->err)
        return b->err;
    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return b->err = -EINVAL;
    if ((rc = grow(b, (size_t)n)) < 0)
        return rc;
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int strbuf_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int strbuf_setf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    strbuf_reset(b);
    va_start(ap, fmt);
    rc = strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *strbuf_str(const strbuf *b) { return b->s ? b->s : ""; }

int strbuf_error(const strbuf *b) { return b->err; }

char *strbuf_steal(strbuf *b)
{
    char *s;
    if (b->err) {
        strbuf_free(b);
        return NULL;
    }
    s = b->s ? b->s : strdup("");
    strbuf_init(b);
    return s;
}

char *strbuf_vasprintf(const char *fmt, va_list ap)
{
    strbuf b = STRBUF_INIT;
    strbuf_vprintf(&b, fmt, ap);
    return strbuf_steal(&b);
}

char *strbuf_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = strbuf_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

bool str_copy_fits(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

int fmt_checked(char *buf, size_t len, char *err, size_t errlen, const char *what, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (!buf || len == 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: no room to write into", what ? what : "value");
        return -EINVAL;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf[0] = '\0';
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot be formatted", what ? what : "value");
        return -EINVAL;
    }
    if ((size_t)n >= len) {
        buf[0] = '\0';
        if (err && errlen)
            snprintf(err, errlen, "%s: %d bytes do not fit in %zu", what ? what : "value", n, len - 1);
        return -EOVERFLOW;
    }
    return 0;
}

void strbuf_line_add(strbuf_line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->full || l->cap == 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        l->buf[l->len] = '\0';
        return;
    }
    if ((size_t)n >= l->cap - l->len) {
        /* Cut: end the line with "..." so a reader knows. */
        l->full = true;
        l->len = l->cap - 1;
        if (l->cap >= 4)
            memcpy(l->buf + l->cap - 4, "...", 4);
        return;
    }
    l->len += (size_t)n;
}

void strbuf_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
