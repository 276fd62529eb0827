/*
 * orchestrator/reload.h — what a configuration reload (SIGHUP, `myorch reload`)
 * changes. Pure: compares two loaded configurations, does no I/O.
 *
 * Owns: the list of keys that take a restart (sockets, keys, HTTP, state_dir,
 * log_file/log_format, allow_core_dumps: a reload changing one is refused
 * whole and the running configuration stays), and the clusters a new
 * configuration adds, removes and changes. The daemon applies the result
 * (daemon.c) between recoveries: a reload never changes a running one.
 */
#ifndef MYORCH_ORCHESTRATOR_RELOAD_H
#define MYORCH_ORCHESTRATOR_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "orchestrator/config.h"

typedef struct {
    const char **added;    /* cluster names (borrowed from the new configuration) */
    const char **removed;  /* borrowed from the old configuration */
    const char **changed;  /* in both, some setting differs (new configuration's names) */
    size_t n_added, n_removed, n_changed;
    bool globals_changed;  /* a reloadable [myorch] key differs (timeouts, log_level, ...) */
} rld_diff;

/*
 * Compare the running configuration with a newly loaded one. Returns 0 with
 * *out filled (release with rld_diff_free), -EINVAL when a key that takes a
 * restart differs (err names it and says so; *out is empty), or -ENOMEM.
 */
int rld_compare(const cfg_config *old, const cfg_config *nw, rld_diff *out, char *err, size_t errlen);
void rld_diff_free(rld_diff *d);

/* true when nothing a cluster's monitoring or recovery uses differs. */
bool rld_cluster_equal(const cfg_cluster *a, const cfg_cluster *b);

#endif
