/*
 * orchestrator/serve/webui.h — the web page's static files (README "Web UI").
 *
 * Owns: the table of files under web/ that CMake compiles into the binary
 * (generated/webui_assets.h): their URL paths, bodies and Content-Types, and
 * the headers every one of them is served with (a strict
 * Content-Security-Policy among them).
 *
 * A lookup is an exact match of the request path against that fixed table:
 * no file system access, so no path can name anything else (traversal,
 * symlinks, encodings have nothing to act on). Pure; table-tested in
 * tests/unit/test_webui.c.
 */
#ifndef MYORCH_ORCHESTRATOR_WEBUI_H
#define MYORCH_ORCHESTRATOR_WEBUI_H

#include <stddef.h>

typedef struct {
    const char *path;         /* "/" or "/ui/NAME" */
    const char *ctype;        /* Content-Type, with charset for text */
    const char *body;
    size_t len;
} webui_asset;

/* Same-origin scripts and styles only; no inline code, no framing, no plugins. */
#define WEBUI_CSP                                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "                \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The asset served at path (without query string), or NULL. */
const webui_asset *webui_find(const char *path);

/* The number of assets and the i-th (for tests and the route list). */
size_t webui_count(void);
const webui_asset *webui_at(size_t i);

#endif
