/* orchestrator/decide/quorum.c — the majority rule (pure). See quorum.h. */
#include "orchestrator/decide/quorum.h"

#include <stdio.h>
#include <string.h>

void quorum_decide(const quorum_input *in, quorum_verdict *out)
{
    memset(out, 0, sizeof(*out));
    if (!in || in->controllers == 0 || in->controllers_agreeing > in->controllers ||
        in->replicas_on_side >= in->servers) {
        snprintf(out->why, sizeof(out->why), "inconsistent vote counts: not acting");
        return;
    }
    out->voters = in->servers + in->controllers;
    out->votes = in->replicas_on_side + in->controllers_agreeing;
    out->needed = out->voters / 2 + 1;
    if (in->off) {
        out->majority = true;
        snprintf(out->why, sizeof(out->why), "%zu of %zu voters on this side; failover_quorum = none: acting anyway",
                 out->votes, out->voters);
        return;
    }
    if (in->controllers_agreeing * 2 <= in->controllers) {
        snprintf(out->why, sizeof(out->why), "%zu of %zu controllers see the primary dead, %zu needed",
                 in->controllers_agreeing, in->controllers, in->controllers / 2 + 1);
        return;
    }
    out->majority = out->votes >= out->needed;
    snprintf(out->why, sizeof(out->why), "%zu of %zu voters on this side (%zu controller%s, %zu replica%s), %zu needed",
             out->votes, out->voters, in->controllers_agreeing, in->controllers_agreeing == 1 ? "" : "s",
             in->replicas_on_side, in->replicas_on_side == 1 ? "" : "s", out->needed);
}

bool quorum_voter_forgotten(int64_t last_seen_ms, int64_t now_ms, int64_t forget_ms)
{
    return forget_ms > 0 && now_ms >= last_seen_ms && now_ms - last_seen_ms >= forget_ms;
}

size_t quorum_controllers_voting(const int64_t *last_seen_ms, size_t n, size_t live, int64_t now_ms,
                                 int64_t forget_ms)
{
    size_t voters = 0;
    for (size_t i = 0; last_seen_ms && i < n; i++)
        if (!quorum_voter_forgotten(last_seen_ms[i], now_ms, forget_ms))
            voters++;
    if (voters < live)
        voters = live;
    return voters ? voters : 1;
}
