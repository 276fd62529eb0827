/*
 * tests/tools/tool_password.h — the test tools' password file: its first line, without the line
 * end. Header only: each tool is an executable of its own (CMakeLists.txt, TOOL_SOURCES).
 */
#ifndef MYORCH_TESTS_TOOL_PASSWORD_H
#define MYORCH_TESTS_TOOL_PASSWORD_H

#include <stdio.h>
#include <string.h>

/* 0, or -1 with "PROG: cannot read PATH" on stderr. */
static inline int tool_read_password(const char *prog, const char *path, char *pw, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(pw, (int)len, f)) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

#endif
