/*
 * orchestrator/decide/metrics.h — Prometheus text exposition (format 0.0.4).
 *
 * Owns: writing metric families (# HELP, # TYPE), samples with escaped
 * label values, histograms (cumulative buckets, _sum, _count) and the
 * bucket counting of an observation. Pure: no I/O; the daemon walks its
 * state and calls these (orchestrator/daemon.c, metrics_build there).
 * Label values are escaped (\\, \", \n); names are the caller's constants.
 */
#ifndef MYORCH_ORCHESTRATOR_METRICS_H
#define MYORCH_ORCHESTRATOR_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int err;           /* -ENOMEM once an append failed: the text is unusable */
} metrics_text;

/* "# HELP name help\n# TYPE name type\n". */
void metrics_family(metrics_text *t, const char *name, const char *type, const char *help);
/*
 * One sample: name{k1="v1",...} value. labels: key, value pairs ending with
 * NULL (may be NULL itself). NaN and infinities print as Prometheus spells them.
 */
void metrics_sample(metrics_text *t, const char *name, const char *const *labels, double value);

#define METRICS_MAX_BUCKETS 16
typedef struct {
    size_t n;                          /* upper bounds in bounds[], ascending; +Inf is implicit */
    double bounds[METRICS_MAX_BUCKETS];
    uint64_t counts[METRICS_MAX_BUCKETS + 1]; /* per bucket (not cumulative); last = above every bound */
    double sum;
    uint64_t count;
} metrics_histogram;

void metrics_observe(metrics_histogram *h, double v);
/* name_bucket{labels,le="..."}, name_sum, name_count (the family line is the caller's). */
void metrics_histogram_write(metrics_text *t, const char *name, const char *const *labels,
                             const metrics_histogram *h);

/* The text (NUL-terminated, heap; *len its length) and ownership of it; NULL after an error. */
char *metrics_finish(metrics_text *t, size_t *len);

#endif
