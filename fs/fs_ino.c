/* fs_ino — inode number encoding (see fs_ino.h). */
#include "fs/fs_ino.h"

#include <string.h>

#define KIND_SHIFT   60
#define PAYLOAD_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)

uint64_t fs_ino_make(const struct fs_node *n)
{
    uint64_t k = (uint64_t)n->kind << KIND_SHIFT;
    switch (n->kind) {
    case FS_ROOT:
        return 1;
    case FS_EXT:
        return k | n->ext;
    case FS_FOLDER:
        return k | ((uint64_t)n->ext << 4) | (uint64_t)(n->folder & 0xf);
    case FS_CONV:
        return k | n->conv;
    case FS_MSG:
        return k | ((uint64_t)n->slot << 10) | ((uint64_t)(n->view & 3) << 8) |
               (uint64_t)(n->sub & 0xff);
    case FS_TRASH:
        return k | ((uint64_t)n->id << 4) | (uint64_t)(n->part & 0xf);
    case FS_LINK:
    case FS_ULINK:
        return k | n->slot;
    case FS_OUTBOX:
        return k | ((uint64_t)n->obx_id << 4) | (uint64_t)(n->obx & 0xf);
    default:
        return 0;
    }
}

bool fs_ino_parse(uint64_t ino, struct fs_node *n)
{
    memset(n, 0, sizeof *n);
    if (ino == 1) {
        n->kind = FS_ROOT;
        return true;
    }
    uint64_t kind = ino >> KIND_SHIFT, p = ino & PAYLOAD_MASK;
    switch (kind) {
    case FS_EXT:
        if (p > UINT32_MAX)
            break;
        n->kind = FS_EXT;
        n->ext = (uint32_t)p;
        return true;
    case FS_FOLDER:
        if ((p >> 4) > UINT32_MAX)
            break;
        n->kind = FS_FOLDER;
        n->ext = (uint32_t)(p >> 4);
        n->folder = (int)(p & 0xf);
        return true;
    case FS_CONV:
        if (p > UINT32_MAX)
            break;
        n->kind = FS_CONV;
        n->conv = (uint32_t)p;
        return true;
    case FS_MSG:
        if ((p >> 10) > UINT32_MAX || ((p >> 8) & 3) > FS_VIEW_MAX)
            break;
        n->kind = FS_MSG;
        n->slot = (uint32_t)(p >> 10);
        n->view = (int)((p >> 8) & 3);
        n->sub = (int)(p & 0xff);
        return true;
    case FS_LINK:
    case FS_ULINK:
        if (p > UINT32_MAX)
            break;
        n->kind = (enum fs_kind)kind;
        n->slot = (uint32_t)p;
        return true;
    case FS_TRASH:
        if ((p >> 4) > UINT32_MAX || (p & 0xf) > FS_TRASH_SCRATCH)
            break;
        n->kind = FS_TRASH;
        n->part = (int)(p & 0xf);
        n->id = (uint32_t)(p >> 4);
        return true;
    case FS_OUTBOX:
        if ((p >> 4) > UINT32_MAX)
            break;
        n->kind = FS_OUTBOX;
        n->obx = (int)(p & 0xf);
        n->obx_id = (uint32_t)(p >> 4);
        return true;
    default:
        break;
    }
    n->kind = FS_BAD;
    return false;
}
