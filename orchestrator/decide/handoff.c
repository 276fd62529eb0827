/* orchestrator/decide/handoff.c — the judgement of a journal found at a lock taking (pure). See handoff.h. */
#include "orchestrator/decide/handoff.h"

#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
    [HANDOFF_FINISHED] = "finished",
    [HANDOFF_OWN_RUNNING] = "own-running",
    [HANDOFF_WAIT] = "wait",
    [HANDOFF_OWN_ENDED] = "own-ended",
    [HANDOFF_TAKE_OVER] = "take-over",
};

const char *handoff_action_name(handoff_action a)
{
    return (size_t)a < sizeof(action_names) / sizeof(action_names[0]) && action_names[a] ? action_names[a] : "?";
}

handoff_action handoff_judge(const handoff_input *in, char *why, size_t whylen)
{
    bool unfinished = !in->state || !strcmp(in->state, "running") || !strcmp(in->state, "stopped");
    /* Both the name and the id: ids are per controller (each has its own state database). */
    bool own = in->controller && in->self && in->self[0] && !strcmp(in->controller, in->self) &&
               in->recovery_id > 0;

    if (!unfinished) {
        snprintf(why, whylen, "the recorded recovery ended (%s)", in->state);
        return HANDOFF_FINISHED;
    }
    if (in->running_here && own && in->recovery_id == in->running_id) {
        snprintf(why, whylen, "recovery #%lld is this controller's own and still runs here: left alone",
                 (long long)in->recovery_id);
        return HANDOFF_OWN_RUNNING;
    }
    if (in->running_here) {
        snprintf(why, whylen, "recovery #%lld of controller %s is unfinished, and recovery #%lld runs here: judged "
                 "once that one ended", (long long)in->recovery_id, in->controller ? in->controller : "(unknown)",
                 (long long)in->running_id);
        return HANDOFF_WAIT;
    }
    if (own && in->recovery_id == in->ended_id && in->ended_settled) {
        snprintf(why, whylen, "recovery #%lld is this controller's own and ended here: its outcome goes into the "
                 "journal", (long long)in->recovery_id);
        return HANDOFF_OWN_ENDED;
    }
    snprintf(why, whylen, "recovery #%lld of controller %s is unfinished and runs nowhere here: taken over",
             (long long)in->recovery_id, in->controller ? in->controller : "(unknown)");
    return HANDOFF_TAKE_OVER;
}
