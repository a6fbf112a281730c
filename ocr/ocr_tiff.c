/* ocr_tiff — TIFF pages through Leptonica and Tesseract (see ocr_tiff.h). */
#include "ocr/ocr_tiff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/mem.h"

int ocr_tiff_read(const uint8_t *p, size_t n, const struct ocr_doc_limits *lim, struct ocr_tess *t,
                  struct buf *out)
{
    struct ocr_tiff_page *pages = mem_calloc(lim->max_pages ? lim->max_pages : 1, sizeof(*pages));
    int count = ocr_doc_tiff_pages(p, n, pages, lim->max_pages, lim->max_pixels);
    if (count == -E2BIG)
        fprintf(stderr, "rcfs-ocr: TIFF over the limits (%u pages, %llu pixels a page)\n",
                lim->max_pages, (unsigned long long)lim->max_pixels);
    else if (count < 0)
        fprintf(stderr, "rcfs-ocr: not a readable TIFF (bad page headers)\n");
    int rc = count < 0 ? count : 0;
    size_t offset = 0;
    for (int i = 0; !rc && i < count; i++) {
        errno = 0;
        PIX *pix = pixReadMemFromMultipageTiff(p, n, &offset);
        if (!pix && errno == ENOMEM) {
            fprintf(stderr, "rcfs-ocr: TIFF page %d: out of memory decoding it\n", i + 1);
            rc = -ENOMEM;
        } else if (!pix || (uint32_t)pixGetWidth(pix) != pages[i].width ||
                   (uint32_t)pixGetHeight(pix) != pages[i].height) {
            fprintf(stderr, "rcfs-ocr: TIFF page %d cannot be decoded\n", i + 1);
            rc = -EINVAL;
        } else if (i > 0 && buf_append(out, "\f", 1)) {
            rc = -EFBIG;
        } else {
            rc = ocr_tess_page(t, pix, pages[i].xres, pages[i].yres, out);
        }
        pixDestroy(&pix);
        if (!rc && i + 1 < count && offset == 0) {
            fprintf(stderr, "rcfs-ocr: TIFF ends after page %d of %d\n", i + 1, count);
            rc = -EINVAL;
        }
    }
    free(pages);
    return rc;
}
