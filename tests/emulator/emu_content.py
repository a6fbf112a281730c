"""Attachment content generators for rcemu: real, valid files built from scratch.

This module owns the bytes of every attachment the emulator serves.  Each
generator is a pure function of its arguments (no clock, no global random
state), so the same message always yields the same bytes:

- make_pdf      PDF 1.4, one uncompressed content stream per page (grep-able text)
- make_image_pdf  PDF 1.4 whose pages are only a G4 image each (a faxed page)
- make_g4_tiff  little-endian TIFF of G4 (CCITT T.6) fax pages, as fax services keep them
- make_wav      RIFF/WAVE, 8 kHz 8-bit mono PCM, exact duration
- make_mp3      MPEG-1 Layer III frames of silence behind an ID3v2.3 tag
- make_png      8-bit RGB PNG
- make_jpeg     baseline greyscale JFIF (DC-only blocks, Huffman coded)
- make_gif      GIF89a, 128-colour palette, LZW with fixed 8-bit codes

Standard library only.
"""

import struct
import zlib

import emu_g4

__all__ = ["make_pdf", "make_image_pdf", "make_g4_tiff", "make_wav", "make_mp3",
           "make_png", "make_jpeg", "make_gif"]


# --------------------------------------------------------------------- PDF
def _pdf_escape(text):
    out = []
    for ch in text:
        if ch in "()\\":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("?")  # Helvetica/WinAnsi: keep the stream pure ASCII
    return "".join(out)


def make_pdf(pages, title="Fax"):
    """A PDF 1.4 document; pages is a list of pages, each a list of text lines.

    Content streams are not compressed, so every word is grep-able in the file.
    """
    objects = []  # index i holds object number i+1

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    pages_obj = add(None)
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
               b"/Encoding /WinAnsiEncoding >>")
    info = add(("<< /Title (%s) /Producer (rcemu) /Creator (rcemu fax renderer) >>"
                % _pdf_escape(title)).encode("ascii"))
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "16 TL", "72 740 Td"]
        for line in lines:
            ops.append("(%s) Tj T*" % _pdf_escape(line))
        ops.append("ET")
        ops.append("0.5 w 72 60 m 540 60 l S")
        stream = ("\n".join(ops) + "\n").encode("ascii")
        contents = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        page = add(("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                    "/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                    % (pages_obj, font, contents)).encode("ascii"))
        kids.append(page)
    return _pdf_file(objects, catalog, pages_obj, info, kids)


def _pdf_file(objects, catalog, pages_obj, info, kids):
    """Serialise PDF objects (index i = object i+1) with the page tree and xref."""
    objects[catalog - 1] = ("<< /Type /Catalog /Pages %d 0 R >>" % pages_obj).encode("ascii")
    objects[pages_obj - 1] = ("<< /Type /Pages /Kids [%s] /Count %d >>"
                              % (" ".join("%d 0 R" % k for k in kids), len(kids))).encode("ascii")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, catalog, info, xref))
    return bytes(out)


def make_image_pdf(pages, width, xres=204, yres=196, title="Fax"):
    """A PDF 1.4 of image-only pages, as fax services render received faxes.

    pages: a list of pages, each a list of bilevel rows (ints of width bits,
    MSB leftmost, 1 = black).  Each page is one /CCITTFaxDecode (K -1, i.e.
    G4) image XObject drawn over the whole page, whose size in points follows
    from the pixels and the resolution; there is no text layer.
    """
    objects = []

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    pages_obj = add(None)
    info = add(("<< /Title (%s) /Producer (rcemu) /Creator (rcemu fax receiver) >>"
                % _pdf_escape(title)).encode("ascii"))
    kids = []
    for rows in pages:
        g4 = emu_g4.g4_encode(rows, width)
        wpt = width * 72.0 / xres
        hpt = len(rows) * 72.0 / yres
        image = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d "
                    b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode "
                    b"/DecodeParms << /K -1 /Columns %d /Rows %d /EndOfBlock true >> "
                    b"/Length %d >>\nstream\n" % (width, len(rows), width, len(rows), len(g4))
                    + g4 + b"\nendstream")
        stream = ("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q\n" % (wpt, hpt)).encode("ascii")
        contents = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        page = add(("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] "
                    "/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                    % (pages_obj, wpt, hpt, image, contents)).encode("ascii"))
        kids.append(page)
    return _pdf_file(objects, catalog, pages_obj, info, kids)


# -------------------------------------------------------------------- TIFF
def make_g4_tiff(pages, width, xres=204, yres=196):
    """A multi-page little-endian TIFF of G4 (CCITT T.6) pages, one strip each.

    pages: a list of pages, each a list of bilevel rows (ints of width bits,
    MSB leftmost, 1 = black), coded WhiteIsZero as fax TIFFs (Class F) are.
    """
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    ifd_offsets = []
    count = len(pages)
    for page, rows in enumerate(pages):
        data = emu_g4.g4_encode(rows, width)
        height = len(rows)
        if len(out) % 2:
            out += b"\x00"
        strip_off = len(out)
        out += data
        if len(out) % 2:
            out += b"\x00"
        xres_off = len(out)
        out += struct.pack("<II", xres, 1)
        yres_off = len(out)
        out += struct.pack("<II", yres, 1)
        entries = [
            (254, 4, 1, 2),                 # NewSubfileType: page of a multi-page doc
            (256, 4, 1, width),             # ImageWidth
            (257, 4, 1, height),            # ImageLength
            (258, 3, 1, 1),                 # BitsPerSample
            (259, 3, 1, 4),                 # Compression: CCITT T.6 (G4)
            (262, 3, 1, 0),                 # Photometric: WhiteIsZero
            (266, 3, 1, 1),                 # FillOrder: MSB first
            (273, 4, 1, strip_off),         # StripOffsets
            (277, 3, 1, 1),                 # SamplesPerPixel
            (278, 4, 1, height),            # RowsPerStrip
            (279, 4, 1, len(data)),         # StripByteCounts
            (282, 5, 1, xres_off),          # XResolution
            (283, 5, 1, yres_off),          # YResolution
            (293, 4, 1, 0),                 # T6Options: no uncompressed mode
            (296, 3, 1, 2),                 # ResolutionUnit: inch
            (297, 3, 2, page | (count << 16)),  # PageNumber: page, total
        ]
        ifd_offsets.append(len(out))
        out += struct.pack("<H", len(entries))
        for tag_id, typ, n, value in entries:
            if typ == 3 and n == 1:
                out += struct.pack("<HHIHH", tag_id, typ, n, value, 0)
            else:
                out += struct.pack("<HHII", tag_id, typ, n, value)
        out += b"\x00\x00\x00\x00"  # next IFD, patched below
    struct.pack_into("<I", out, 4, ifd_offsets[0])
    for i, off in enumerate(ifd_offsets[:-1]):
        n = struct.unpack_from("<H", out, off)[0]
        struct.pack_into("<I", out, off + 2 + 12 * n, ifd_offsets[i + 1])
    return bytes(out)


# --------------------------------------------------------------------- WAV
def make_wav(seconds, freq=440, comment=""):
    """RIFF/WAVE, 8000 Hz, 8-bit unsigned mono PCM, exactly `seconds` long."""
    rate = 8000
    period = max(2, rate // max(1, freq))
    # one period of a triangle-ish tone, amplitude kept low
    half = period // 2 or 1
    wave = bytearray()
    for i in range(period):
        level = i if i < half else period - i
        wave.append(128 + (level * 48) // half - 24)
    total = rate * seconds
    data = (bytes(wave) * (total // period + 1))[:total]
    info = b""
    if comment:
        text = comment.encode("ascii", "replace") + b"\x00"
        if len(text) % 2:
            text += b"\x00"
        info = b"LIST" + struct.pack("<I", 4 + 8 + len(text)) + b"INFO" + \
            b"ICMT" + struct.pack("<I", len(text)) + text
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + info + \
        b"data" + struct.pack("<I", len(data)) + data
    if len(data) % 2:
        body += b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --------------------------------------------------------------------- MP3
def _syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def make_mp3(seconds, title=""):
    """MPEG-1 Layer III, 32 kHz mono 32 kbit/s frames of digital silence."""
    frames = []
    tag = b""
    if title:
        text = b"\x00" + title.encode("latin-1", "replace")
        frame = b"TIT2" + struct.pack(">I", len(text)) + b"\x00\x00" + text
        tag = b"ID3\x03\x00\x00" + _syncsafe(len(frame)) + frame
    # header: sync, MPEG-1, Layer III, no CRC | 32 kbit/s, 32 kHz, no padding |
    # mono, original.  144 * 32000 / 32000 = 144 bytes a frame, 1152 samples.
    header = b"\xff\xfb\x18\xc4"
    frame = header + bytes(17) + bytes(144 - 4 - 17)
    count = -(-seconds * 32000 // 1152)
    frames.append(frame * count)
    return tag + b"".join(frames)


# --------------------------------------------------------------------- PNG
def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


_ADD_TABLES = [bytes((v + s) & 0xFF for v in range(256)) for s in range(256)]
_ADD128_TABLES = [bytes((v + s) % 128 for v in range(256)) for s in range(128)]


def make_png(width, height, hue=0, comment=""):
    """An 8-bit RGB PNG with a gradient whose colours depend on hue."""
    red = bytes(((x * 255 // max(1, width - 1)) + hue) & 0xFF for x in range(width))
    blue = bytes((hue * 7 + x) & 0xFF for x in range(width))
    raw = bytearray()
    row = bytearray(width * 3)
    row[0::3] = red
    for y in range(height):
        row[1::3] = bytes([(y * 255 // max(1, height - 1)) & 0xFF]) * width
        row[2::3] = blue.translate(_ADD_TABLES[y & 0xFF])
        raw.append(0)  # filter: none
        raw += row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    if comment:
        out += _png_chunk(b"tEXt", b"Comment\x00" + comment.encode("latin-1", "replace"))
    out += _png_chunk(b"IDAT", zlib.compress(bytes(raw), 0)) + _png_chunk(b"IEND", b"")
    return out


# -------------------------------------------------------------------- JPEG
# Standard luminance DC table (ITU T.81 Annex K.3).
_DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
_DC_VALS = list(range(12))
# A two-symbol AC table: EOB ("0") and ZRL ("10"); only EOB is used.
_AC_BITS = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
_AC_VALS = [0x00, 0xF0]


def _huff_codes(bits, vals):
    codes = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _BitWriter:
    """Collects Huffman bits as a '0'/'1' string; flush pads with 1s and stuffs 0xFF."""

    def __init__(self):
        self.bits = []

    def put(self, value, length):
        self.bits.append(format(value, "0%db" % length))

    def flush(self):
        bits = "".join(self.bits)
        bits += "1" * (-len(bits) % 8)
        if not bits:
            return b""
        data = int(bits, 2).to_bytes(len(bits) // 8, "big")
        return data.replace(b"\xff", b"\xff\x00")


def make_jpeg(width, height, shade=0, comment=""):
    """Baseline greyscale JPEG; each 8x8 block is flat (DC only), making a gradient."""
    dc_codes = _huff_codes(_DC_BITS, _DC_VALS)
    ac_codes = _huff_codes(_AC_BITS, _AC_VALS)
    eob_code, eob_len = ac_codes[0x00]
    bw = _BitWriter()
    prev = 0
    bx = (width + 7) // 8
    by = (height + 7) // 8
    for j in range(by):
        for i in range(bx):
            level = (40 + (i * 160) // max(1, bx) + (j * 40) // max(1, by) + shade) % 256
            dc = (level - 128) * 8
            diff = dc - prev
            prev = dc
            mag = abs(diff)
            cat = mag.bit_length()
            code, length = dc_codes[cat]
            bw.put(code, length)
            if cat:
                bits = diff if diff > 0 else diff + (1 << cat) - 1
                bw.put(bits, cat)
            bw.put(eob_code, eob_len)
    scan = bw.flush()

    def segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    out = b"\xff\xd8"
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if comment:
        out += segment(0xFE, comment.encode("latin-1", "replace"))
    out += segment(0xDB, b"\x00" + b"\x01" * 64)
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    out += segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALS))
    out += segment(0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALS))
    out += segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    out += scan + b"\xff\xd9"
    return out


# --------------------------------------------------------------------- GIF
def make_gif(width, height, hue=0, comment=""):
    """GIF89a with a 128-colour table.  LZW codes stay 8 bits wide because a
    Clear code is sent before the code table can grow past 255 entries."""
    palette = bytearray()
    for i in range(128):
        palette += bytes(((i * 2 + hue) & 0xFF, (i * 5) & 0xFF, (255 - i * 2) & 0xFF))
    base = bytes((x * 127) // max(1, width - 1) for x in range(width))
    pixels = bytearray()
    for y in range(height):
        pixels += base.translate(_ADD128_TABLES[(y + hue) % 128])
    clear, eoi = 128, 129
    codes = bytearray()
    for start in range(0, len(pixels), 126):
        codes.append(clear)
        codes += pixels[start:start + 126]
    codes.append(eoi)
    blocks = bytearray()
    for start in range(0, len(codes), 255):
        chunk = codes[start:start + 255]
        blocks.append(len(chunk))
        blocks += chunk
    blocks.append(0)
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", width, height, 0xF6, 0, 0)  # GCT, 8-bit res, 128 entries
    out += palette
    if comment:
        text = comment.encode("latin-1", "replace")[:255]
        out += b"\x21\xfe" + bytes([len(text)]) + text + b"\x00"
    out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    out += b"\x07" + blocks  # LZW minimum code size 7 (codes start 8 bits wide)
    out += b"\x3b"
    return bytes(out)
