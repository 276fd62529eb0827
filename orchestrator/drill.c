/* orchestrator/drill.c — drill schedules and drill records (pure). See drill.h. */
#include "orchestrator/drill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCHED_FORMS "expected 'every DURATION' (N followed by m, h or d, at least 10m), 'daily HH:MM' or " \
                    "'DAY HH:MM' (DAY: mon..sun), in UTC"

static int parse_hhmm(const char *t, int *minute)
{
    char *end;
    long h, m;
    if (strlen(t) != 5 || t[2] != ':')
        return -1;
    h = strtol(t, &end, 10);
    if (end != t + 2 || t[0] < '0' || t[0] > '9')
        return -1;
    m = strtol(t + 3, &end, 10);
    if (*end || t[3] < '0' || t[3] > '9' || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    *minute = (int)(h * 60 + m);
    return 0;
}

int drill_sched_parse(const char *spec, drill_sched *out, char *err, size_t errlen)
{
    static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    char word[16], rest[16], extra[2];
    int n;
    memset(out, 0, sizeof(*out));
    if (!spec || strlen(spec) > 40 || (n = sscanf(spec, "%15s %15s %1s", word, rest, extra)) != 2) {
        snprintf(err, errlen, "bad drill schedule '%.40s': %s", spec ? spec : "", SCHED_FORMS);
        return -EINVAL;
    }
    if (!strcasecmp(word, "every")) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(rest, &end, 10);
        if (errno || end == rest || v <= 0 || v > 366 * 24 * 60 || !end[0] || end[1] || rest[0] < '0' ||
            rest[0] > '9' || !strchr("mhd", end[0])) {
            snprintf(err, errlen, "bad drill schedule '%s': %s", spec, SCHED_FORMS);
            return -EINVAL;
        }
        out->kind = DRILL_EVERY;
        out->every_s = v * (end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400);
        if (out->every_s < DRILL_MIN_EVERY_S || out->every_s > 366LL * 86400) {
            snprintf(err, errlen, "bad drill schedule '%s': the interval must be from 10m to 366d", spec);
            return -EINVAL;
        }
        return 0;
    }
    if (parse_hhmm(rest, &out->minute) < 0) {
        snprintf(err, errlen, "bad drill schedule '%s': the time must be HH:MM (00:00 to 23:59, UTC)", spec);
        return -EINVAL;
    }
    if (!strcasecmp(word, "daily")) {
        out->kind = DRILL_DAILY;
        return 0;
    }
    for (int d = 0; d < 7; d++)
        if (!strcasecmp(word, days[d])) {
            out->kind = DRILL_WEEKLY;
            out->wday = d;
            return 0;
        }
    snprintf(err, errlen, "bad drill schedule '%s': %s", spec, SCHED_FORMS);
    return -EINVAL;
}

int64_t drill_sched_next(const drill_sched *s, int64_t now_s, int64_t last_start_s)
{
    int64_t day, at;
    if (s->kind == DRILL_EVERY) {
        int64_t next = last_start_s > 0 ? last_start_s + s->every_s : now_s;
        return next < now_s ? now_s : next;
    }
    /* 1970-01-01 was a Thursday (wday 4). */
    day = now_s >= 0 ? now_s / 86400 : 0;
    for (int k = 0; k < 8; k++, day++) {
        at = day * 86400 + (int64_t)s->minute * 60;
        if (at < now_s || at <= last_start_s)
            continue;
        if (s->kind == DRILL_WEEKLY && (int)((day + 4) % 7) != s->wday)
            continue;
        return at;
    }
    return now_s + 7 * 86400; /* not reached */
}

static int get_ms(const json_t *b, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out, char *err,
                  size_t errlen)
{
    const json_t *v = json_object_get(b, key);
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "\"%s\" is missing", key);
            return -EINVAL;
        }
        *out = -1;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "\"%s\" must be an integer from %lld to %lld", key, (long long)lo, (long long)hi);
        return -EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

static int get_str(const json_t *b, const char *key, size_t max, const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(b, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
        snprintf(err, errlen, "\"%s\" must be a string of at most %zu bytes", key, max);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

int drill_record_parse(const json_t *b, store_drill *out, char *err, size_t errlen)
{
    const int64_t day_ms = 86400000;
    const int64_t max_ts = 32503680000000LL; /* year 3000 */
    memset(out, 0, sizeof(*out));
    if (!json_is_boolean(json_object_get(b, "drill_ok"))) {
        snprintf(err, errlen, "\"drill_ok\" must be true or false");
        return -EINVAL;
    }
    out->ok = json_is_true(json_object_get(b, "drill_ok"));
    if (get_ms(b, "started_ms", true, 1, max_ts, &out->started_ms, err, errlen) < 0 ||
        get_ms(b, "ended_ms", true, 1, max_ts, &out->ended_ms, err, errlen) < 0 ||
        get_ms(b, "there_recovery_id", false, 1, INT64_MAX, &out->there_recovery_id, err, errlen) < 0 ||
        get_ms(b, "back_recovery_id", false, 1, INT64_MAX, &out->back_recovery_id, err, errlen) < 0 ||
        get_ms(b, "there_write_block_ms", false, 0, day_ms, &out->there_write_block_ms, err, errlen) < 0 ||
        get_ms(b, "back_write_block_ms", false, 0, day_ms, &out->back_write_block_ms, err, errlen) < 0 ||
        get_str(b, "from_primary", 300, &out->from_primary, err, errlen) < 0 ||
        get_str(b, "via", 300, &out->via, err, errlen) < 0 || get_str(b, "error", 2000, &out->error, err, errlen) < 0)
        return -EINVAL;
    if (out->ended_ms < out->started_ms) {
        snprintf(err, errlen, "\"ended_ms\" is before \"started_ms\"");
        return -EINVAL;
    }
    if (out->ok && (out->there_write_block_ms < 0 || out->back_write_block_ms < 0)) {
        snprintf(err, errlen, "a successful drill needs both write blocks");
        return -EINVAL;
    }
    return 0;
}
