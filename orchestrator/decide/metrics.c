/* orchestrator/decide/metrics.c — Prometheus text exposition (see metrics.h). */
#include "orchestrator/decide/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(metrics_text *t, const char *s, size_t n)
{
    if (t->err)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        char *nb;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (!(nb = realloc(t->buf, cap))) {
            t->err = -ENOMEM;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void puts_(metrics_text *t, const char *s) { put(t, s, strlen(s)); }

static void putf(metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(metrics_text *t, const char *fmt, ...)
{
    char b[64];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b)) {
        t->err = -EOVERFLOW;
        return;
    }
    put(t, b, (size_t)n);
}

static void put_value(metrics_text *t, double v)
{
    if (isnan(v))
        puts_(t, "NaN");
    else if (isinf(v))
        puts_(t, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        putf(t, "%.0f", v);
    else
        putf(t, "%.17g", v);
}

/* Escape a HELP text (\\ and \n) or a label value (also \"). */
static void put_escaped(metrics_text *t, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(t, "\\\\");
        else if (*s == '\n')
            puts_(t, "\\n");
        else if (quote && *s == '"')
            puts_(t, "\\\"");
        else
            put(t, s, 1);
    }
}

void metrics_family(metrics_text *t, const char *name, const char *type, const char *help)
{
    putf(t, "# HELP %s ", name);
    put_escaped(t, help, 0);
    putf(t, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(metrics_text *t, const char *const *labels, const char *le)
{
    int first = 1;
    if ((!labels || !labels[0]) && !le)
        return;
    puts_(t, "{");
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        if (!first)
            puts_(t, ",");
        first = 0;
        puts_(t, labels[i]);
        puts_(t, "=\"");
        put_escaped(t, labels[i + 1], 1);
        puts_(t, "\"");
    }
    if (le) {
        if (!first)
            puts_(t, ",");
        puts_(t, "le=\"");
        puts_(t, le);
        puts_(t, "\"");
    }
    puts_(t, "}");
}

void metrics_sample(metrics_text *t, const char *name, const char *const *labels, double value)
{
    puts_(t, name);
    put_labels(t, labels, NULL);
    puts_(t, " ");
    put_value(t, value);
    puts_(t, "\n");
}

void metrics_observe(metrics_histogram *h, double v)
{
    size_t i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void metrics_histogram_write(metrics_text *t, const char *name, const char *const *labels,
                             const metrics_histogram *h)
{
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i <= h->n; i++) {
        cum += h->counts[i];
        if (i < h->n)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        puts_(t, name);
        puts_(t, "_bucket");
        put_labels(t, labels, le);
        puts_(t, " ");
        put_value(t, (double)cum);
        puts_(t, "\n");
    }
    puts_(t, name);
    puts_(t, "_sum");
    put_labels(t, labels, NULL);
    puts_(t, " ");
    put_value(t, h->sum);
    puts_(t, "\n");
    puts_(t, name);
    puts_(t, "_count");
    put_labels(t, labels, NULL);
    puts_(t, " ");
    put_value(t, (double)h->count);
    puts_(t, "\n");
}

char *metrics_finish(metrics_text *t, size_t *len)
{
    char *b = t->buf;
    if (t->err || !b) {
        free(b);
        t->buf = NULL;
        return NULL;
    }
    *len = t->len;
    t->buf = NULL;
    t->len = t->cap = 0;
    return b;
}
