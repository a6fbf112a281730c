/* fs_ino — inode number encoding (see fs_ino.h). */
#include "fs/fs_ino.h"

#include <string.h>

#define KIND_SHIFT   60
#define PAYLOAD_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)
#define MAX_SLOT     (UINT64_C(1) << (KIND_SHIFT - 9))

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
        return k | ((uint64_t)n->slot << 9) | ((uint64_t)(n->view & 1) << 8) |
               (uint64_t)(n->sub & 0xff);
    case FS_LINK:
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
        if ((p >> 9) > UINT32_MAX)
            break;
        n->kind = FS_MSG;
        n->slot = (uint32_t)(p >> 9);
        n->view = (int)((p >> 8) & 1);
        n->sub = (int)(p & 0xff);
        return true;
    case FS_LINK:
        if (p > UINT32_MAX)
            break;
        n->kind = FS_LINK;
        n->slot = (uint32_t)p;
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
