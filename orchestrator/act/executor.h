/*
 * orchestrator/act/executor.h — runs a recovery plan against the servers, step by
 * step, on a worker thread (one of a pool that waits between plans), and reports
 * each step's start and end to the daemon's loop through a pipe (so probing never
 * stops during a recovery).
 *
 * Owns: the SQL connections a recovery uses (separate from the probe
 * connections, opened by topology/probe/conn.h with the cluster's TLS and auth-plugin
 * settings), millisecond deadlines on every statement (Connector/C's
 * non-blocking API driven by poll()), the abort rule (a failed step before the
 * point of no return aborts the plan and gives the replicas their IO threads
 * back; after it, failures are recorded and the plan continues), and the SQL
 * of each step kind: every statement text comes from the dialect layer
 * (dialect_stmt_text on the server's capabilities; a server the plan has no
 * flavor for is asked its version first, and nothing is built blind). The
 * daemon owns the audit,
 * events and state; the worker touches none of them.
 */
#ifndef MYORCH_ORCHESTRATOR_EXECUTOR_H
#define MYORCH_ORCHESTRATOR_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/decide/plan.h"
#include "topology/probe/conn.h"
#include "topology/dialect.h"
#include "topology/strbuf.h"

/* The caller's copy borrows every string; the worker's copy (exec_start) owns its own. */
typedef struct {
    char user[128];
    char *password;
    char repl_user[128];
    char *repl_password;
    int connect_timeout_ms;
    conn_params_owned conn;      /* TLS and auth plugins of the worker's connections (fill .p) */
    dialect_repl_ssl repl_ssl;   /* TLS clauses of every CHANGE MASTER / REPLICATION SOURCE */
    int heartbeat_period_ms;    /* MASTER_/SOURCE_HEARTBEAT_PERIOD given to repointed replicas; <= 0: left out */
} exec_creds;

typedef enum {
    EXEC_STEP_START = 1,
    EXEC_STEP_END,
    EXEC_ROLLBACK,          /* a rollback action after an abort (message says what) */
    EXEC_DONE,
} exec_msg_kind;

/*
 * One message from the worker. Its texts are on the heap, whole, however long
 * (a GTID position has no size limit): the worker queues the message and the
 * pipe carries only its id. exec_read() hands the message over; free it
 * with exec_msg_clear().
 */
typedef struct {
    exec_msg_kind kind;
    int step;                   /* index into the plan, -1 for DONE/ROLLBACK */
    int ok;                     /* STEP_END / DONE: 1 success, 0 failure; ROLLBACK: 1 done */
    int aborted;                /* DONE: the plan stopped before the point of no return; 2: refused by the
                                 * fencing check with the lock another controller's (or nobody's): nothing
                                 * was rolled back here, the next lock holder settles it from the journal */
    int stopped;                /* DONE: rec_exec_stop() stopped a failover before step `step` (0-based);
                                 * nothing was rolled back: the next controller start resumes it */
    int64_t at_ms;              /* wall clock */
    const char *message;        /* what happened: the server's error, a reached position, ... (never NULL) */
    const char *gtid;           /* set-writable: the new primary's position once writable ("" none) */
    void *storage_;             /* owns both texts */
} exec_msg;

typedef struct exec_job exec_job;

/*
 * Hook steps are delegated: run(user, plan, step, promoted_gtid, msg)
 * runs the hook point's commands in the worker thread (bounded) and returns
 * 0 when they all succeeded, -1 otherwise (a pre hook's failure vetoes).
 * promoted_gtid is the new primary's position once it became writable ("" before).
 * The hooks object must outlive the worker.
 */
/*
 * The shared journal and fencing of controller coordination (issue 14, coordination =
 * etcd), as the worker sees it at each step boundary: before step `step` runs
 * (phase "intent"; ponr: this step is, or comes after, the point of no return) and
 * once the plan ended (phase "end", state "done" | "failed" | "aborted" | "stopped").
 * results[k]: 0 not run, 1 ok, 2 failed, for each step of the plan.
 */
typedef struct {
    const char *phase;
    size_t step;
    bool ponr;
    const char *state;          /* "end" only; NULL otherwise */
    const unsigned char *results;
    const char *promoted_gtid;  /* the new primary's position once writable ("" before) */
} exec_journal;

typedef struct {
    int (*run)(void *user, const plan_spec *plan, const plan_step *step, const char *promoted_gtid, strbuf *msg);
    void *user;
    /* Optional (NULL: single controller). Called in the worker thread at every step boundary
     * (exec_journal): records the step in the shared journal and checks the fencing token in
     * the same transaction. Non-zero (msg says why): this controller may no longer hold the
     * cluster's lock: before the point of no return the plan is refused there (the step is
     * reported failed, never run) and rolled back, except on -ESTALE (another controller
     * holds the lock, or nobody does: the next holder settles what the plan did from the
     * journal, and a rollback here would act without the lock, beside its recovery); past
     * it, the refusal is reported in the step's message and the plan goes on (a promotion is
     * never abandoned half-way). */
    int (*journal)(void *user, const plan_spec *plan, const exec_journal *j, strbuf *msg);
    void *journal_user;
} exec_hooks;

/* Copy the plan and the credentials and start the worker. hooks may be NULL. */
int exec_start(const plan_spec *plan, const exec_creds *creds, const exec_hooks *hooks, exec_job **out,
                   char *err, size_t errlen);
/* Readable when messages wait. */
int exec_fd(const exec_job *x);
/* Next message without blocking: 1 with *m (free with exec_msg_clear), 0 none, -1 the worker is gone. */
int exec_read(exec_job *x, exec_msg *m);
/* Free a message's texts (after exec_read; a cleared message may be cleared again). */
void exec_msg_clear(exec_msg *m);
/*
 * Ask the worker to stop at the next step boundary (a controller shutdown; safe from
 * any thread). The running step finishes (it is bounded). A failover then stops
 * where it is (DONE with stopped = 1; the audit keeps it running for the next start
 * to resume); any other plan before its point of no return aborts and rolls back
 * (DONE aborted); past it, it runs to its end.
 */
void rec_exec_stop(exec_job *x);
/* Wait for the worker to finish and free everything. */
void exec_free(exec_job *x);
/*
 * The threads plans run on wait between plans (see executor.c). exec_pool_warm() starts
 * n of them ahead of the first plan (the daemon's start: no thread is created on a
 * failover's path); exec_pool_shutdown() ends and joins every waiting one (after the
 * last exec_free(); the next exec_start() starts the pool again).
 */
int exec_pool_warm(size_t n, char *err, size_t errlen);
void exec_pool_shutdown(void);
/* Threads alive in the pool (running a plan or waiting for one). */
size_t exec_pool_threads(void);

/* Run a plan synchronously in the calling thread, calling fn for each message (tests, CLI); the
 * message's texts live until fn returns. */
int exec_run_sync(const plan_spec *plan, const exec_creds *creds, const exec_hooks *hooks,
                      void (*fn)(void *user, const exec_msg *m), void *user);


#endif
