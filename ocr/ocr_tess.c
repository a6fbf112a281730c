/* ocr_tess — Tesseract through its C API (see ocr_tess.h). */
#include "ocr/ocr_tess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

#include "ocr/ocr_text.h"
#include "util/mem.h"

struct ocr_tess {
    const char *datadir; /* tessdata folder, NULL = built-in */
    const char *lang;    /* "eng+deu" */
    TessBaseAPI *api;    /* NULL until the first page */
    int failed;          /* starting failed once: do not try again */
};

struct ocr_tess *ocr_tess_new(const char *datadir, const char *lang)
{
    struct ocr_tess *t = mem_calloc(1, sizeof(*t));
    t->datadir = datadir;
    t->lang = lang;
    return t;
}

/* The first name of the '+'-joined list lang that api did not load, or NULL. */
static const char *missing_language(TessBaseAPI *api, const char *lang)
{
    char **loaded = TessBaseAPIGetLoadedLanguagesAsVector(api);
    const char *missing = NULL;
    for (const char *p = lang; *p && !missing; p += strcspn(p, "+"), p += *p == '+') {
        size_t n = strcspn(p, "+");
        int found = 0;
        for (char **l = loaded; l && *l && !found; l++)
            found = strlen(*l) == n && strncmp(*l, p, n) == 0;
        if (!found)
            missing = p;
    }
    TessDeleteTextArray(loaded);
    return missing;
}

static int start(struct ocr_tess *t)
{
    if (t->api)
        return 0;
    if (t->failed)
        return -ENOTSUP;
    TessBaseAPI *api = TessBaseAPICreate();
    /* Tesseract's own chatter (resolution guesses, ...) is not ours to log. */
    TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    if (TessBaseAPIInit3(api, t->datadir, t->lang) != 0) {
        fprintf(stderr, "rcfs-ocr: Tesseract cannot load language \"%s\" (tessdata: %s)\n", t->lang,
                t->datadir ? t->datadir : "built-in");
        TessBaseAPIDelete(api);
        t->failed = 1;
        return -ENOTSUP;
    }
    const char *missing = missing_language(api, t->lang);
    if (missing) {
        /* Tesseract starts with the languages it found and only warns. */
        fprintf(stderr, "rcfs-ocr: Tesseract has no language \"%.*s\" (tessdata: %s)\n",
                (int)strcspn(missing, "+"), missing, t->datadir ? t->datadir : "built-in");
        TessBaseAPIEnd(api);
        TessBaseAPIDelete(api);
        t->failed = 1;
        return -ENOTSUP;
    }
    TessBaseAPISetPageSegMode(api, PSM_AUTO);
    t->api = api;
    return 0;
}

int ocr_tess_load(struct ocr_tess *t)
{
    return start(t);
}

/* pix at square pixels of at least OCR_TESS_MIN_DPI; *dpi gets the result's. */
static PIX *normalise(PIX *pix, double xres, double yres, int *dpi)
{
    if (xres <= 0 || yres <= 0) {
        xres = 204;
        yres = 196;
    }
    double target = xres > yres ? xres : yres;
    if (target < OCR_TESS_MIN_DPI)
        target = OCR_TESS_MIN_DPI;
    *dpi = (int)(target + 0.5);
    float sx = (float)(target / xres), sy = (float)(target / yres);
    if (sx > 0.98f && sx < 1.02f && sy > 0.98f && sy < 1.02f)
        return pixClone(pix);
    PIX *grey = pixConvertTo8(pix, 0);
    if (!grey)
        return NULL;
    PIX *scaled = pixScaleGrayLI(grey, sx, sy);
    pixDestroy(&grey);
    return scaled;
}

int ocr_tess_page(struct ocr_tess *t, PIX *pix, double xres, double yres, struct buf *out)
{
    int dpi, rc = start(t);
    if (rc)
        return rc;
    PIX *img = normalise(pix, xres, yres, &dpi);
    if (!img)
        return -EIO;
    TessBaseAPISetImage2(t->api, img);
    TessBaseAPISetSourceResolution(t->api, dpi);
    char *text = TessBaseAPIGetUTF8Text(t->api);
    pixDestroy(&img);
    if (!text) {
        TessBaseAPIClear(t->api);
        return -EIO;
    }
    rc = ocr_text_page(out, text, strlen(text));
    TessDeleteText(text);
    TessBaseAPIClear(t->api);
    return rc;
}

void ocr_tess_close(struct ocr_tess *t)
{
    if (!t)
        return;
    if (t->api) {
        TessBaseAPIEnd(t->api);
        TessBaseAPIDelete(t->api);
    }
    free(t);
}

const char *ocr_tess_versions(void)
{
    static char v[128];
    if (!v[0]) {
        char *lept = getLeptonicaVersion();
        snprintf(v, sizeof(v), "tesseract %s, %s", TessVersion(), lept ? lept : "leptonica");
        free(lept);
    }
    return v;
}
