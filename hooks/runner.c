/* hooks/runner.c — hook commands: no shell, own process group, minimal env, bounded, reaped. */
#include "hooks/runner.h"
#include "topology/grow.h"
#include "topology/probe/clock.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 16384
#define READ_ROUNDS 64           /* chunks read per wake-up at most */
#define WRITE_CHUNK 65536
#define POLL_TICK_MS 10          /* exit polling when pidfd_open is unavailable */
#define REAP_TICK_MS 1000        /* after SIGKILL: wait in these steps until the child is gone */
#define AFTER_KILL_READ_MS 500   /* after killing stragglers: read their last output this long at most */
#define WORKER_STACK (512 * 1024)

#define set_err strbuf_err /* topology/strbuf.h */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- command line → argv ------------------------------------------------------ */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Characters that mean shell syntax when unquoted: refused rather than passed as arguments. */
static const char SHELL_OPS[] = "|&;<>()`$";

int hook_split_command(const char *command, char ***argv_out, size_t *argc_out, char *err, size_t errlen)
{
    const char *p;
    char *scratch = NULL, *w, *block = NULL, **argv, *s;
    size_t len, nargs = 0, used;
    int rc = 0;

    if (argv_out)
        *argv_out = NULL;
    if (argc_out)
        *argc_out = 0;
    if (!command || !argv_out) {
        set_err(err, errlen, "no command");
        return -EINVAL;
    }
    len = strlen(command);
    if (len > HOOK_COMMAND_MAX) {
        set_err(err, errlen, "command is %zu bytes long, at most %d", len, HOOK_COMMAND_MAX);
        return -EINVAL;
    }
    /* Words are written '\0'-terminated into scratch: never longer than the input + 1. */
    scratch = malloc(len + 1);
    if (!scratch) {
        rc = -ENOMEM;
        set_err(err, errlen, "out of memory");
        goto out;
    }
    p = command;
    w = scratch;
    for (;;) {
        char *start;
        int quoted = 0;
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        start = w;
        while (*p && !is_blank(*p)) {
            char c = *p;
            if (c == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (!q) {
                    set_err(err, errlen, "unterminated ' starting at offset %td", p - command);
                    rc = -EINVAL;
                    goto out;
                }
                memcpy(w, p + 1, (size_t)(q - p - 1));
                w += q - p - 1;
                p = q + 1;
                quoted = 1;
            } else if (c == '"') {
                const char *open = p++;
                for (;;) {
                    if (!*p) {
                        set_err(err, errlen, "unterminated \" starting at offset %td", open - command);
                        rc = -EINVAL;
                        goto out;
                    }
                    if (*p == '"') {
                        p++;
                        break;
                    }
                    if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
                        if (p[1] != '\n')
                            *w++ = p[1];
                        p += 2;
                        continue;
                    }
                    *w++ = *p++;
                }
                quoted = 1;
            } else if (c == '\\') {
                if (!p[1]) {
                    set_err(err, errlen, "trailing backslash at offset %td", p - command);
                    rc = -EINVAL;
                    goto out;
                }
                if (p[1] != '\n')
                    *w++ = p[1];
                p += 2;
            } else if (strchr(SHELL_OPS, c)) {
                set_err(err, errlen,
                        "unquoted '%c' at offset %td: hooks run without a shell; quote it, or "
                        "write sh -c '...' to use shell syntax", c, p - command);
                rc = -EINVAL;
                goto out;
            } else {
                *w++ = *p++;
            }
        }
        if (w == start && !quoted)
            continue;   /* only backslash-newlines: nothing */
        *w++ = '\0';
        nargs++;
    }
    if (nargs == 0) {
        set_err(err, errlen, "empty command");
        rc = -EINVAL;
        goto out;
    }
    used = (size_t)(w - scratch);
    block = malloc((nargs + 1) * sizeof(char *) + used);
    if (!block) {
        set_err(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    argv = (char **)(void *)block;
    s = block + (nargs + 1) * sizeof(char *);
    memcpy(s, scratch, used);
    for (size_t i = 0; i < nargs; i++) {
        argv[i] = s;
        s += strlen(s) + 1;
    }
    argv[nargs] = NULL;
    *argv_out = argv;
    if (argc_out)
        *argc_out = nargs;
out:
    free(scratch);
    return rc;
}

void hook_free_argv(char **argv)
{
    free(argv);
}

/* ---- environment, program lookup --------------------------------------------- */

static int valid_env_name(const char *n)
{
    if (!n || !*n || !(n[0] == '_' || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= 'a' && n[0] <= 'z')))
        return 0;
    for (const char *c = n; *c; c++)
        if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

/* envp = PATH=<path> (unless env has PATH) + env, in one allocation. */
static int build_envp(const hook_env *env, size_t n_env, const char *path, char ***envp_out, char *err,
                      size_t errlen)
{
    size_t bytes = strlen("PATH=") + strlen(path) + 1, n = 1, k = 0;
    int has_path = 0;
    char *block, *s, **envp;

    if (n_env && !env) {
        set_err(err, errlen, "no environment array");
        return -EINVAL;
    }
    for (size_t i = 0; i < n_env; i++) {
        if (!valid_env_name(env[i].name) || !env[i].value) {
            set_err(err, errlen, "bad environment variable %s%s%s: names are [A-Za-z_][A-Za-z0-9_]*, "
                    "values non-NULL", env[i].name ? "'" : "", env[i].name ? env[i].name : "(null)",
                    env[i].name ? "'" : "");
            return -EINVAL;
        }
        if (strcmp(env[i].name, "PATH") == 0)
            has_path = 1;
        bytes += strlen(env[i].name) + 1 + strlen(env[i].value) + 1;
        n++;
    }
    block = malloc((n + 1) * sizeof(char *) + bytes);
    if (!block) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    envp = (char **)(void *)block;
    s = block + (n + 1) * sizeof(char *);
    if (!has_path) {
        envp[k++] = s;
        s += sprintf(s, "PATH=%s", path) + 1;
    }
    for (size_t i = 0; i < n_env; i++) {
        envp[k++] = s;
        s += sprintf(s, "%s=%s", env[i].name, env[i].value) + 1;
    }
    envp[k] = NULL;
    *envp_out = envp;
    return 0;
}

/* 0 when path is an executable regular file, else -errno with the reason. */
static int check_program(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, e == ENOENT ? "not found" : strerror(e));
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: is a directory, not a program", path);
        return -EACCES;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        return -EACCES;
    }
    if (access(path, X_OK) < 0) {
        set_err(err, errlen, "%s: not executable (mode %04o): chmod +x it", path, (unsigned)(st.st_mode & 07777));
        return -EACCES;
    }
    return 0;
}

/*
 * The kernel runs ELF binaries and "#!" scripts; anything else fails with ENOEXEC
 * (no shell fallback here). Checked before spawning, for a clear message whatever
 * way the exec error would come back (valgrind turns posix_spawn's vfork into a
 * fork and the child then just exits 127). An unreadable file is left to exec.
 */
static int check_format(const char *path, char *err, size_t errlen)
{
    char head[256], interp[sizeof head];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    size_t i = 2, k = 0;

    if (fd < 0)
        return 0;
    do
        n = read(fd, head, sizeof head - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return 0;
    head[n] = '\0';
    if (n >= 4 && memcmp(head, "\177ELF", 4) == 0)
        return 0;
    if (n < 2 || head[0] != '#' || head[1] != '!') {
        set_err(err, errlen, "%s: not a program (a script needs a #! line)", path);
        return -ENOEXEC;
    }
    while (head[i] == ' ' || head[i] == '\t')
        i++;
    while (head[i] && !is_blank(head[i]) && head[i] != '\r')
        interp[k++] = head[i++];
    interp[k] = '\0';
    if (!k || interp[0] != '/') {
        set_err(err, errlen, "%s: its #! line names no absolute interpreter", path);
        return -ENOEXEC;
    }
    if ((rc = check_program(interp, NULL, 0)) < 0) {
        set_err(err, errlen, "%s: its #! interpreter %s %s", path, interp,
                rc == -ENOENT ? "was not found" : "is not executable");
        return rc;
    }
    return 0;
}

/* The program to execute: argv0 itself when it has a '/', else the first match in search_path. */
static int find_program(const char *argv0, const char *search_path, char *out, size_t outlen, char *err,
                        size_t errlen)
{
    const char *dir = search_path;
    int first_err = 0, rc;
    char why[256] = "";

    if (strchr(argv0, '/')) {
        if (strlen(argv0) >= outlen) {
            set_err(err, errlen, "program path too long");
            return -ENAMETOOLONG;
        }
        strcpy(out, argv0);
        rc = check_program(out, err, errlen);
        return rc < 0 ? rc : check_format(out, err, errlen);
    }
    while (dir) {
        const char *end = strchr(dir, ':');
        size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
        int n = dlen ? snprintf(out, outlen, "%.*s/%s", (int)dlen, dir, argv0) : snprintf(out, outlen, "%s", argv0);
        if (n > 0 && (size_t)n < outlen) {
            struct stat st;
            if (stat(out, &st) == 0) {
                char e2[256];
                rc = check_program(out, e2, sizeof e2);
                if (rc == 0)
                    return check_format(out, err, errlen);
                if (!first_err) {      /* remember why the first match failed; keep searching */
                    first_err = rc;
                    snprintf(why, sizeof why, "%s", e2);
                }
            }
        }
        dir = end ? end + 1 : NULL;
    }
    if (first_err) {
        set_err(err, errlen, "%s", why);
        return first_err;
    }
    set_err(err, errlen, "%s: not found in PATH (%s)", argv0, search_path);
    return -ENOENT;
}

int hook_find_program(const char *argv0, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    return find_program(argv0, path && *path ? path : HOOK_DEFAULT_PATH, out, outlen, err, errlen);
}

/* ---- one child ------------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int pidfd;          /* -1: exit found by polling waitid(WNOWAIT) */
    int in_fd;          /* parent's end of the child's stdin, -1 once closed */
    int out_fd;         /* parent's end of the child's stdout+stderr */
    const char *in_data;
    size_t in_len, in_off;
    char *out;
    size_t out_len, out_cap, dropped;
} child;

/* A pipe end numbered above 2, so dup2() onto 0/1/2 in the child never clobbers another. */
static int fd_above_stdio(int fd)
{
    int nfd;
    if (fd > 2)
        return fd;
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return nfd;
}

static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    fds[0] = fd_above_stdio(fds[0]);
    fds[1] = fd_above_stdio(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int e = errno;
        close_fd(&fds[0]);
        close_fd(&fds[1]);
        return -e;
    }
    return 0;
}

/* A pidfd (Linux 5.3+) tells the exit without polling; -1 → waitid(WNOWAIT) polling. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    static _Atomic int unsupported;     /* ENOSYS once (old kernel, valgrind): never ask again */
    int fd;
    if (unsupported)
        return -1;
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    else if (errno == ENOSYS)
        unsupported = 1;
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

static int spawn_child(char *const argv[], char *const envp[], const char *program, child *c, char *err,
                       size_t errlen)
{
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, rc;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    int attr_ok = 0, fa_ok = 0;
    sigset_t none, all;

    if ((rc = make_pipe(in_pipe)) < 0 || (rc = make_pipe(out_pipe)) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(-rc));
        goto out;
    }
    sigemptyset(&none);
    sigfillset(&all);
    if ((rc = -posix_spawnattr_init(&attr)) < 0)
        goto spawn_err;
    attr_ok = 1;
    /* Own process group (the timeout signals the whole group), empty signal mask and
     * default dispositions: the daemon blocks INT/TERM/HUP and ignores PIPE, and both
     * would otherwise survive exec. */
    if ((rc = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF)) < 0 ||
        (rc = -posix_spawnattr_setpgroup(&attr, 0)) < 0 || (rc = -posix_spawnattr_setsigmask(&attr, &none)) < 0 ||
        (rc = -posix_spawnattr_setsigdefault(&attr, &all)) < 0)
        goto spawn_err;
    if ((rc = -posix_spawn_file_actions_init(&fa)) < 0)
        goto spawn_err;
    fa_ok = 1;
    /* Every descriptor above 2 is closed: the daemon's sockets never reach a hook. */
    if ((rc = -posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0)) < 0 ||
        (rc = -posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1)) < 0 ||
        (rc = -posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 2)) < 0 ||
        (rc = -posix_spawn_file_actions_addclosefrom_np(&fa, 3)) < 0)
        goto spawn_err;
    rc = -posix_spawn(&c->pid, program, &fa, &attr, argv, envp);
    if (rc < 0) {
        if (rc == -ENOEXEC)
            set_err(err, errlen, "%s: not a program (a script needs a #! line)", program);
        else if (rc == -ENOENT)
            set_err(err, errlen, "%s: cannot execute: its #! interpreter was not found", program);
        else
            set_err(err, errlen, "%s: cannot execute: %s", program, strerror(-rc));
        goto out;
    }
    c->pidfd = open_pidfd(c->pid);
    c->in_fd = in_pipe[1];
    in_pipe[1] = -1;
    c->out_fd = out_pipe[0];
    out_pipe[0] = -1;
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    rc = 0;
    goto out;
spawn_err:
    set_err(err, errlen, "posix_spawn setup: %s", strerror(-rc));
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    close_fd(&in_pipe[0]);
    close_fd(&in_pipe[1]);
    close_fd(&out_pipe[0]);
    close_fd(&out_pipe[1]);
    return rc;
}

/* write() with SIGPIPE blocked in this thread: a child that closed its stdin gives
 * EPIPE here instead of killing the daemon (whatever the daemon's SIGPIPE disposition). */
static ssize_t write_no_sigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    ssize_t n;
    int e, was_pending;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    n = write(fd, buf, len);
    e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

static void feed_stdin(child *c)
{
    while (c->in_fd >= 0) {
        size_t left = c->in_len - c->in_off;
        ssize_t n;
        if (left == 0) {
            close_fd(&c->in_fd);
            return;
        }
        n = write_no_sigpipe(c->in_fd, c->in_data + c->in_off, left < WRITE_CHUNK ? left : WRITE_CHUNK);
        if (n > 0) {
            c->in_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            close_fd(&c->in_fd);     /* EPIPE: the child closed its stdin, it wants no more */
            return;
        }
    }
}

/* Read what is available (at most READ_ROUNDS chunks, so a hook flooding its output
 * cannot keep the caller from its timeout); returns 1 at EOF. */
static int drain_output(child *c)
{
    char buf[READ_CHUNK];
    for (int round = 0; round < READ_ROUNDS; round++) {
        ssize_t n = read(c->out_fd, buf, sizeof buf);
        if (n == 0)
            return 1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : 1;
        }
        size_t keep = (size_t)n, room = HOOK_OUTPUT_MAX - c->out_len;
        if (keep > room)
            keep = room;
        if (keep) {
            if (c->out_len + keep > c->out_cap) {
                char *nb = grow_bytes(c->out, &c->out_cap, c->out_len + keep, HOOK_OUTPUT_MAX);
                if (!nb) {
                    c->dropped += (size_t)n;
                    continue;
                }
                c->out = nb;
            }
            memcpy(c->out + c->out_len, buf, keep);
            c->out_len += keep;
        }
        c->dropped += (size_t)n - keep;
    }
    return 0;
}

static int child_exited(child *c)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD;   /* reaped elsewhere: gone all the same */
    return si.si_pid != 0;
}

static int poll_ms(int64_t until, int64_t now)
{
    int64_t d = until - now;
    if (d < 0)
        return 0;
    return d > INT_MAX ? INT_MAX : (int)d;
}

typedef struct {
    int timed_out, cancelled;
    int64_t duration_ms;
    int grace_ms;
} run_outcome;

/*
 * Feed stdin, collect output, watch the timeout and cancel_fd (readable = stop),
 * until the main process exits. Then drain output briefly, kill what is left in
 * the process group, and reap. Fills *status with the waitpid status (-1 if lost).
 */
static void supervise(child *c, int timeout_ms, int cancel_fd, int *status, run_outcome *o)
{
    int64_t start = clk_mono_ms(), deadline = start + timeout_ms, kill_at = 0, end = 0;
    int term_sent = 0, kill_sent = 0, exited = 0, out_eof = 0;

    o->grace_ms = timeout_ms < HOOK_KILL_GRACE_MS ? timeout_ms : HOOK_KILL_GRACE_MS;
    feed_stdin(c);
    for (;;) {
        struct pollfd pf[4];
        int n = 0, i_out = -1, i_in = -1, i_pid = -1, i_cancel = -1, wait_ms;
        int64_t t = clk_mono_ms();

        if (!exited) {
            if (!term_sent && t >= deadline)
                o->timed_out = 1;
            if (!term_sent && (o->timed_out || o->cancelled)) {
                kill(-c->pid, SIGTERM);
                term_sent = 1;
                kill_at = t + o->grace_ms;
            } else if (term_sent && !kill_sent && t >= kill_at) {
                kill(-c->pid, SIGKILL);
                kill_sent = 1;
            }
            if (!term_sent)
                wait_ms = poll_ms(deadline, t);
            else if (!kill_sent)
                wait_ms = poll_ms(kill_at, t);
            else
                wait_ms = REAP_TICK_MS;
            if (c->pidfd < 0 && wait_ms > POLL_TICK_MS)
                wait_ms = POLL_TICK_MS;
        } else {
            if (out_eof || t >= end + HOOK_DRAIN_MS)
                break;
            wait_ms = poll_ms(end + HOOK_DRAIN_MS, t);
        }

        if (!out_eof) {
            pf[n] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
            i_out = n++;
        }
        if (!exited && c->in_fd >= 0) {
            pf[n] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
            i_in = n++;
        }
        if (!exited && c->pidfd >= 0) {
            pf[n] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
            i_pid = n++;
        }
        if (!exited && !term_sent && cancel_fd >= 0) {
            pf[n] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
            i_cancel = n++;
        }
        if (poll(pf, (nfds_t)n, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            /* Cannot happen with valid fds; avoid spinning. */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (i_out >= 0 && pf[i_out].revents)
            out_eof = drain_output(c);
        if (i_in >= 0 && pf[i_in].revents)
            feed_stdin(c);
        if (i_cancel >= 0 && (pf[i_cancel].revents & POLLIN))
            o->cancelled = 1;
        if (!exited && ((i_pid >= 0 && pf[i_pid].revents) || (c->pidfd < 0 && child_exited(c)))) {
            exited = 1;
            end = clk_mono_ms();
            close_fd(&c->in_fd);
        }
    }
    o->duration_ms = end - start;
    /* The main process is a zombie (not reaped yet, so its pid and group id cannot be
     * reused): kill whatever it left in its group, collect the last output, reap. */
    kill(-c->pid, SIGKILL);
    if (!out_eof) {
        int64_t until = clk_mono_ms() + AFTER_KILL_READ_MS;
        while (!out_eof) {
            struct pollfd pf = {.fd = c->out_fd, .events = POLLIN};
            int64_t t = clk_mono_ms();
            if (t >= until)
                break;
            if (poll(&pf, 1, poll_ms(until, t)) > 0)
                out_eof = drain_output(c);
        }
    }
    *status = -1;
    for (;;) {
        int st;
        pid_t r = waitpid(c->pid, &st, 0);
        if (r == c->pid) {
            *status = st;
            break;
        }
        if (r < 0 && errno == EINTR)
            continue;
        break;      /* ECHILD: reaped by someone else (SIGCHLD set to SIG_IGN?) */
    }
}

static void signal_name(int sig, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
}

static void finish_result(hook_result *out, child *c, int status, const run_outcome *o, int timeout_ms)
{
    char how[96] = "", sig[32];

    out->duration_ms = o->duration_ms;
    out->timed_out = o->timed_out != 0;
    out->cancelled = o->cancelled != 0 && !o->timed_out;
    if (status == -1) {
        out->exit_code = -1;
        snprintf(how, sizeof how, "its exit status was lost (reaped elsewhere: is SIGCHLD ignored?)");
    } else if (WIFEXITED(status)) {
        out->exit_code = WEXITSTATUS(status);
        snprintf(how, sizeof how, "exited with status %d", out->exit_code);
    } else if (WIFSIGNALED(status)) {
        out->exit_code = -1;
        out->term_signal = WTERMSIG(status);
        signal_name(out->term_signal, sig, sizeof sig);
        snprintf(how, sizeof how, "killed by %s", sig);
    }
    if (out->timed_out)
        snprintf(out->error, sizeof out->error, "timed out after %d ms (SIGTERM, SIGKILL %d ms later): %s",
                 timeout_ms, o->grace_ms, how);
    else if (out->cancelled)
        snprintf(out->error, sizeof out->error, "cancelled (runner freed): %s", how);
    else if (status == -1 || out->exit_code != 0)
        snprintf(out->error, sizeof out->error, "%s", how);

    /* Output: what was kept, the truncation marker, a NUL. */
    {
        char marker[64] = "";
        size_t mlen = 0;
        char *buf;
        if (c->dropped)
            mlen = (size_t)snprintf(marker, sizeof marker, "\n[truncated: %zu bytes dropped]", c->dropped);
        buf = realloc(c->out, c->out_len + mlen + 1);
        if (buf) {
            memcpy(buf + c->out_len, marker, mlen);
            c->out_len += mlen;
            buf[c->out_len] = '\0';
            out->output = buf;
            out->output_len = c->out_len;
        } else {
            free(c->out);
            out->output = NULL;
        }
        c->out = NULL;
    }
}

static void result_init(hook_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
}

static void result_start_failed(hook_result *r, const char *why)
{
    r->start_failed = true;
    r->exit_code = -1;
    snprintf(r->error, sizeof r->error, "%s", why);
}

/* hook_run_sync with a cancel descriptor (readable = stop the hook): shared with the async runner. */
static int run_hook(const char *command, const hook_env *env, size_t n_env, const char *stdin_data,
                    int timeout_ms, int cancel_fd, hook_result *out)
{
    char **argv = NULL, **envp = NULL, why[256] = "", program[PATH_MAX];
    const char *path;
    child c = {.pid = -1, .pidfd = -1, .in_fd = -1, .out_fd = -1};
    run_outcome o = {0};
    int rc, status;

    if (!out)
        return -EINVAL;
    result_init(out);
    if (timeout_ms <= 0) {
        snprintf(why, sizeof why, "timeout_ms must be > 0 (got %d): every hook is bounded", timeout_ms);
        rc = -EINVAL;
        goto out;
    }
    if ((rc = hook_split_command(command, &argv, NULL, why, sizeof why)) < 0)
        goto out;
    path = getenv("PATH");
    if (!path || !*path)
        path = HOOK_DEFAULT_PATH;
    for (size_t i = 0; i < n_env && env; i++)
        if (env[i].name && env[i].value && strcmp(env[i].name, "PATH") == 0)
            path = env[i].value;
    if ((rc = build_envp(env, n_env, path, &envp, why, sizeof why)) < 0)
        goto out;
    if ((rc = find_program(argv[0], path, program, sizeof program, why, sizeof why)) < 0)
        goto out;
    c.in_data = stdin_data ? stdin_data : "";
    c.in_len = strlen(c.in_data);
    if ((rc = spawn_child(argv, envp, program, &c, why, sizeof why)) < 0)
        goto out;
    supervise(&c, timeout_ms, cancel_fd, &status, &o);
    finish_result(out, &c, status, &o, timeout_ms);
    rc = 0;
out:
    if (rc < 0) {
        result_start_failed(out, why);
        out->output = calloc(1, 1);
    }
    close_fd(&c.in_fd);
    close_fd(&c.out_fd);
    close_fd(&c.pidfd);
    free(c.out);
    hook_free_argv(argv);
    free(envp);
    return rc;
}

int hook_run_sync(const char *command, const hook_env *env, size_t n_env, const char *stdin_data,
                  int timeout_ms, hook_result *out)
{
    return run_hook(command, env, n_env, stdin_data, timeout_ms, -1, out);
}

void hook_result_free(hook_result *r)
{
    if (!r)
        return;
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}

bool hook_result_ok(const hook_result *r)
{
    return r && !r->start_failed && !r->timed_out && !r->cancelled && r->term_signal == 0 && r->exit_code == 0;
}

/* ---- the asynchronous runner ---------------------------------------------------- */

typedef struct job {
    struct job *next;
    hook_runner *runner;
    pthread_t thread;
    uint64_t tag;
    char *command;
    char *stdin_data;
    hook_env *env;      /* names and values point into env_strings */
    char *env_strings;
    size_t n_env;
    int timeout_ms;
    bool finished;
    hook_result result;
} job;

struct hook_runner {
    pthread_mutex_t mu;
    int done_fd;        /* eventfd (semaphore): one count per finished, unpolled job */
    int cancel_fd;      /* eventfd written once by hook_runner_free(): every job stops */
    job *jobs;          /* started and not yet polled, oldest first */
    size_t running;
};

int hook_runner_new(hook_runner **out, char *err, size_t errlen)
{
    hook_runner *r;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
    r->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->done_fd < 0 || r->cancel_fd < 0) {
        rc = -errno;
        set_err(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if ((rc = -pthread_mutex_init(&r->mu, NULL)) < 0) {
        set_err(err, errlen, "pthread_mutex_init: %s", strerror(-rc));
        goto fail;
    }
    *out = r;
    return 0;
fail:
    close_fd(&r->done_fd);
    close_fd(&r->cancel_fd);
    free(r);
    return rc;
}

int hook_runner_fd(const hook_runner *r)
{
    return r ? r->done_fd : -1;
}

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->command);
    free(j->stdin_data);
    free(j->env);
    free(j->env_strings);
    hook_result_free(&j->result);
    free(j);
}

static void *job_main(void *arg)
{
    job *j = arg;
    hook_runner *r = j->runner;
    uint64_t one = 1;

    run_hook(j->command, j->env, j->n_env, j->stdin_data, j->timeout_ms, r->cancel_fd, &j->result);
    pthread_mutex_lock(&r->mu);
    j->finished = true;
    r->running--;
    if (write(r->done_fd, &one, sizeof one) < 0) {
        /* Cannot fail: the counter stays far below its maximum. */
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Deep copy of env into j (one block of strings). */
static int copy_env(job *j, const hook_env *env, size_t n_env)
{
    size_t bytes = 0;
    char *s;
    if (n_env == 0)
        return 0;
    for (size_t i = 0; i < n_env; i++)
        bytes += strlen(env[i].name) + 1 + strlen(env[i].value) + 1;
    j->env = calloc(n_env, sizeof *j->env);
    j->env_strings = malloc(bytes);
    if (!j->env || !j->env_strings)
        return -ENOMEM;
    s = j->env_strings;
    for (size_t i = 0; i < n_env; i++) {
        size_t ln = strlen(env[i].name) + 1, lv = strlen(env[i].value) + 1;
        j->env[i].name = memcpy(s, env[i].name, ln);
        s += ln;
        j->env[i].value = memcpy(s, env[i].value, lv);
        s += lv;
    }
    j->n_env = n_env;
    return 0;
}

int hook_runner_start(hook_runner *r, const char *command, const hook_env *env, size_t n_env,
                      const char *stdin_data, int timeout_ms, uint64_t tag, char *err, size_t errlen)
{
    char **argv = NULL;
    job *j = NULL;
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;

    if (!r) {
        set_err(err, errlen, "no runner");
        return -EINVAL;
    }
    if (timeout_ms <= 0) {
        set_err(err, errlen, "timeout_ms must be > 0 (got %d): every hook is bounded", timeout_ms);
        return -EINVAL;
    }
    if ((rc = hook_split_command(command, &argv, NULL, err, errlen)) < 0)
        return rc;
    hook_free_argv(argv);
    for (size_t i = 0; i < n_env; i++)
        if (!env || !valid_env_name(env[i].name) || !env[i].value) {
            set_err(err, errlen, "bad environment variable #%zu: names are [A-Za-z_][A-Za-z0-9_]*, values non-NULL", i);
            return -EINVAL;
        }
    j = calloc(1, sizeof *j);
    if (!j || !(j->command = strdup(command)) || (stdin_data && !(j->stdin_data = strdup(stdin_data))) ||
        copy_env(j, env, n_env) < 0) {
        set_err(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto fail;
    }
    j->runner = r;
    j->tag = tag;
    j->timeout_ms = timeout_ms;

    /* The worker blocks every signal: process-directed signals stay with the loop thread. */
    if ((rc = -pthread_attr_init(&attr)) < 0) {
        set_err(err, errlen, "pthread_attr_init: %s", strerror(-rc));
        goto fail;
    }
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_mutex_lock(&r->mu);
    rc = -pthread_create(&j->thread, &attr, job_main, j);
    if (rc == 0) {
        job **tail = &r->jobs;
        while (*tail)
            tail = &(*tail)->next;
        *tail = j;
        r->running++;
    }
    pthread_mutex_unlock(&r->mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc < 0) {
        set_err(err, errlen, "cannot start a hook thread: %s", strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    job_free(j);
    return rc;
}

int hook_runner_poll(hook_runner *r, uint64_t *tag, hook_result *out)
{
    job **pp, *j = NULL;
    uint64_t v;

    if (!r || !out)
        return 0;
    pthread_mutex_lock(&r->mu);
    for (pp = &r->jobs; *pp; pp = &(*pp)->next)
        if ((*pp)->finished) {
            j = *pp;
            *pp = j->next;
            if (read(r->done_fd, &v, sizeof v) < 0) {
                /* Cannot fail: the worker counted this job before marking it finished. */
            }
            break;
        }
    pthread_mutex_unlock(&r->mu);
    if (!j)
        return 0;
    pthread_join(j->thread, NULL);    /* finished: returns at once */
    if (tag)
        *tag = j->tag;
    *out = j->result;
    j->result.output = NULL;
    job_free(j);
    return 1;
}

size_t hook_runner_running(const hook_runner *r)
{
    size_t n;
    if (!r)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&r->mu);
    n = r->running;
    pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
    return n;
}

void hook_runner_free(hook_runner *r)
{
    uint64_t one = 1;
    job *j, *next;

    if (!r)
        return;
    if (write(r->cancel_fd, &one, sizeof one) < 0) {
        /* Cannot fail on a fresh eventfd. */
    }
    pthread_mutex_lock(&r->mu);
    j = r->jobs;
    r->jobs = NULL;
    pthread_mutex_unlock(&r->mu);
    for (; j; j = next) {
        next = j->next;
        pthread_join(j->thread, NULL);
        job_free(j);
    }
    close_fd(&r->done_fd);
    close_fd(&r->cancel_fd);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- event payload ---------------------------------------------------------------- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static json_t *string_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

int hook_payload_build(const hook_event *ev, hook_payload *out, char *err, size_t errlen)
{
    json_t *o = NULL, *reps = NULL;
    char id[24] = "", ts[24];
    size_t bytes, rep_bytes = 0;
    char *s;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!ev || !ev->event || !*ev->event) {
        set_err(err, errlen, "an event needs a name");
        return -EINVAL;
    }
    if (ev->n_replicas && !ev->replicas) {
        set_err(err, errlen, "no replica array");
        return -EINVAL;
    }
    if (ev->recovery_id)
        snprintf(id, sizeof id, "%" PRIu64, ev->recovery_id);
    snprintf(ts, sizeof ts, "%" PRId64, ev->ts_ms);

    o = json_object();
    reps = json_array();
    if (!o || !reps)
        goto nomem;
    for (size_t i = 0; i < ev->n_replicas; i++) {
        const hook_replica *h = &ev->replicas[i];
        json_t *one = json_object();
        if (!h->addr || !*h->addr) {
            json_decref(one);
            set_err(err, errlen, "replica %zu has no address", i);
            rc = -EINVAL;
            goto out;
        }
        if (!one || json_object_set_new(one, "addr", json_string(h->addr)) < 0 ||
            json_object_set_new(one, "lag_s", h->lag_s >= 0 ? json_real(h->lag_s) : json_null()) < 0 ||
            json_object_set_new(one, "reachable", json_boolean(h->reachable)) < 0 ||
            json_array_append_new(reps, one) < 0) {
            json_decref(one);
            goto nomem;
        }
        rep_bytes += strlen(h->addr) + 1;
    }
    if (json_object_set_new(o, "event", json_string(ev->event)) < 0 ||
        json_object_set_new(o, "cluster", string_or_null(ev->cluster)) < 0 ||
        json_object_set_new(o, "old_primary", string_or_null(ev->old_primary)) < 0 ||
        json_object_set_new(o, "new_primary", string_or_null(ev->new_primary)) < 0 ||
        json_object_set(o, "replicas", reps) < 0 ||
        json_object_set_new(o, "lost_gtids", json_string(or_empty(ev->lost_gtids))) < 0 ||
        json_object_set_new(o, "recovery_id", ev->recovery_id ? json_integer((json_int_t)ev->recovery_id)
                                                              : json_null()) < 0 ||
        json_object_set_new(o, "ts_ms", json_integer((json_int_t)ev->ts_ms)) < 0) {
        /* json_string() returns NULL on invalid UTF-8, and set_new fails on NULL. */
        set_err(err, errlen, "cannot encode the event as JSON (invalid UTF-8 in a value?)");
        rc = -EINVAL;
        goto out;
    }
    out->json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!out->json)
        goto nomem;

    bytes = strlen(ev->event) + strlen(or_empty(ev->cluster)) + strlen(or_empty(ev->old_primary)) +
            strlen(or_empty(ev->new_primary)) + rep_bytes + 1 + strlen(or_empty(ev->lost_gtids)) + strlen(id) +
            strlen(ts) + 8;
    out->storage = malloc(bytes);
    if (!out->storage)
        goto nomem;
    s = out->storage;
#define ADD_ENV(NAME, VALUE)                                                                          \
    do {                                                                                              \
        out->env[out->n_env].name = NAME;                                                             \
        out->env[out->n_env++].value = s;                                                             \
        s += sprintf(s, "%s", VALUE) + 1;                                                             \
    } while (0)
    ADD_ENV("MYORCH_EVENT", ev->event);
    ADD_ENV("MYORCH_CLUSTER", or_empty(ev->cluster));
    ADD_ENV("MYORCH_OLD_PRIMARY", or_empty(ev->old_primary));
    ADD_ENV("MYORCH_NEW_PRIMARY", or_empty(ev->new_primary));
    out->env[out->n_env].name = "MYORCH_REPLICAS";
    out->env[out->n_env++].value = s;
    *s = '\0';
    for (size_t i = 0; i < ev->n_replicas; i++)
        s += sprintf(s, "%s%s", i ? "," : "", ev->replicas[i].addr);
    s++;
    ADD_ENV("MYORCH_LOST_GTIDS", or_empty(ev->lost_gtids));
    ADD_ENV("MYORCH_RECOVERY_ID", id);
    ADD_ENV("MYORCH_TS_MS", ts);
#undef ADD_ENV
    goto out;
nomem:
    set_err(err, errlen, "out of memory");
    rc = -ENOMEM;
out:
    json_decref(reps);
    json_decref(o);
    if (rc < 0)
        hook_payload_free(out);
    return rc;
}

void hook_payload_free(hook_payload *p)
{
    if (!p)
        return;
    free(p->json);
    free(p->storage);
    memset(p, 0, sizeof *p);
}
