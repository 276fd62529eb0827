/*
 * tests/unit/test_hook_runner.c — hooks/runner.{h,c} against real child processes.
 *
 * Runs from tests/ (ctest's WORKING_DIRECTORY): fixtures are in fixtures/hooks/.
 * Timing assertions are lower bounds that the design guarantees (a timeout never
 * fires early, the grace period is waited) and generous upper bounds only (< 10 s),
 * so they hold under valgrind and sanitizers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks/runner.h"

#include "check.h"

#define UPPER_MS 10000      /* generous upper bound for anything that should take well under a second */


static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* State letter of pid from /proc (R, S, Z, ...), 0 when there is no such process. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    FILE *f;
    size_t n;
    char *rp;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

/* Waits up to 3 s for pid to be dead (absent or zombie); returns its last state (0 = absent). */
static char wait_dead(pid_t pid)
{
    int64_t until = now_ms() + 3000;
    char st;
    while ((st = proc_state(pid)) != 0 && st != 'Z' && now_ms() < until)
        sleep_ms(10);
    return st;
}

static void run(const char *cmd, const hook_env *env, size_t n_env, const char *in, int timeout_ms, hook_result *r)
{
    int rc = hook_run_sync(cmd, env, n_env, in, timeout_ms, r);
    CHECK(rc == 0, "hook_run_sync(%s) = %d: %s", cmd, rc, r->error);
    assert_non_null(r->output);
}

/* ---- hook_split_command ------------------------------------------------------------ */

typedef struct {
    const char *in;
    const char *argv[6];   /* expected, NULL-terminated; argv[0] NULL = error expected */
    const char *err;       /* substring of the error */
} split_case;

static const split_case SPLIT_CASES[] = {
    {"hook", {"hook"}, NULL},
    {"  /usr/bin/hook   a\tb\nc  ", {"/usr/bin/hook", "a", "b", "c"}, NULL},
    {"h 'a b' \"c d\"", {"h", "a b", "c d"}, NULL},
    {"h 'it''s' a'b'\"c\"d", {"h", "its", "abcd"}, NULL},
    {"h '' \"\" x", {"h", "", "", "x"}, NULL},
    {"h 'a \"b\" \\n $X'", {"h", "a \"b\" \\n $X"}, NULL},
    {"h \"a \\\"b\\\" \\\\ \\$X \\n 'q'\"", {"h", "a \"b\" \\ $X \\n 'q'"}, NULL},
    {"h a\\ b \\'c\\' \\\\", {"h", "a b", "'c'", "\\"}, NULL},
    {"h a\\\nb \\\n c", {"h", "ab", "c"}, NULL},
    {"sh -c 'echo $HOME | tr a b > /dev/null; exit 3'", {"sh", "-c", "echo $HOME | tr a b > /dev/null; exit 3"}, NULL},
    {"h --header 'X-A: b' --url=http://127.0.0.1:1/x?a=1", {"h", "--header", "X-A: b", "--url=http://127.0.0.1:1/x?a=1"}, NULL},
    {"h *.txt ~ a=b", {"h", "*.txt", "~", "a=b"}, NULL},
    {"h \"$\" '|' \\;", {"h", "$", "|", ";"}, NULL},
    {"", {NULL}, "empty command"},
    {"   \t\n ", {NULL}, "empty command"},
    {"\\\n", {NULL}, "empty command"},
    {"h 'abc", {NULL}, "unterminated ' starting at offset 2"},
    {"h \"abc", {NULL}, "unterminated \" starting at offset 2"},
    {"h \"a\\\"", {NULL}, "unterminated \""},
    {"h abc\\", {NULL}, "trailing backslash at offset 5"},
    {"h | grep x", {NULL}, "unquoted '|' at offset 2: hooks run without a shell"},
    {"h > /tmp/log", {NULL}, "unquoted '>'"},
    {"h < in", {NULL}, "unquoted '<'"},
    {"h; rm x", {NULL}, "unquoted ';'"},
    {"h &", {NULL}, "unquoted '&'"},
    {"h $HOME", {NULL}, "unquoted '$'"},
    {"h `id`", {NULL}, "unquoted '`'"},
    {"h (x)", {NULL}, "unquoted '('"},
    {"h a\"b\"$", {NULL}, "write sh -c '...'"},
};

static void test_split_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(SPLIT_CASES); i++) {
        const split_case *c = &SPLIT_CASES[i];
        char **argv = (char **)0x1, err[256] = "";
        size_t argc = 99, want = 0;
        int rc = hook_split_command(c->in, &argv, &argc, err, sizeof err);
        while (want < NELEM(c->argv) && c->argv[want])
            want++;
        if (!c->argv[0]) {
            CHECK(rc == -EINVAL, "case %zu [%s]: rc %d, want -EINVAL", i, c->in, rc);
            CHECK(argv == NULL && argc == 0, "case %zu: outputs not cleared on error", i);
            CHECK(strstr(err, c->err), "case %zu [%s]: error [%s] lacks [%s]", i, c->in, err, c->err);
            continue;
        }
        CHECK(rc == 0, "case %zu [%s]: rc %d (%s)", i, c->in, rc, err);
        CHECK(argc == want, "case %zu [%s]: argc %zu, want %zu", i, c->in, argc, want);
        for (size_t k = 0; k < want; k++)
            CHECK(strcmp(argv[k], c->argv[k]) == 0, "case %zu [%s]: argv[%zu] = [%s], want [%s]", i, c->in, k,
                  argv[k], c->argv[k]);
        CHECK(argv[want] == NULL, "case %zu: argv not NULL-terminated", i);
        hook_free_argv(argv);
    }
}

static void test_split_limits(void **state)
{
    char *big = malloc(HOOK_COMMAND_MAX + 2), **argv = NULL, err[128] = "";
    size_t argc;
    (void)state;
    memset(big, 'a', HOOK_COMMAND_MAX + 1);
    big[HOOK_COMMAND_MAX + 1] = '\0';
    assert_int_equal(hook_split_command(big, &argv, &argc, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "at most"));
    big[HOOK_COMMAND_MAX] = '\0';
    assert_int_equal(hook_split_command(big, &argv, &argc, err, sizeof err), 0);
    assert_int_equal(argc, 1);
    assert_int_equal(strlen(argv[0]), HOOK_COMMAND_MAX);
    hook_free_argv(argv);
    assert_int_equal(hook_split_command(NULL, &argv, &argc, err, sizeof err), -EINVAL);
    hook_free_argv(NULL);
    free(big);
}

/* ---- exit codes, signals ----------------------------------------------------------- */

typedef struct {
    const char *cmd;
    int exit_code, term_signal;
    const char *error;     /* exact hook_result.error */
} outcome_case;

static const outcome_case OUTCOME_CASES[] = {
    {"true", 0, 0, ""},
    {"false", 1, 0, "exited with status 1"},
    {"sh -c 'exit 3'", 3, 0, "exited with status 3"},
    {"sh -c 'exit 255'", 255, 0, "exited with status 255"},
    {"sh -c 'kill -TERM $$'", -1, SIGTERM, "killed by SIGTERM"},
    {"sh -c 'kill -KILL $$'", -1, SIGKILL, "killed by SIGKILL"},
    {"sh -c 'kill -INT $$'", -1, SIGINT, "killed by SIGINT"},
    {"sh -c 'kill -HUP $$'", -1, SIGHUP, "killed by SIGHUP"},
    {"sh -c 'kill -USR1 $$'", -1, SIGUSR1, "killed by SIGUSR1"},
    {"sh -c 'kill -PIPE $$'", -1, SIGPIPE, "killed by SIGPIPE"},
};

static void test_exit_codes_and_signals(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(OUTCOME_CASES); i++) {
        const outcome_case *c = &OUTCOME_CASES[i];
        hook_result r;
        run(c->cmd, NULL, 0, NULL, 5000, &r);
        CHECK(r.exit_code == c->exit_code && r.term_signal == c->term_signal,
              "[%s]: exit %d signal %d, want %d %d", c->cmd, r.exit_code, r.term_signal, c->exit_code,
              c->term_signal);
        CHECK(strcmp(r.error, c->error) == 0, "[%s]: error [%s], want [%s]", c->cmd, r.error, c->error);
        CHECK(!r.timed_out && !r.start_failed && !r.cancelled, "[%s]: flags", c->cmd);
        CHECK(hook_result_ok(&r) == (c->exit_code == 0), "[%s]: ok", c->cmd);
        CHECK(r.duration_ms >= 0 && r.duration_ms < UPPER_MS, "[%s]: duration %lld", c->cmd,
              (long long)r.duration_ms);
        hook_result_free(&r);
    }
}

/* The daemon blocks INT/TERM/HUP and ignores PIPE: the hook must see neither. */
static void test_child_signal_state_is_clean(void **state)
{
    sigset_t block, old;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_term, old_pipe;
    hook_result r;
    (void)state;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sigaction(SIGTERM, &ign, &old_term);
    sigaction(SIGPIPE, &ign, &old_pipe);

    run("grep -E '^Sig(Blk|Ign):' /proc/self/status", NULL, 0, NULL, 5000, &r);
    {
        unsigned long long blk = 1, ign = 1;
        CHECK(sscanf(r.output, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk, &ign) == 2, "status:\n%s", r.output);
        /* glibc's posix_spawn leaves its two internal signals (32, 33: thread cancel and setxid)
         * ignored; every glibc program installs its own handlers for them. Nothing else. */
        CHECK(blk == 0 && (ign & ~0x180000000ULL) == 0, "child signal state:\n%s", r.output);
    }
    hook_result_free(&r);
    run("sh -c 'kill -TERM $$; sleep 5'", NULL, 0, NULL, 5000, &r);
    assert_int_equal(r.term_signal, SIGTERM);
    assert_false(r.timed_out);
    hook_result_free(&r);
    /* A process group of its own. */
    run("sh -c 'test $(ps -o pgid= -p $$) -eq $$ && echo own-group'", NULL, 0, NULL, 5000, &r);
    CHECK(strcmp(r.output, "own-group\n") == 0, "pgid check: %s", r.output);
    hook_result_free(&r);

    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- timeouts ------------------------------------------------------------------------ */

static void test_timeout_sleep(void **state)
{
    hook_result r;
    (void)state;
    run("sleep 30", NULL, 0, NULL, 300, &r);
    assert_true(r.timed_out);
    assert_int_equal(r.term_signal, SIGTERM);
    assert_int_equal(r.exit_code, -1);
    assert_false(hook_result_ok(&r));
    CHECK(r.duration_ms >= 300 && r.duration_ms < UPPER_MS, "duration %lld", (long long)r.duration_ms);
    CHECK(strcmp(r.error, "timed out after 300 ms (SIGTERM, SIGKILL 300 ms later): killed by SIGTERM") == 0,
          "error: %s", r.error);
    hook_result_free(&r);
}

/* trap '' TERM is inherited by sleep too: only SIGKILL, grace = min(1000, timeout) later, ends it. */
static void test_timeout_ignoring_term_gets_kill(void **state)
{
    hook_result r;
    (void)state;
    run("sh -c 'trap \"\" TERM; sleep 30'", NULL, 0, NULL, 300, &r);
    assert_true(r.timed_out);
    assert_int_equal(r.term_signal, SIGKILL);
    CHECK(r.duration_ms >= 600 && r.duration_ms < UPPER_MS, "duration %lld, want >= 300 + 300 grace",
          (long long)r.duration_ms);
    hook_result_free(&r);

    run("sh -c 'trap \"\" TERM; sleep 30'", NULL, 0, NULL, 1500, &r);   /* grace capped at 1000 */
    assert_int_equal(r.term_signal, SIGKILL);
    CHECK(r.duration_ms >= 2500 && r.duration_ms < UPPER_MS, "duration %lld, want >= 1500 + 1000 grace",
          (long long)r.duration_ms);
    assert_non_null(strstr(r.error, "SIGKILL 1000 ms later"));
    hook_result_free(&r);
}

static pid_t first_pid_in(const char *s)
{
    long v = strtol(s, NULL, 10);
    return v > 1 ? (pid_t)v : 0;
}

/* A hook flooding its output still times out (output reading does not starve the timer). */
static void test_timeout_while_flooding_output(void **state)
{
    hook_result r;
    (void)state;
    run("yes flood", NULL, 0, NULL, 300, &r);
    assert_true(r.timed_out);
    assert_int_equal(r.term_signal, SIGTERM);
    CHECK(r.duration_ms >= 300 && r.duration_ms < UPPER_MS, "duration %lld", (long long)r.duration_ms);
    assert_int_equal(strncmp(r.output, "flood\nflood\n", 12), 0);
    assert_non_null(strstr(r.output + HOOK_OUTPUT_MAX, "\n[truncated: "));
    hook_result_free(&r);
}

/* A hook's background child ignoring TERM dies with the group at the timeout. */
static void test_timeout_kills_the_group(void **state)
{
    hook_result r;
    pid_t bg;
    char st;
    (void)state;
    run("sh -c 'trap \"\" TERM; sleep 30 & echo $!; sleep 30'", NULL, 0, NULL, 300, &r);
    assert_true(r.timed_out);
    bg = first_pid_in(r.output);
    CHECK(bg > 0, "no pid in output [%s]", r.output);
    st = wait_dead(bg);
    CHECK(st == 0 || st == 'Z', "background child %d survived the group kill (state %c)", (int)bg, st);
    hook_result_free(&r);
}

/* The main process exits at once, a background child still holds the output pipe: the hook is
 * done quickly (no waiting for the 30 s child), and the child is killed. */
static void test_leftover_children_killed_after_exit(void **state)
{
    hook_result r;
    pid_t bg;
    char st;
    int64_t t0 = now_ms(), took;
    (void)state;
    run("sh -c 'sleep 30 & echo $!; echo main-done'", NULL, 0, NULL, 20000, &r);
    took = now_ms() - t0;
    assert_true(hook_result_ok(&r));
    CHECK(took < 3000, "took %lld ms: waited for the background child", (long long)took);
    bg = first_pid_in(r.output);
    CHECK(bg > 0 && strstr(r.output, "main-done\n"), "output [%s]", r.output);
    st = wait_dead(bg);
    CHECK(st == 0 || st == 'Z', "background child %d survived (state %c)", (int)bg, st);
    hook_result_free(&r);
}

/* ---- output and stdin ------------------------------------------------------------------ */

static void test_output_merged(void **state)
{
    hook_result r;
    (void)state;
    run("sh -c 'echo out; echo err >&2; printf x'", NULL, 0, NULL, 5000, &r);
    assert_string_equal(r.output, "out\nerr\nx");
    assert_int_equal(r.output_len, 9);
    hook_result_free(&r);
    run("true", NULL, 0, NULL, 5000, &r);
    assert_string_equal(r.output, "");
    hook_result_free(&r);
}

static void test_output_truncated(void **state)
{
    hook_result r;
    const char *marker = "\n[truncated: 134464 bytes dropped]";
    (void)state;
    run("sh -c 'yes abcdefg | head -c 200000'", NULL, 0, NULL, 10000, &r);
    assert_true(hook_result_ok(&r));
    assert_int_equal(r.output_len, HOOK_OUTPUT_MAX + strlen(marker));
    assert_int_equal(strncmp(r.output, "abcdefg\nabcdefg\n", 16), 0);
    assert_string_equal(r.output + HOOK_OUTPUT_MAX, marker);
    hook_result_free(&r);
}

static void test_stdin_delivered(void **state)
{
    hook_result r;
    (void)state;
    run("cat", NULL, 0, "hello\nworld\n", 5000, &r);
    assert_string_equal(r.output, "hello\nworld\n");
    hook_result_free(&r);
    run("cat", NULL, 0, NULL, 5000, &r);     /* no data: EOF at once */
    assert_string_equal(r.output, "");
    assert_true(hook_result_ok(&r));
    hook_result_free(&r);
    run("wc -c", NULL, 0, "12345", 5000, &r);
    CHECK(atoi(r.output) == 5, "wc -c said [%s]", r.output);
    hook_result_free(&r);
}

static char *big_string(size_t n)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    return s;
}

/* 4 MiB to a child that never reads and exits: no deadlock, no timeout. */
static void test_large_stdin_not_read(void **state)
{
    char *big = big_string(4u << 20);
    hook_result r;
    int64_t t0 = now_ms();
    (void)state;
    run("sh -c 'sleep 0.2; echo done; exit 7'", NULL, 0, big, 8000, &r);
    assert_false(r.timed_out);
    assert_int_equal(r.exit_code, 7);
    assert_string_equal(r.output, "done\n");
    CHECK(now_ms() - t0 < 6000, "took %lld ms", (long long)(now_ms() - t0));
    hook_result_free(&r);
    /* Reads 10 bytes then exits: the rest gets EPIPE, not a SIGPIPE in this process. */
    run("head -c 10", NULL, 0, big, 8000, &r);
    assert_true(hook_result_ok(&r));
    assert_string_equal(r.output, "abcdefghij");
    hook_result_free(&r);
    /* 1 MiB through cat: all of it read, output capped. */
    big[1u << 20] = '\0';
    run("cat", NULL, 0, big, 8000, &r);
    assert_true(hook_result_ok(&r));
    assert_int_equal(memcmp(r.output, big, HOOK_OUTPUT_MAX), 0);
    assert_string_equal(r.output + HOOK_OUTPUT_MAX, "\n[truncated: 983040 bytes dropped]");
    hook_result_free(&r);
    free(big);
}

/* ---- environment and descriptors --------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Output lines, sorted, joined by '|'. */
static void sorted_lines(const char *out, char *buf, size_t len)
{
    char *copy = strdup(out), *lines[64], *save = NULL;
    size_t n = 0;
    for (char *l = strtok_r(copy, "\n", &save); l && n < NELEM(lines); l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(buf, i ? "|" : "", len - strlen(buf) - 1);
        strncat(buf, lines[i], len - strlen(buf) - 1);
    }
    free(copy);
}

static void test_environment_exact(void **state)
{
    hook_env env[] = {{"A", "1"}, {"B_2", "two words"}, {"MYORCH_EMPTY", ""}};
    hook_env with_path[] = {{"PATH", "/usr/bin:/bin"}, {"X", "y=z"}};
    hook_result r;
    char got[2048], want[2048];
    const char *path = getenv("PATH");
    (void)state;

    setenv("MYORCH_SECRET_TEST", "x", 1);
    run("env", env, NELEM(env), NULL, 5000, &r);
    sorted_lines(r.output, got, sizeof got);
    snprintf(want, sizeof want, "A=1|B_2=two words|MYORCH_EMPTY=|PATH=%s", path && *path ? path : HOOK_DEFAULT_PATH);
    assert_string_equal(got, want);
    assert_null(strstr(r.output, "MYORCH_SECRET_TEST"));
    hook_result_free(&r);

    run("env", with_path, NELEM(with_path), NULL, 5000, &r);
    assert_string_equal(r.output, "PATH=/usr/bin:/bin\nX=y=z\n");
    hook_result_free(&r);

    run("env", NULL, 0, NULL, 5000, &r);
    snprintf(want, sizeof want, "PATH=%s\n", path && *path ? path : HOOK_DEFAULT_PATH);
    assert_string_equal(r.output, want);
    hook_result_free(&r);
    unsetenv("MYORCH_SECRET_TEST");
}

/* The parent's descriptors (even without O_CLOEXEC) never reach the hook. */
static void test_no_descriptor_leak(void **state)
{
    int fd = open("/dev/null", O_RDONLY);    /* deliberately without O_CLOEXEC */
    hook_result r;
    char got[256];
    (void)state;
    assert_true(fd > 2);
    run("sh -c 'ls /proc/$$/fd'", NULL, 0, NULL, 5000, &r);
    sorted_lines(r.output, got, sizeof got);
    assert_string_equal(got, "0|1|2");
    hook_result_free(&r);
    close(fd);
}

/* ---- start failures ---------------------------------------------------------------------- */

typedef struct {
    const char *cmd;
    int timeout_ms;
    int rc;
    const char *error;     /* substring */
} fail_case;

static const fail_case FAIL_CASES[] = {
    {"/nonexistent/hook --x", 1000, -ENOENT, "/nonexistent/hook: not found"},
    {"no-such-hook-myorch-xyz a b", 1000, -ENOENT, "no-such-hook-myorch-xyz: not found in PATH ("},
    {"fixtures/hooks/not-executable.sh", 1000, -EACCES, "fixtures/hooks/not-executable.sh: not executable (mode 0644)"},
    {"fixtures/hooks", 1000, -EACCES, "fixtures/hooks: is a directory"},
    {"fixtures/hooks/no-shebang", 1000, -ENOEXEC, "fixtures/hooks/no-shebang: not a program (a script needs a #! line)"},
    {"fixtures/hooks/bad-interpreter.sh", 1000, -ENOENT, "bad-interpreter.sh: its #! interpreter /nonexistent/interpreter was not found"},
    {"", 1000, -EINVAL, "empty command"},
    {"echo a | cat", 1000, -EINVAL, "without a shell"},
    {"true", 0, -EINVAL, "timeout_ms must be > 0"},
    {"true", -5, -EINVAL, "timeout_ms must be > 0 (got -5)"},
};

static void test_start_failures(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(FAIL_CASES); i++) {
        const fail_case *c = &FAIL_CASES[i];
        hook_result r;
        int rc = hook_run_sync(c->cmd, NULL, 0, "data", c->timeout_ms, &r);
        CHECK(rc == c->rc, "[%s]: rc %d, want %d (%s)", c->cmd, rc, c->rc, r.error);
        CHECK(r.start_failed && r.exit_code == -1 && !hook_result_ok(&r), "[%s]: flags", c->cmd);
        CHECK(strstr(r.error, c->error), "[%s]: error [%s] lacks [%s]", c->cmd, r.error, c->error);
        CHECK(r.output && r.output[0] == '\0', "[%s]: output", c->cmd);
        hook_result_free(&r);
    }
}

static void test_bad_environment(void **state)
{
    hook_env bad[][1] = {{{"A=B", "x"}}, {{"", "x"}}, {{"1A", "x"}}, {{NULL, "x"}}, {{"A", NULL}}};
    hook_result r;
    (void)state;
    for (size_t i = 0; i < NELEM(bad); i++) {
        assert_int_equal(hook_run_sync("true", bad[i], 1, NULL, 1000, &r), -EINVAL);
        assert_true(r.start_failed);
        assert_non_null(strstr(r.error, "bad environment variable"));
        hook_result_free(&r);
    }
    assert_int_equal(hook_run_sync("true", NULL, 0, NULL, 1000, NULL), -EINVAL);
}

static void test_result_ok_table(void **state)
{
    static const struct {
        hook_result r;
        bool ok;
    } T[] = {
        {{.exit_code = 0}, true},
        {{.exit_code = 1}, false},
        {{.exit_code = -1, .term_signal = SIGTERM}, false},
        {{.exit_code = 0, .timed_out = true}, false},   /* exited 0 on SIGTERM: still overran */
        {{.exit_code = 0, .cancelled = true}, false},
        {{.exit_code = -1, .start_failed = true}, false},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(T); i++)
        CHECK(hook_result_ok(&T[i].r) == T[i].ok, "case %zu", i);
    assert_false(hook_result_ok(NULL));
    hook_result_free(NULL);
}

/* ---- asynchronous runner --------------------------------------------------------------- */

static int wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms);
}

static void test_async_concurrent_jobs(void **state)
{
    hook_runner *hr = NULL;
    char err[256] = "", cmd[128];
    uint64_t tag;
    hook_result r;
    int seen[5] = {0}, got = 0, start_failed_seen = 0;
    int64_t t0;
    (void)state;

    assert_int_equal(hook_runner_new(&hr, err, sizeof err), 0);
    assert_true(hook_runner_fd(hr) >= 0);
    assert_int_equal(hook_runner_poll(hr, &tag, &r), 0);
    assert_int_equal(wait_readable(hook_runner_fd(hr), 0), 0);

    t0 = now_ms();
    for (int i = 0; i < 5; i++) {
        hook_env env[] = {{"JOB", "x"}};
        char v[8];
        snprintf(v, sizeof v, "%d", i);
        env[0].value = v;
        snprintf(cmd, sizeof cmd, "sh -c 'sleep 0.6; echo job-$JOB; cat'");
        assert_int_equal(hook_runner_start(hr, cmd, env, 1, "in", 5000, 100 + (uint64_t)i, err, sizeof err), 0);
    }
    assert_int_equal(hook_runner_start(hr, "/nonexistent/async-hook", NULL, 0, NULL, 5000, 999, err, sizeof err), 0);
    /* Errors the caller can fix are refused at once. */
    assert_int_equal(hook_runner_start(hr, "a | b", NULL, 0, NULL, 5000, 1, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "without a shell"));
    assert_int_equal(hook_runner_start(hr, "true", NULL, 0, NULL, 0, 1, err, sizeof err), -EINVAL);

    while (got < 6) {
        CHECK(now_ms() - t0 < UPPER_MS, "jobs did not finish");
        if (wait_readable(hook_runner_fd(hr), 1000) <= 0)
            continue;
        while (hook_runner_poll(hr, &tag, &r) == 1) {
            got++;
            if (tag == 999) {
                assert_true(r.start_failed);
                assert_non_null(strstr(r.error, "not found"));
                start_failed_seen = 1;
            } else {
                char want[32];
                CHECK(tag >= 100 && tag < 105, "unknown tag %llu", (unsigned long long)tag);
                snprintf(want, sizeof want, "job-%d\nin", (int)(tag - 100));
                assert_string_equal(r.output, want);
                assert_true(hook_result_ok(&r));
                seen[tag - 100]++;
            }
            hook_result_free(&r);
        }
    }
    /* Five 0.6 s jobs ran side by side: sequentially they would take >= 3 s. */
    CHECK(now_ms() - t0 < 2800, "5 x 0.6 s jobs took %lld ms: not concurrent", (long long)(now_ms() - t0));
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen[i], 1);
    assert_true(start_failed_seen);
    assert_int_equal(hook_runner_running(hr), 0);
    assert_int_equal(hook_runner_poll(hr, &tag, &r), 0);
    assert_int_equal(wait_readable(hook_runner_fd(hr), 0), 0);
    hook_runner_free(hr);
}

static pid_t read_pid_file(const char *path, int wait_ms)
{
    int64_t until = now_ms() + wait_ms;
    while (now_ms() < until) {
        FILE *f = fopen(path, "r");
        if (f) {
            long v = 0;
            int n = fscanf(f, "%ld", &v);
            fclose(f);
            if (n == 1 && v > 1)
                return (pid_t)v;
        }
        sleep_ms(10);
    }
    return 0;
}

/* Freeing the runner with running jobs (one ignoring SIGTERM) kills and reaps them: no zombie. */
static void test_runner_free_kills_running(void **state)
{
    hook_runner *hr = NULL;
    char err[256], dir[] = "/tmp/myorch-hook-test-XXXXXX", cmd[1024], f1[64], f2[64];
    pid_t p1, p2;
    int64_t t0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(f1, sizeof f1, "%s/p1", dir);
    snprintf(f2, sizeof f2, "%s/p2", dir);
    assert_int_equal(hook_runner_new(&hr, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "sh -c 'echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 30'", f1, f1, f1);
    assert_int_equal(hook_runner_start(hr, cmd, NULL, 0, NULL, 60000, 1, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "fixtures/hooks/stubborn.sh %s", f2);
    assert_int_equal(hook_runner_start(hr, cmd, NULL, 0, NULL, 60000, 2, err, sizeof err), 0);
    p1 = read_pid_file(f1, 5000);
    p2 = read_pid_file(f2, 5000);
    CHECK(p1 > 0 && p2 > 0, "pid files not written");
    assert_int_equal(hook_runner_running(hr), 2);

    t0 = now_ms();
    hook_runner_free(hr);
    CHECK(now_ms() - t0 < 5000, "free took %lld ms", (long long)(now_ms() - t0));
    /* Reaped by the runner: not our child any more, and no /proc entry (no zombie). */
    assert_int_equal(waitpid(p1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(waitpid(p2, NULL, WNOHANG), -1);
    CHECK(proc_state(p1) == 0 && proc_state(p2) == 0, "left behind: %c %c", proc_state(p1), proc_state(p2));
    unlink(f1);
    unlink(f2);
    rmdir(dir);
}

/* hook_run_sync in several threads while the async runner works. */
typedef struct {
    int id, failures;
} thread_arg;

static void *sync_thread(void *p)
{
    thread_arg *a = p;
    for (int k = 0; k < 5; k++) {
        char cmd[64], want[32], in[16];
        hook_result r;
        snprintf(cmd, sizeof cmd, "sh -c 'echo t%d-%d; cat'", a->id, k);
        snprintf(want, sizeof want, "t%d-%d\nstdin-%d", a->id, k, a->id);
        snprintf(in, sizeof in, "stdin-%d", a->id);
        if (hook_run_sync(cmd, NULL, 0, in, 5000, &r) != 0 || !hook_result_ok(&r) || strcmp(r.output, want) != 0)
            a->failures++;
        hook_result_free(&r);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th[4];
    thread_arg args[4];
    hook_runner *hr = NULL;
    char err[128];
    uint64_t tag;
    hook_result r;
    int got = 0;
    int64_t t0 = now_ms();
    (void)state;

    assert_int_equal(hook_runner_new(&hr, err, sizeof err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hook_runner_start(hr, "sh -c 'sleep 0.1; echo a'", NULL, 0, NULL, 5000, (uint64_t)i, err,
                                           sizeof err), 0);
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){.id = i};
        assert_int_equal(pthread_create(&th[i], NULL, sync_thread, &args[i]), 0);
    }
    while (got < 3 && now_ms() - t0 < UPPER_MS) {
        wait_readable(hook_runner_fd(hr), 100);
        while (hook_runner_poll(hr, &tag, &r) == 1) {
            assert_string_equal(r.output, "a\n");
            hook_result_free(&r);
            got++;
        }
    }
    assert_int_equal(got, 3);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].failures == 0, "thread %d: %d failures", i, args[i].failures);
    }
    hook_runner_free(hr);
}

/* ---- event payload ------------------------------------------------------------------------ */

static void test_payload(void **state)
{
    hook_replica reps[] = {{"db2:3306", 0.5, true}, {"10.0.0.3:3307", -1, false}};
    hook_event ev = {.event = "recovery-done", .cluster = "main", .old_primary = "db1:3306",
                     .new_primary = "db2:3306", .replicas = reps, .n_replicas = 2,
                     .lost_gtids = "0-1-17", .recovery_id = 42, .ts_ms = 1700000000123};
    hook_payload p;
    char err[128];
    json_t *j, *r0, *r1;
    json_error_t jerr;
    static const char *const want_env[][2] = {
        {"MYORCH_EVENT", "recovery-done"}, {"MYORCH_CLUSTER", "main"}, {"MYORCH_OLD_PRIMARY", "db1:3306"},
        {"MYORCH_NEW_PRIMARY", "db2:3306"}, {"MYORCH_REPLICAS", "db2:3306,10.0.0.3:3307"},
        {"MYORCH_LOST_GTIDS", "0-1-17"}, {"MYORCH_RECOVERY_ID", "42"}, {"MYORCH_TS_MS", "1700000000123"},
    };
    (void)state;

    assert_int_equal(hook_payload_build(&ev, &p, err, sizeof err), 0);
    assert_int_equal(p.n_env, NELEM(want_env));
    for (size_t i = 0; i < NELEM(want_env); i++) {
        assert_string_equal(p.env[i].name, want_env[i][0]);
        assert_string_equal(p.env[i].value, want_env[i][1]);
    }
    j = json_loads(p.json, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "recovery-done");
    assert_string_equal(json_string_value(json_object_get(j, "old_primary")), "db1:3306");
    assert_int_equal(json_integer_value(json_object_get(j, "recovery_id")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "ts_ms")), 1700000000123);
    assert_string_equal(json_string_value(json_object_get(j, "lost_gtids")), "0-1-17");
    assert_int_equal(json_array_size(json_object_get(j, "replicas")), 2);
    r0 = json_array_get(json_object_get(j, "replicas"), 0);
    r1 = json_array_get(json_object_get(j, "replicas"), 1);
    assert_true(json_real_value(json_object_get(r0, "lag_s")) == 0.5);
    assert_true(json_is_true(json_object_get(r0, "reachable")));
    assert_true(json_is_null(json_object_get(r1, "lag_s")));
    assert_true(json_is_false(json_object_get(r1, "reachable")));
    json_decref(j);

    /* The payload drives a real hook: env and stdin arrive as built. */
    {
        hook_result r;
        run("sh -c 'echo \"$MYORCH_EVENT $MYORCH_REPLICAS\"; cat'", p.env, p.n_env, p.json, 5000, &r);
        assert_int_equal(strncmp(r.output, "recovery-done db2:3306,10.0.0.3:3307\n{\"event\":", 45), 0);
        assert_string_equal(strchr(r.output, '\n') + 1, p.json);
        hook_result_free(&r);
    }
    hook_payload_free(&p);

    /* Minimal event: absent values are "" in the environment and null in JSON. */
    ev = (hook_event){.event = "primary-dead", .ts_ms = 1};
    assert_int_equal(hook_payload_build(&ev, &p, err, sizeof err), 0);
    assert_string_equal(p.env[2].value, "");
    assert_string_equal(p.env[4].value, "");
    assert_string_equal(p.env[6].value, "");
    assert_string_equal(p.json, "{\"event\":\"primary-dead\",\"cluster\":null,\"old_primary\":null,"
                                "\"new_primary\":null,\"replicas\":[],\"lost_gtids\":\"\",\"recovery_id\":null,"
                                "\"ts_ms\":1}");
    hook_payload_free(&p);

    ev.event = NULL;
    assert_int_equal(hook_payload_build(&ev, &p, err, sizeof err), -EINVAL);
    ev.event = "x";
    ev.cluster = "\xff\xfe";
    assert_int_equal(hook_payload_build(&ev, &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "UTF-8"));
    hook_payload_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_table),
        cmocka_unit_test(test_split_limits),
        cmocka_unit_test(test_exit_codes_and_signals),
        cmocka_unit_test(test_child_signal_state_is_clean),
        cmocka_unit_test(test_timeout_sleep),
        cmocka_unit_test(test_timeout_ignoring_term_gets_kill),
        cmocka_unit_test(test_timeout_while_flooding_output),
        cmocka_unit_test(test_timeout_kills_the_group),
        cmocka_unit_test(test_leftover_children_killed_after_exit),
        cmocka_unit_test(test_output_merged),
        cmocka_unit_test(test_output_truncated),
        cmocka_unit_test(test_stdin_delivered),
        cmocka_unit_test(test_large_stdin_not_read),
        cmocka_unit_test(test_environment_exact),
        cmocka_unit_test(test_no_descriptor_leak),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_bad_environment),
        cmocka_unit_test(test_result_ok_table),
        cmocka_unit_test(test_async_concurrent_jobs),
        cmocka_unit_test(test_runner_free_kills_running),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
