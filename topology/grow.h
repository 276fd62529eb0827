/*
 * topology/grow.h — room for more elements in a heap array that doubles as it fills.
 */
#ifndef MYORCH_TOPOLOGY_GROW_H
#define MYORCH_TOPOLOGY_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * The array v (elements of elem bytes, *cap of them allocated) reallocated to twice *cap,
 * or to first when empty; *cap is updated. NULL when out of memory (or the size would
 * overflow): v and *cap are then unchanged.
 */
static inline void *grow_array(void *v, size_t *cap, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap * 2 : first;
    void *nv;
    if (*cap > SIZE_MAX / 2 / elem)
        return NULL;
    nv = realloc(v, ncap * elem);
    if (nv)
        *cap = ncap;
    return nv;
}

/*
 * The byte buffer buf (*cap bytes allocated) reallocated to hold need bytes: doubled from
 * its size (4096 when empty), at most max; *cap is updated. NULL when out of memory: buf
 * and *cap are then unchanged.
 */
static inline char *grow_bytes(char *buf, size_t *cap, size_t need, size_t max)
{
    size_t ncap = *cap ? *cap : 4096;
    char *nb;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max)
        ncap = max;
    nb = realloc(buf, ncap);
    if (nb)
        *cap = ncap;
    return nb;
}

#endif
