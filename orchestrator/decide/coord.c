/* orchestrator/decide/coord.c — coordination decisions (pure). See coord.h. */
#include "orchestrator/decide/coord.h"

#include <stdio.h>
#include <string.h>

static void inconsistent(coord_verdict *out, const char *what)
{
    out->agree = false;
    out->needed = 0;
    snprintf(out->why, sizeof(out->why), "inconsistent controller views (%s): not acting", what);
}

void coord_detect(const coord_input *in, coord_verdict *out)
{
    const coord_view *self = NULL;

    memset(out, 0, sizeof(*out));
    if (!in || !in->self || !in->views || in->n_views == 0 || in->fresh_ms <= 0 || in->detection_quorum < 0) {
        inconsistent(out, "no input");
        return;
    }
    for (size_t i = 0; i < in->n_views; i++) {
        const coord_view *v = &in->views[i];
        if (!v->name) {
            inconsistent(out, "a view without a controller name");
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(in->views[j].name, v->name)) {
                inconsistent(out, "a controller listed twice");
                return;
            }
        if (v->has_view && v->replicas_confirming > v->replicas_seen) {
            inconsistent(out, "more replicas confirming than seen");
            return;
        }
        if (!strcmp(v->name, in->self))
            self = v;
        if (!v->lease_alive)
            continue;
        out->live++;
        if (!v->has_view || v->age_ms < 0 || v->age_ms > in->fresh_ms)
            continue;
        out->fresh++;
        if (!v->primary_reachable)
            out->dead_votes++;
    }
    if (!self) {
        inconsistent(out, "this controller has no view");
        return;
    }
    out->needed = in->detection_quorum ? (size_t)in->detection_quorum : out->live / 2 + 1;
    if (!self->lease_alive) {
        snprintf(out->why, sizeof(out->why), "this controller holds no live lease: it does not act");
        return;
    }
    if (!self->has_view || self->age_ms < 0 || self->age_ms > in->fresh_ms || self->primary_reachable) {
        snprintf(out->why, sizeof(out->why), "this controller does not see the primary dead");
        return;
    }
    if (in->detection_quorum && out->needed > out->live) {
        snprintf(out->why, sizeof(out->why), "detection_quorum = %zu but only %zu controller%s live", out->needed,
                 out->live, out->live == 1 ? " is" : "s are");
        return;
    }
    out->agree = out->dead_votes >= out->needed;
    snprintf(out->why, sizeof(out->why), "%zu of %zu live controller%s see%s the primary dead (%zu fresh view%s), %zu needed",
             out->dead_votes, out->live, out->live == 1 ? "" : "s", out->dead_votes == 1 ? "s" : "", out->fresh,
             out->fresh == 1 ? "" : "s", out->needed);
}

int64_t coord_lease_margin_ms(int64_t ttl_ms)
{
    int64_t m = ttl_ms / 4;
    if (m < 500)
        m = 500;
    if (m > ttl_ms / 2)
        m = ttl_ms / 2;
    return m;
}

int64_t coord_lease_left_ms(int64_t last_ok_sent_ms, int64_t now_ms, int64_t ttl_ms)
{
    if (last_ok_sent_ms <= 0 || ttl_ms <= 0 || now_ms < last_ok_sent_ms)
        return 0;
    return last_ok_sent_ms + ttl_ms - coord_lease_margin_ms(ttl_ms) - now_ms;
}

bool coord_lease_safe(int64_t last_ok_sent_ms, int64_t now_ms, int64_t ttl_ms)
{
    return coord_lease_left_ms(last_ok_sent_ms, now_ms, ttl_ms) > 0;
}
