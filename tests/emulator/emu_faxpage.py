"""Inbound fax pages as a fax machine scans them: text drawn into bilevel rows.

This module owns how an image fax page looks.  draw_page() lays text lines
out on a 1728-pixel-wide page (8.5 inches at 204 dpi; 2200 rows at 196 dpi,
1100 at 98 dpi for Low resolution) with the 12 pt glyphs of emu_faxfont
(generated from Debian's Liberation fonts by make_fax_font.py), then spoils it a
little as a real scan is: the page is skewed by a fraction of a degree, glyph
edges are ragged and specks of dust are scattered over it.  Every pixel is a
pure function of the arguments (the randomness comes from `key`), so the
emulator serves the same bytes for the same seed.

A row is an int of WIDTH bits, most significant bit leftmost, 1 = black
(what emu_g4.g4_encode takes).  Standard library only.
"""

import base64
import math
import random
import zlib

import emu_faxfont

__all__ = ["WIDTH", "HIGH_ROWS", "FONT_NAMES", "draw_page"]

WIDTH = 1728          # pixels across an ITU fax page (A4/Letter width at 204 dpi)
HIGH_ROWS = 2200      # rows of a Letter page at 196 dpi (fine resolution)
LEFT = 180            # left margin, pixels
TOP = 150             # first text row (fine resolution)
PITCH = 62            # rows from one text line to the next (about 1.5 lines)
FONT_NAMES = tuple(sorted(emu_faxfont.FONTS))

_fonts = {}


def _font(name):
    """(height, space advance, {char: (width, [row ints])}) of a font, decoded once."""
    got = _fonts.get(name)
    if got is not None:
        return got
    height, space, parts = emu_faxfont.FONTS[name]
    blob = zlib.decompress(base64.b64decode("".join(parts)))
    glyphs = {}
    pos = 0
    for ch in emu_faxfont.CHARS:
        w = blob[pos]
        nbytes = (w + 7) // 8
        pos += 1
        rows = []
        for _ in range(height):
            v = int.from_bytes(blob[pos:pos + nbytes], "big") >> (nbytes * 8 - w)
            rows.append(v)
            pos += nbytes
        glyphs[ch] = (w, rows)
    got = _fonts[name] = (height, space, glyphs)
    return got


def _draw_text(page, font, x, y, text, slope):
    """OR text into page with its baseline sloping by `slope` rows per column."""
    height, space, glyphs = font
    nrows = len(page)
    for ch in text:
        if ch == " ":
            x += space
            continue
        w, rows = glyphs.get(ch, glyphs["?"])
        if x + w > WIDTH:
            return
        shift = WIDTH - x - w
        top = y + int(round((x - WIDTH / 2) * slope))
        for r, bits in enumerate(rows):
            if bits and 0 <= top + r < nrows:
                page[top + r] |= bits << shift
        x += w


def _roughen(page, rng):
    """Fax-scan damage: ragged glyph edges and scattered specks."""
    mask = (1 << WIDTH) - 1
    for y, row in enumerate(page):
        if row:
            edges = (row ^ (row >> 1)) & mask
            page[y] = row ^ (edges & rng.getrandbits(WIDTH) & rng.getrandbits(WIDTH))
    for _ in range(120 + rng.randrange(120)):
        x = rng.randrange(WIDTH - 4)
        y = rng.randrange(len(page) - 3)
        size = 1 + (rng.random() < 0.3)
        dot = ((1 << size) - 1) << (WIDTH - x - size)
        for r in range(size):
            page[y + r] |= dot


def draw_page(lines, key, high=True, font=None):
    """Rows of a fax page showing lines of text (ASCII; others print as '?').

    key: any string; seeds skew, raggedness and specks.  high: 196 dpi rows
    (else 98 dpi, every other scan line).  font: one of FONT_NAMES (default:
    chosen by key).  Returns a list of HIGH_ROWS (or HIGH_ROWS / 2) ints.
    """
    rng = random.Random("faxpage:" + key)
    font = _font(font or FONT_NAMES[rng.randrange(len(FONT_NAMES))])
    slope = math.tan(math.radians(rng.uniform(-0.7, 0.7)))
    page = [0] * HIGH_ROWS
    y = TOP + rng.randrange(20)
    x = LEFT + rng.randrange(24)
    for text in lines:
        if y + PITCH > HIGH_ROWS - TOP:
            break
        _draw_text(page, font, x, y, text, slope)
        y += PITCH
    _roughen(page, rng)
    return page if high else page[::2]
