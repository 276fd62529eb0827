/*
 * tests/sim/sha1.h — SHA-1 (FIPS 180-4) for the fleet simulator's
 * mysql_native_password check. Test tool only: no dependency on a TLS library.
 */
#ifndef MYORCH_SIM_SHA1_H
#define MYORCH_SIM_SHA1_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} sim_sha1;

static inline uint32_t sim_rol(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static inline void sim_sha1_block(sim_sha1 *s, const uint8_t *p)
{
    uint32_t w[80], a, b, c, d, e, f, k, t;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = sim_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        t = sim_rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = sim_rol(b, 30), b = a, a = t;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static inline void sim_sha1_init(sim_sha1 *s)
{
    static const uint32_t h0[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    memcpy(s->h, h0, sizeof(h0));
    s->len = 0;
    s->n = 0;
}

static inline void sim_sha1_update(sim_sha1 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->len += len;
    while (len > 0) {
        size_t take = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, p, take);
        s->n += take, p += take, len -= take;
        if (s->n == 64) {
            sim_sha1_block(s, s->buf);
            s->n = 0;
        }
    }
}

static inline void sim_sha1_final(sim_sha1 *s, uint8_t out[20])
{
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sim_sha1_update(s, &pad, 1);
    while (s->n != 56)
        sim_sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sim_sha1_update(s, lenb, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

static inline void sim_sha1_of(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[20])
{
    sim_sha1 s;
    sim_sha1_init(&s);
    sim_sha1_update(&s, a, alen);
    if (b)
        sim_sha1_update(&s, b, blen);
    sim_sha1_final(&s, out);
}

#endif
