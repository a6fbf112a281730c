/* ocr_pdf — PDF pages through Poppler, cairo and Tesseract (see ocr_pdf.h). */
#include "ocr/ocr_pdf.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <poppler.h>
#include <stdio.h>

#include "ocr/ocr_text.h"

/* cairo cannot make image surfaces wider or taller than this. */
#define CAIRO_MAX_SIDE 32767

static int has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r' && *s != '\f')
            return 1;
    return 0;
}

/* The page rendered at dpi as an 8-bit grey Pix, or NULL (*rc says why). */
static PIX *render(PopplerPage *page, int index, unsigned dpi, uint64_t max_pixels, int *rc)
{
    double wpt, hpt;
    poppler_page_get_size(page, &wpt, &hpt);
    double w = ceil(wpt * dpi / 72.0), h = ceil(hpt * dpi / 72.0);
    if (!(w >= 1 && h >= 1 && w <= CAIRO_MAX_SIDE && h <= CAIRO_MAX_SIDE && w * h <= max_pixels)) {
        fprintf(stderr, "rcfs-ocr: PDF page %d would be %.0f x %.0f pixels: over the limit\n",
                index + 1, w, h);
        *rc = -E2BIG;
        return NULL;
    }
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, dpi / 72.0, dpi / 72.0);
    poppler_page_render(page, cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    PIX *pix = NULL;
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS)
        pix = pixCreate((int)w, (int)h, 8);
    if (pix) {
        const unsigned char *data = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s), wpl = pixGetWpl(pix);
        l_uint32 *dst = pixGetData(pix);
        for (int y = 0; y < (int)h; y++) {
            const uint32_t *row = (const uint32_t *)(data + (size_t)y * stride);
            l_uint32 *line = dst + (size_t)y * wpl;
            for (int x = 0; x < (int)w; x++) {
                uint32_t px = row[x];
                unsigned luma =
                    (299 * (px >> 16 & 0xff) + 587 * (px >> 8 & 0xff) + 114 * (px & 0xff)) / 1000;
                SET_DATA_BYTE(line, x, luma);
            }
        }
        pixSetResolution(pix, (int)dpi, (int)dpi);
    } else if (cairo_surface_status(s) == CAIRO_STATUS_NO_MEMORY) {
        fprintf(stderr, "rcfs-ocr: PDF page %d: out of memory rendering it\n", index + 1);
        *rc = -ENOMEM;
    } else {
        fprintf(stderr, "rcfs-ocr: PDF page %d cannot be rendered\n", index + 1);
        *rc = -EIO;
    }
    cairo_surface_destroy(s);
    return pix;
}

static int read_page(PopplerPage *page, int index, const struct ocr_doc_limits *lim,
                     struct ocr_tess *t, struct buf *out)
{
    char *text = poppler_page_get_text(page);
    int rc = 0;
    if (has_text(text)) {
        rc = ocr_text_page(out, text, strlen(text));
    } else {
        PIX *pix = render(page, index, lim->render_dpi, lim->max_pixels, &rc);
        if (pix)
            rc = ocr_tess_page(t, pix, lim->render_dpi, lim->render_dpi, out);
        pixDestroy(&pix);
    }
    g_free(text);
    return rc;
}

int ocr_pdf_read(const uint8_t *p, size_t n, const struct ocr_doc_limits *lim, struct ocr_tess *t,
                 struct buf *out)
{
    GError *err = NULL;
    GBytes *bytes = g_bytes_new_static(p, n);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &err);
    if (!doc) {
        fprintf(stderr, "rcfs-ocr: not a readable PDF (%s)\n", err ? err->message : "?");
        g_clear_error(&err);
        g_bytes_unref(bytes);
        return -EINVAL;
    }
    int pages = poppler_document_get_n_pages(doc), rc = 0;
    if (pages < 0 || (unsigned)pages > lim->max_pages) {
        fprintf(stderr, "rcfs-ocr: PDF has %d pages, more than %u\n", pages, lim->max_pages);
        rc = -E2BIG;
    }
    for (int i = 0; !rc && i < pages; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) {
            fprintf(stderr, "rcfs-ocr: PDF page %d cannot be read\n", i + 1);
            rc = -EINVAL;
        } else if (i > 0 && buf_append(out, "\f", 1)) {
            rc = -EFBIG;
        } else {
            rc = read_page(page, i, lim, t, out);
        }
        if (page)
            g_object_unref(page);
    }
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return rc;
}

const char *ocr_pdf_versions(void)
{
    static char v[96];
    if (!v[0])
        snprintf(v, sizeof(v), "poppler %s, cairo %s", poppler_get_version(),
                 cairo_version_string());
    return v;
}
