/*
 * tests/unit/check.h — CHECK (an assertion that prints the case's own message first) and
 * NELEM, for every unit test. Include it after <cmocka.h>.
 */
#ifndef MYORCH_TESTS_UNIT_CHECK_H
#define MYORCH_TESTS_UNIT_CHECK_H

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            print_error(__VA_ARGS__);                                                             \
            print_error("\n");                                                                    \
            fail_msg("check failed: %s", #cond);                                                  \
        }                                                                                         \
    } while (0)

#endif
