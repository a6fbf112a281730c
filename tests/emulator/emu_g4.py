"""CCITT T.6 (Group 4) encoding of bilevel rows, as fax machines and TIFF store them.

This module owns the G4 code tables and the encoder the emulator's image
faxes use (emu_faxpage draws the pages; emu_content wraps the codes in a TIFF
or a PDF /CCITTFaxDecode image).  A page is a list of rows, each row a Python
int of `width` bits whose most significant bit is the leftmost pixel, 1 =
black.  The output is the T.6 bit stream (two-dimensional coding against the
previous row, an all-white row above the first), ending with EOFB, padded to
a byte with zero bits.  Pure functions, standard library only.
"""

import bisect

__all__ = ["g4_encode", "MAX_WIDTH"]

MAX_WIDTH = 2560

# ITU-T T.4 Tables 2 and 3: terminating codes (run 0..63), then make-up codes.
_WHITE_TERM = (
    "00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
    "10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
    "101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
    "0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
    "00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111",
    "00101000", "00101001", "00101010", "00101011", "00101100", "00101101", "00000100",
    "00000101", "00001010", "00001011", "01010010", "01010011", "01010100", "01010101",
    "00100100", "00100101", "01011000", "01011001", "01011010", "01011011", "01001010",
    "01001011", "00110010", "00110011", "00110100")
_BLACK_TERM = (
    "0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
    "000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
    "0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100",
    "00000110111", "00000101000", "00000010111", "00000011000", "000011001010",
    "000011001011", "000011001100", "000011001101", "000001101000", "000001101001",
    "000001101010", "000001101011", "000011010010", "000011010011", "000011010100",
    "000011010101", "000011010110", "000011010111", "000001101100", "000001101101",
    "000011011010", "000011011011", "000001010100", "000001010101", "000001010110",
    "000001010111", "000001100100", "000001100101", "000001010010", "000001010011",
    "000000100100", "000000110111", "000000111000", "000000100111", "000000101000",
    "000001011000", "000001011001", "000000101011", "000000101100", "000001011010",
    "000001100110", "000001100111")
# Make-up codes for 64, 128, ... 1728.
_WHITE_MAKEUP = (
    "11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
    "01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100",
    "011010101", "011010110", "011010111", "011011000", "011011001", "011011010",
    "011011011", "010011000", "010011001", "010011010", "011000", "010011011")
_BLACK_MAKEUP = (
    "0000001111", "000011001000", "000011001001", "000001011011", "000000110011",
    "000000110100", "000000110101", "0000001101100", "0000001101101", "0000001001010",
    "0000001001011", "0000001001100", "0000001001101", "0000001110010", "0000001110011",
    "0000001110100", "0000001110101", "0000001110110", "0000001110111", "0000001010010",
    "0000001010011", "0000001010100", "0000001010101", "0000001011010", "0000001011011",
    "0000001100100", "0000001100101")
# T.4 Table 3 (continued): make-up codes for 1792 ... 2560, both colours.
_EXT_MAKEUP = (
    "00000001000", "00000001100", "00000001101", "000000010010", "000000010011",
    "000000010100", "000000010101", "000000010110", "000000010111", "000000011100",
    "000000011101", "000000011110", "000000011111")

# T.4 Table 4: two-dimensional mode codes; vertical modes by a1 - b1.
_PASS = "0001"
_HORIZONTAL = "001"
_VERTICAL = {0: "1", 1: "011", 2: "000011", 3: "0000011",
             -1: "010", -2: "000010", -3: "0000010"}
_EOFB = "000000000001" * 2


def _run_code(length, black):
    term = _BLACK_TERM if black else _WHITE_TERM
    makeup = _BLACK_MAKEUP if black else _WHITE_MAKEUP
    out = []
    while length > 2560:
        out.append(_EXT_MAKEUP[-1])
        length -= 2560
    if length >= 1792:
        out.append(_EXT_MAKEUP[(length - 1792) // 64])
        length %= 64
    elif length >= 64:
        out.append(makeup[length // 64 - 1])
        length %= 64
    out.append(term[length])
    return "".join(out)


_RUNS = ({n: _run_code(n, False) for n in range(MAX_WIDTH + 1)},
         {n: _run_code(n, True) for n in range(MAX_WIDTH + 1)})


def changes(row, width):
    """Columns where the colour changes (an imaginary white pixel before column 0)."""
    t = row ^ (row >> 1)
    out = []
    top = width - 1
    while t:
        b = t.bit_length() - 1
        out.append(top - b)
        t ^= 1 << b
    return out


def _code_row(cur, ref, width, out):
    """Append the 2-D codes of one row: cur and ref are change lists ending
    with three sentinels (width, width, width)."""
    a0, colour = -1, 0
    runs = _RUNS
    while True:
        # b1: first change on the reference line right of a0 whose new colour
        # is the opposite of a0's (changes to black have even indices).
        i = bisect.bisect_right(ref, a0)
        if (i & 1) != colour:
            i += 1
        b1, b2 = ref[i], ref[i + 1]
        j = bisect.bisect_right(cur, a0)
        a1 = cur[j]
        if b2 < a1:
            out.append(_PASS)
            a0 = b2
            continue
        d = a1 - b1
        if -3 <= d <= 3:
            out.append(_VERTICAL[d])
            a0 = a1
            colour ^= 1
        else:
            a2 = cur[j + 1]
            out.append(_HORIZONTAL)
            out.append(runs[colour][a1 - max(a0, 0)])
            out.append(runs[colour ^ 1][a2 - a1])
            a0 = a2
        if a0 >= width:
            return


def g4_encode(rows, width):
    """The T.6 stream of rows (ints of width bits, MSB leftmost, 1 = black)."""
    if not 0 < width <= MAX_WIDTH:
        raise ValueError("width %d" % width)
    out = []
    sentinel = [width, width, width]
    ref = sentinel
    mask = (1 << width) - 1
    for row in rows:
        cur = changes(row & mask, width) + sentinel
        if cur == ref:
            out.append("1" * (len(cur) - 2))   # every change continues straight down (V0)
        else:
            _code_row(cur, ref, width, out)
        ref = cur
    out.append(_EOFB)
    bits = "".join(out)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")
