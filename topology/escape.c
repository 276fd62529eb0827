/* topology/escape.c — control characters and invalid UTF-8 made visible. */
#include "topology/escape.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid, non-C1 UTF-8 sequence at p (>= 2 bytes), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return n;
}

/* Escape form of the byte at p into e (≥ 5 bytes); returns how many input bytes it covers and sets *elen. */
static size_t one(const unsigned char *p, char *e, size_t *elen)
{
    static const char hex[] = "0123456789abcdef";
    size_t u;
    if (*p >= 0x20 && *p < 0x7f) {
        e[0] = (char)*p;
        *elen = 1;
        return 1;
    }
    if (*p >= 0x80 && (u = utf8_len(p)) > 0) {
        memcpy(e, p, u);
        *elen = u;
        return u;
    }
    e[0] = '\\';
    *elen = 2;
    switch (*p) {
    case '\n': e[1] = 'n'; return 1;
    case '\r': e[1] = 'r'; return 1;
    case '\t': e[1] = 't'; return 1;
    case 0x1b: e[1] = 'e'; return 1;
    default:
        e[1] = 'x';
        e[2] = hex[*p >> 4];
        e[3] = hex[*p & 15];
        *elen = 4;
        return 1;
    }
}

bool esc_is_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!s)
        return true;
    while (*p) {
        char e[8];
        size_t elen, used = one(p, e, &elen);
        if (elen != used)
            return false;
        p += used;
    }
    return true;
}

size_t esc_text(const char *s, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t need = 0, w = 0;
    bool cut = false;
    while (*p) {
        char e[8];
        size_t elen, used = one(p, e, &elen);
        if (!cut && outlen && w + elen < outlen) {
            memcpy(out + w, e, elen);
            w += elen;
        } else {
            cut = true;
        }
        need += elen;
        p += used;
    }
    if (outlen) {
        if (cut) {
            /* Make the cut visible; never split a UTF-8 sequence. */
            size_t keep = outlen > 4 ? outlen - 4 : 0, dots;
            if (w > keep) {
                w = keep;
                while (w > 0 && ((unsigned char)out[w] & 0xc0) == 0x80)
                    w--;
            }
            dots = outlen - 1 - w < 3 ? outlen - 1 - w : 3;
            memcpy(out + w, "...", dots);
            w += dots;
        }
        out[w] = '\0';
    }
    return need;
}

char *esc_dup(const char *s)
{
    size_t n = esc_text(s, NULL, 0);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    esc_text(s, out, n + 1);
    return out;
}

void esc_fputs(const char *s, FILE *f)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!s)
        return;
    while (*p) {
        char e[8];
        size_t elen, used = one(p, e, &elen);
        fwrite(e, 1, elen, f);
        p += used;
    }
}

/* One member of an object or array: an unsafe string is escaped in place, anything else walked. */
static void esc_json_member(json_t *v)
{
    if (json_is_string(v) && !esc_is_safe(json_string_value(v))) {
        char *e = esc_dup(json_string_value(v));
        if (!e || json_string_set(v, e) < 0)
            json_string_set(v, "?");
        free(e);
    } else {
        esc_json_strings(v);
    }
}

void esc_json_strings(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
            esc_json_member(v);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            esc_json_member(v);
    }
}
