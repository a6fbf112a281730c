/* vec32 — growable uint32 arrays (see vec32.h). */
#include "util/vec32.h"

#include <stdlib.h>

#include "util/mem.h"

void vec32_push(struct vec32 *v, uint32_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = mem_reallocarray(v->v, v->cap, sizeof *v->v);
    }
    v->v[v->n++] = x;
}

bool vec32_remove(struct vec32 *v, uint32_t x)
{
    for (uint32_t i = v->n; i-- > 0;) {
        if (v->v[i] == x) {
            v->v[i] = v->v[--v->n];
            return true;
        }
    }
    return false;
}

bool vec32_has(const struct vec32 *v, uint32_t x)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (v->v[i] == x)
            return true;
    return false;
}

void vec32_free(struct vec32 *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}
