/* orchestrator/decide/events.c — the event table and its look-ups (pure). See events.h. */
#include "orchestrator/decide/events.h"

#include <string.h>

static const ev_info ev_table[EV_N_EVENTS] = {
#define EV_ROW_(id, nm, lvl, hk, desc) [id] = {.name = nm, .level = lvl, .hook = hk, .description = desc},
    EV_TABLE(EV_ROW_)
#undef EV_ROW_
};

const ev_info *ev_get(ev_id id)
{
    return id >= 0 && id < EV_N_EVENTS ? &ev_table[id] : NULL;
}

const char *ev_name(ev_id id)
{
    const ev_info *e = ev_get(id);
    return e ? e->name : "?";
}

ev_id ev_lookup(const char *name)
{
    if (!name)
        return EV_UNKNOWN;
    for (int i = 0; i < EV_N_EVENTS; i++)
        if (!strcmp(ev_table[i].name, name))
            return (ev_id)i;
    return EV_UNKNOWN;
}

int ev_hook_point(ev_id id, int level, const char *op_kind)
{
    const ev_info *e = ev_get(id);
    if (!e)
        return EV_NO_HOOK;
    if (e->hook == CFG_HOOK_ON_TOPOLOGY_CHANGE && level >= LOGL_DEBUG)
        return EV_NO_HOOK;
    if (e->hook == CFG_HOOK_POST_FAILOVER_FAILED && op_kind && strcmp(op_kind, "failover"))
        return EV_NO_HOOK;
    return e->hook;
}
