/*
 * tests/fuzz/driver.c — standalone driver for libFuzzer-style targets, used
 * when the project is not built with clang's -fsanitize=fuzzer.
 *
 *   fuzz_xxx ITERATIONS [SEED_FILE...]
 *
 * Runs a deterministic (fixed-seed) mutation fuzzer: starting from a seed
 * corpus (the target's optional fuzz_driver_seeds() hook, else a small
 * built-in corpus of separator-rich text, plus any SEED_FILEs), it mutates
 * inputs (bit flips, byte replacement, insertion of digits, separators and
 * boundary numbers, deletion, duplication, splicing, joining two inputs) and
 * calls LLVMFuzzerTestOneInput on each. A share of the mutants the target
 * accepts (return value 0; -1 means "do not keep", as with libFuzzer) is kept
 * in a bounded pool so mutations stack up. No coverage feedback: it is a smoke
 * test that runs in CI; use -DMYORCH_FUZZ=ON with clang for real fuzzing.
 * A crashing input is printed to stderr (escaped) by a signal handler.
 * On success it prints "N iterations, 0 crashes".
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional hook a target may define to supply its own seeds. */
extern const char *const *fuzz_driver_seeds(size_t *n) __attribute__((weak));

#define MAX_INPUT 512
#define POOL_MAX 512

static const char *const builtin_seeds[] = {
    "",
    "0",
    "1-2-3",
    "1-2-3,4-5-6",
    "a:1-5:7",
    "key=value",
    "name.000001:4",
    "00000000-0000-0000-0000-000000000000:1",
    "1,2,3|4,5,6",
};

/* Tokens inserted by mutations: separators, digits and boundary numbers. */
static const char *const tokens[] = {
    "-", ":", ",", ".", "..", "|", " ", "\n", ",\n", "0", "1", "9", "-1", "+",
    "4294967295", "4294967296", "9223372036854775806", "9223372036854775807",
    "18446744073709551615", "18446744073709551616", "99999999999999999999",
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "tag_1", "_", "Z", "1-5", "0-1-10",
};

typedef struct {
    uint8_t *d;
    size_t n;
} input;

static input pool[POOL_MAX];
static size_t pool_n;
static size_t pool_fixed; /* seeds are never evicted */

static const uint8_t *cur_data;
static size_t cur_size;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void put_hexbyte(char *out, uint8_t c)
{
    static const char hx[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hx[c >> 4];
    out[3] = hx[c & 15];
}

/* Print the input being run when a crash signal arrives (async-signal-safe). */
static void on_crash(int sig)
{
    char buf[8];
    static const char head[] = "\nfuzz driver: crash on input (escaped): \"";
    static const char tail[] = "\"\n";

    if (write(2, head, sizeof head - 1) < 0)
        goto out;
    for (size_t i = 0; cur_data && i < cur_size; i++) {
        uint8_t c = cur_data[i];
        size_t len = 1;
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            buf[0] = (char)c;
        } else {
            put_hexbyte(buf, c);
            len = 4;
        }
        if (write(2, buf, len) < 0)
            goto out;
    }
    if (write(2, tail, sizeof tail - 1) < 0)
        goto out;
out:
    signal(sig, SIG_DFL);
    raise(sig);
}

static int pool_add(const uint8_t *d, size_t n, int fixed)
{
    uint8_t *copy = malloc(n ? n : 1);
    size_t slot;

    if (!copy)
        return -ENOMEM;
    if (n)
        memcpy(copy, d, n);
    if (pool_n < POOL_MAX) {
        slot = pool_n++;
    } else {
        if (fixed || pool_fixed >= POOL_MAX) {
            free(copy);
            return 0;
        }
        slot = pool_fixed + rnd_below(POOL_MAX - pool_fixed);
        free(pool[slot].d);
    }
    pool[slot].d = copy;
    pool[slot].n = n;
    if (fixed)
        pool_fixed = pool_n;
    return 0;
}

static int add_seed_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t buf[MAX_INPUT];
    size_t n;

    if (!f) {
        fprintf(stderr, "fuzz driver: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return pool_add(buf, n, 1);
}

/* Apply one random mutation to buf (length *n, capacity MAX_INPUT). */
static void mutate(uint8_t *buf, size_t *n)
{
    size_t len = *n;

    switch (rnd_below(9)) {
    case 0: /* flip a bit */
        if (len)
            buf[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
        break;
    case 1: /* replace a byte by a random one */
        if (len)
            buf[rnd_below(len)] = (uint8_t)rnd();
        break;
    case 2: /* replace a byte by a separator or digit */
        if (len) {
            static const char pick[] = "-:,.|0123456789 \nabcdefABCDEF_";
            buf[rnd_below(len)] = (uint8_t)pick[rnd_below(sizeof pick - 1)];
        }
        break;
    case 3:
    case 4: { /* insert a token */
        const char *t = tokens[rnd_below(sizeof tokens / sizeof tokens[0])];
        size_t tl = strlen(t), at = rnd_below(len + 1);
        if (len + tl > MAX_INPUT)
            break;
        memmove(buf + at + tl, buf + at, len - at);
        memcpy(buf + at, t, tl);
        *n = len + tl;
        break;
    }
    case 5: { /* delete a range */
        size_t at, dl;
        if (!len)
            break;
        at = rnd_below(len);
        dl = 1 + rnd_below(len - at < 8 ? len - at : 8);
        memmove(buf + at, buf + at + dl, len - at - dl);
        *n = len - dl;
        break;
    }
    case 6: { /* duplicate a range in place */
        size_t at, dl, to;
        if (!len)
            break;
        at = rnd_below(len);
        dl = 1 + rnd_below(len - at < 16 ? len - at : 16);
        if (len + dl > MAX_INPUT)
            break;
        to = rnd_below(len + 1);
        {
            uint8_t tmp[16];
            memcpy(tmp, buf + at, dl);
            memmove(buf + to + dl, buf + to, len - to);
            memcpy(buf + to, tmp, dl);
        }
        *n = len + dl;
        break;
    }
    case 7: { /* splice: keep a prefix, append a suffix of another input */
        const input *o = &pool[rnd_below(pool_n)];
        size_t keep = rnd_below(len + 1), from = rnd_below(o->n + 1), tl = o->n - from;
        if (keep + tl > MAX_INPUT)
            tl = MAX_INPUT - keep;
        if (tl)
            memcpy(buf + keep, o->d + from, tl);
        *n = keep + tl;
        break;
    }
    case 8: { /* join with another input: "mine|other" */
        const input *o = &pool[rnd_below(pool_n)];
        if (len + 1 + o->n > MAX_INPUT)
            break;
        buf[len] = '|';
        if (o->n)
            memcpy(buf + len + 1, o->d, o->n);
        *n = len + 1 + o->n;
        break;
    }
    }
}

int main(int argc, char **argv)
{
    unsigned long long iters, i;
    char *end;
    const char *const *seeds = builtin_seeds;
    size_t nseeds = sizeof builtin_seeds / sizeof builtin_seeds[0];
    static uint8_t buf[MAX_INPUT];
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: %s ITERATIONS [SEED_FILE...]\n", argv[0]);
        return 2;
    }
    errno = 0;
    iters = strtoull(argv[1], &end, 10);
    if (errno || end == argv[1] || *end != '\0' || argv[1][0] == '-') {
        fprintf(stderr, "fuzz driver: bad iteration count '%s'\n", argv[1]);
        return 2;
    }
    if (fuzz_driver_seeds) {
        size_t n = 0;
        const char *const *s = fuzz_driver_seeds(&n);
        if (s && n) {
            seeds = s;
            nseeds = n;
        }
    }
    for (size_t k = 0; k < nseeds; k++) {
        size_t n = strlen(seeds[k]);
        if (pool_add((const uint8_t *)seeds[k], n > MAX_INPUT ? MAX_INPUT : n, 1))
            goto out;
    }
    for (int k = 2; k < argc; k++)
        if (add_seed_file(argv[k]))
            goto out;

    signal(SIGSEGV, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);

    /* every seed as it is first */
    for (size_t k = 0; k < pool_n; k++) {
        cur_data = pool[k].d;
        cur_size = pool[k].n;
        LLVMFuzzerTestOneInput(pool[k].d, pool[k].n);
    }
    for (i = 0; i < iters; i++) {
        const input *src = &pool[rnd_below(pool_n)];
        bool keep;
        size_t n = src->n, rounds = 1 + (rnd_below(4) == 0 ? rnd_below(4) : 0);

        memcpy(buf, src->d, n);
        for (size_t r = 0; r < rounds; r++)
            mutate(buf, &n);
        cur_data = buf;
        cur_size = n;
        keep = LLVMFuzzerTestOneInput(buf, n) == 0;
        if (keep && rnd_below(4) == 0 && pool_add(buf, n, 0))
            goto out;
    }
    cur_data = NULL;
    printf("%llu iterations, 0 crashes\n", iters);
    rc = 0;
out:
    for (size_t k = 0; k < pool_n; k++)
        free(pool[k].d);
    if (rc)
        fprintf(stderr, "fuzz driver: setup failed\n");
    return rc;
}
