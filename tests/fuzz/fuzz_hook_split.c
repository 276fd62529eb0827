/*
 * tests/fuzz/fuzz_hook_split.c — fuzz target for hook_split_command()
 * (hooks/runner.c): the hook command lines of the configuration.
 *
 * Invariants (abort() on failure): the result is 0 or -EINVAL/-E2BIG/-ENOMEM
 * with a message; on success argc >= 1, argv[argc] is NULL, every argument is
 * a NUL-free string no longer than the input, and splitting the same input
 * again gives the same vector.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/runner.h"

#define FZ_CHECK(cond)                                                                            \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_hook_split: invariant failed: %s (line %d)\n", #cond, __LINE__);\
            abort();                                                                              \
        }                                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_driver_seeds(size_t *n);

static const char *const seeds[] = {
    "/usr/lib/myorch/hooks/myorch-haproxy --socket /run/haproxy/admin.sock --writer-backend be_writer",
    "sh -c 'echo \"$MYORCH_EVENT\" >> /tmp/x'",
    "a\\ b \"c d\" 'e f' g\\\"h",
    "'unterminated",
    "\"x\\\\y\" '' \"\"",
};

const char *const *fuzz_driver_seeds(size_t *n)
{
    *n = sizeof seeds / sizeof seeds[0];
    return seeds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), **argv = NULL, **again = NULL, err[256] = "";
    size_t argc = 0, argc2 = 0;
    int rc;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    rc = hook_split_command(buf, &argv, &argc, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
    if (rc < 0) {
        FZ_CHECK(err[0] != '\0');
    } else {
        FZ_CHECK(argc >= 1 && argv && argv[argc] == NULL);
        for (size_t i = 0; i < argc; i++)
            FZ_CHECK(argv[i] && strlen(argv[i]) <= strlen(buf));
        FZ_CHECK(hook_split_command(buf, &again, &argc2, err, sizeof(err)) == 0 && argc2 == argc);
        for (size_t i = 0; i < argc; i++)
            FZ_CHECK(strcmp(argv[i], again[i]) == 0);
        hook_free_argv(again);
    }
    hook_free_argv(argv);
    free(buf);
    return rc == 0 ? 0 : -1;
}
