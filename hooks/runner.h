/*
 * hooks/runner.h — runs hook commands: fork/exec without a shell, bounded in
 * time, output captured, nothing of the daemon leaking into the child.
 *
 * Owns: splitting a hook command line into argv (no shell: a hook that wants
 * one writes `sh -c '...'` itself); starting the child (posix_spawn) in its own
 * process group, with default signal dispositions, an empty signal mask, no
 * inherited descriptor above 2, and a minimal environment (PATH plus exactly
 * the variables given: never the daemon's other variables, which may hold
 * secrets); feeding stdin without deadlocking on a child that does not read;
 * capturing stdout+stderr merged (capped); the timeout (SIGTERM to the group,
 * SIGKILL after a grace period); reaping (waitpid on the child's own pid only,
 * never a SIGCHLD handler); the event contract the shipped hooks read
 * (MYORCH_* variables and the JSON document on stdin: hook_payload_build).
 *
 * Lifecycle of one hook: it is finished when its main process exits (or is
 * killed). Output is then read until EOF for up to HOOK_DRAIN_MS, and anything
 * left in the hook's process group is killed with SIGKILL, so a hook never
 * leaves processes behind unless it detaches them itself (setsid).
 *
 * Threads: every function is thread-safe on distinct objects; hook_run_sync
 * can run in any number of threads at once (the recovery worker) while the
 * event loop drives a hook_runner. A hook_runner is used by one thread (the
 * loop); its jobs run in worker threads of their own that block every signal.
 * Requirement on the rest of the process: nobody may reap children it did not
 * start (waitpid(-1, ...), SIGCHLD set to SIG_IGN): the runner reaps its own.
 */
#ifndef MYORCH_HOOKS_RUNNER_H
#define MYORCH_HOOKS_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOOK_OUTPUT_MAX (64 * 1024)      /* bytes of output kept; then "\n[truncated: N bytes dropped]" */
#define HOOK_KILL_GRACE_MS 1000          /* SIGTERM → SIGKILL delay: min(HOOK_KILL_GRACE_MS, timeout_ms) */
#define HOOK_DRAIN_MS 100                /* after the main process exits: output read this long at most */
#define HOOK_COMMAND_MAX 8192            /* longest command line accepted by hook_split_command */
#define HOOK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct {
    const char *name, *value;
} hook_env;

typedef struct {
    int exit_code;        /* exit status, -1 when killed or not started */
    int term_signal;      /* signal that ended it, 0 if it exited */
    bool timed_out;       /* overran timeout_ms: got SIGTERM, then SIGKILL after the grace period */
    bool cancelled;       /* stopped (SIGTERM, then SIGKILL) because its hook_runner was freed */
    bool start_failed;    /* could not be started (error says why: not found, not executable, ...) */
    char error[256];      /* empty when the hook exited 0; else one line saying what went wrong */
    char *output;         /* captured stdout+stderr, NUL-terminated, heap (never NULL after a run) */
    size_t output_len;    /* bytes in output (it may contain NUL bytes) */
    int64_t duration_ms;  /* from start to the main process's end */
} hook_result;

/*
 * Run one hook command to completion, blocking, bounded by timeout_ms (> 0).
 * The child gets: argv from hook_split_command(command); environment PATH (the
 * caller's $PATH, or HOOK_DEFAULT_PATH; an entry "PATH" in env overrides it)
 * plus exactly env[0..n_env); stdin = stdin_data (NULL = empty) then EOF;
 * stdout and stderr into one capture; the caller's working directory.
 * A command without '/' is searched in that PATH.
 * Returns 0 when the hook ran (whatever its outcome: see hook_result_ok), or
 * -errno when it could not be started (out->start_failed set, out->error says
 * why): -EINVAL bad command, environment or timeout, -ENOENT not found,
 * -EACCES not executable, -ENOEXEC not a program (a script without "#!"),
 * -ENOMEM, -EMFILE, ... *out is always initialised: call hook_result_free().
 */
int hook_run_sync(const char *command, const hook_env *env, size_t n_env, const char *stdin_data,
                  int timeout_ms, hook_result *out);
void hook_result_free(hook_result *r);
/* True when the hook was started, exited by itself with status 0 within its timeout. */
bool hook_result_ok(const hook_result *r);

/*
 * Asynchronous runner for the daemon's event loop: starting a job and
 * collecting results never block. Each job runs hook_run_sync's logic in a
 * worker thread; finished jobs queue up until hook_runner_poll() takes them.
 */
typedef struct hook_runner hook_runner;

int hook_runner_new(hook_runner **out, char *err, size_t errlen);
/* Level-triggered: readable (POLLIN) while finished jobs wait for hook_runner_poll(). */
int hook_runner_fd(const hook_runner *r);
/*
 * Start a job; command, env and stdin_data are copied. tag is returned with the
 * result. Returns 0, or -errno with err filled when the job cannot be queued
 * (-EINVAL bad command/env/timeout, -ENOMEM, -EAGAIN no thread). A hook that
 * cannot be started (not found, ...) is not an error here: its result comes
 * back from hook_runner_poll() with start_failed set.
 */
int hook_runner_start(hook_runner *r, const char *command, const hook_env *env, size_t n_env,
                      const char *stdin_data, int timeout_ms, uint64_t tag, char *err, size_t errlen);
/* 1 = a finished job: *tag and *out filled (hook_result_free() it); 0 = none waiting. */
int hook_runner_poll(hook_runner *r, uint64_t *tag, hook_result *out);
/* Jobs started whose hook has not finished yet (finished jobs waiting for poll are not counted). */
size_t hook_runner_running(const hook_runner *r);
/* Stops running jobs (SIGTERM to their groups, SIGKILL after the grace period,
 * so this can block up to about HOOK_KILL_GRACE_MS), reaps them, drops unpolled
 * results, frees everything. NULL is accepted. */
void hook_runner_free(hook_runner *r);

/*
 * Split a command line into argv, without a shell: arguments are separated by
 * blanks (space, tab, newline); '...' keeps everything literally; "..." keeps
 * everything except that \" \\ \$ \` and backslash-newline are escapes (as in
 * sh); outside quotes a backslash escapes the next character; adjacent pieces
 * join (a'b'"c" is abc; '' is an empty argument). Nothing is expanded ($VAR,
 * ~, *, ...). Unquoted shell operators | & ; < > ( ) ` $ are refused, since
 * without a shell they would silently become arguments: write
 * sh -c 'cmd | other' instead. *argv is NULL-terminated, one allocation,
 * freed with hook_free_argv(). Returns 0 or -EINVAL (err says where), -ENOMEM.
 */
int hook_split_command(const char *command, char ***argv, size_t *argc, char *err, size_t errlen);
void hook_free_argv(char **argv);
/*
 * The program a hook command's argv[0] names, as it would be run now: itself when it
 * holds a '/', else the first match in $PATH (the runner's default path without one).
 * 0 with its path in out; -ENOENT, -EACCES, -ENOEXEC... with err naming the problem
 * (missing, not executable, a #! interpreter that is missing). For config load.
 */
int hook_find_program(const char *argv0, char *out, size_t outlen, char *err, size_t errlen);

/* ---- the event contract of the shipped hooks (hooks/README.md) ---------------- */

typedef struct {
    const char *addr;     /* host:port */
    double lag_s;         /* seconds behind; < 0 = unknown (JSON null) */
    bool reachable;
} hook_replica;

typedef struct {
    const char *event;        /* event name, e.g. "recovery-done" */
    const char *cluster;
    const char *old_primary;  /* host:port, NULL or "" = none */
    const char *new_primary;  /* host:port, NULL or "" = none */
    const hook_replica *replicas;  /* replicas of the (new) primary */
    size_t n_replicas;
    const char *lost_gtids;   /* NULL or "" = nothing lost */
    uint64_t recovery_id;     /* 0 = not part of a recovery */
    int64_t ts_ms;            /* wall clock of the event */
} hook_event;

#define HOOK_PAYLOAD_NENV 8

/* What hook_payload_build() makes for one event: the environment and stdin of the hook. */
typedef struct {
    hook_env env[HOOK_PAYLOAD_NENV];  /* MYORCH_EVENT, _CLUSTER, _OLD_PRIMARY, _NEW_PRIMARY,
                                         _REPLICAS (addr,addr,...), _LOST_GTIDS, _RECOVERY_ID, _TS_MS */
    size_t n_env;
    char *json;       /* {"event","cluster","old_primary","new_primary","replicas":[{"addr","lag_s",
                         "reachable"}],"lost_gtids","recovery_id","ts_ms"}: absent values are null */
    char *storage;    /* owns the env values */
} hook_payload;

/* Returns 0, or -EINVAL (no event name, a replica without address, invalid UTF-8) / -ENOMEM, err filled. */
int hook_payload_build(const hook_event *ev, hook_payload *out, char *err, size_t errlen);
void hook_payload_free(hook_payload *p);

#endif
