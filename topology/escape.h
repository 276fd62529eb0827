/*
 * topology/escape.h — the one helper that makes untrusted text safe to show.
 *
 * Servers report strings myorch shows to people (report_host, versions, error
 * texts, thread states). A newline in one forges log lines; an escape
 * sequence reaches the operator's terminal. Every such string goes through
 * here on its way to the log, the topology view and every terminal output.
 *
 * Owns: the escaping rule. Bytes below 0x20, DEL (0x7f), the C1 controls
 * (U+0080..U+009F) and bytes that are not valid UTF-8 are written as \n, \r,
 * \t, \e or \xNN; a backslash is written as is. Printable ASCII and valid
 * UTF-8 pass unchanged. No I/O except esc_fputs() (writes to the FILE given).
 */
#ifndef MYORCH_TOPOLOGY_ESCAPE_H
#define MYORCH_TOPOLOGY_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* True when s needs no escaping (NULL counts as safe). */
bool esc_is_safe(const char *s);

/*
 * Escape s into out (always NUL-terminated when outlen > 0). Returns the
 * length the full escaped text needs (excluding the NUL), like snprintf: a
 * result >= outlen means it was cut, and then the text ends in "..." so the
 * cut is visible. NULL s writes "".
 */
size_t esc_text(const char *s, char *out, size_t outlen);

/* Heap copy of the escaped text (NULL s → ""), NULL on OOM. */
char *esc_dup(const char *s);

/* Write the escaped text of s to f (NULL s writes nothing). */
void esc_fputs(const char *s, FILE *f);

/* Replace every string value inside j (objects and arrays, recursively) by its
 * escaped text, for printing a controller's reply as text. Keys are left alone.
 * A string that cannot be replaced (OOM) is replaced by "?". */
struct json_t;
void esc_json_strings(struct json_t *j);

#endif
