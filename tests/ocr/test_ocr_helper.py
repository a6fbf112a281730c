"""rcfs-ocr and ocr_run on the emulator's fax corpus and on hostile documents.

Run: /usr/bin/python3 -m pytest -q tests/ocr   (after building; RCFS_OCR and
OCRRUN override build/ocr/rcfs-ocr and build/ocr/ocrrun: scripts/test runs the
sanitizer build's ocrrun, i.e. ocr_run under ASan, with the normal helper,
whose memory limit AddressSanitizer could not live with).

What is checked: recall of every inbound (image-only) fax's distinctive words
(the word-list words and the unique reference the emulator records for it)
and no hit of a distinctive word of any other fax; a PDF with a text layer
gives exactly that text (without starting Tesseract); and each way the
helper can fail -- a corrupt PDF, a TIFF bomb, SIGKILL mid-run, the
deadline, the memory and CPU limits, a missing language -- is a clean
failure of ocr_run with one reason, never a hang or a crash of the caller.
"""

import concurrent.futures
import os
import re
import signal
import struct
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.lib.emu import Emulator  # noqa: E402

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
TIMEOUT = 300  # seconds a single run may take before the test gives up on it


def built(var, rel):
    """$VAR (scripts/test sets it), else the normal build's binary."""
    path = os.environ.get(var) or os.path.join(ROOT, "build", "ocr", rel)
    if not os.access(path, os.X_OK):
        pytest.fail("%s not built at %s: meson setup build && ninja -C build (or set %s)"
                    % (rel, path, var))
    return path


@pytest.fixture(scope="module")
def helper():
    return built("RCFS_OCR", "rcfs-ocr")


@pytest.fixture(scope="module")
def ocrrun(helper):
    path = built("OCRRUN", "ocrrun")

    def run(doc, *opts, popen=False):
        argv = [path, "-H", helper] + [str(o) for o in opts] + [str(doc)]
        if popen:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT)
        err = r.stderr.decode("utf-8", "replace")
        for mark in SANITIZER_MARKS:
            assert mark not in err, err[-4000:]
        return r.returncode, r.stdout.decode("utf-8"), err
    return run


class Fax:
    """One fax's rendered document from the emulator, with its recorded words."""

    def __init__(self, path, record, truth):
        self.path = path
        self.record = record
        self.words = truth["content_words"]
        self.inbound = record["direction"] == "Inbound"
        self.pages = record["faxPageCount"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every fax of a small generated mailbox, saved to files.  The time
    anchor is fixed too: the dates printed on the pages are then the same
    on every run, and so is every pixel OCR reads."""
    d = tmp_path_factory.mktemp("faxes")
    emu = Emulator(workdir=str(d), messages=60, extensions=2, seed=11,
                   extra_args=("--anchor-ms", "1767225600000")).start()
    faxes = []
    try:
        for ext in emu.info["extensions"]:
            for m in emu.messages(ext["id"]):
                if m["type"] != "Fax" or m["availability"] == "Purged":
                    continue
                t = emu.truth(m["id"])
                rec = t["record"]
                att = [a for a in rec["attachments"] if a["type"] == "RenderedDocument"][0]
                ext_name = "tif" if att["contentType"] == "image/tiff" else "pdf"
                path = d / ("%s.%s" % (rec["id"], ext_name))
                path.write_bytes(emu.content(rec["id"], att["id"]))
                faxes.append(Fax(str(path), rec, t))
    finally:
        emu.stop()
    assert sum(f.inbound for f in faxes) >= 8 and sum(not f.inbound for f in faxes) >= 3
    return faxes


def tokens(text):
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def read_inbound(corpus, ocrrun):
    """({path: (rc, text, err)} of every inbound fax read two at a time,
    CPU seconds all the helpers took)."""
    inbound = [f for f in corpus if f.inbound]
    t0 = os.times()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        texts = dict(zip((f.path for f in inbound), pool.map(lambda f: ocrrun(f.path), inbound)))
    t1 = os.times()
    return texts, (t1.children_user - t0.children_user + t1.children_system -
                   t0.children_system)


# ------------------------------------------------------------------ recall

def test_recall_of_distinctive_words_on_the_corpus(corpus, read_inbound):
    vocabulary = set()
    for f in corpus:
        vocabulary.update(f.words)
    found = wanted = pages = 0
    texts, cpu = read_inbound
    report = []
    for f in corpus:
        if not f.inbound:
            continue
        rc, text, err = texts[f.path]
        assert rc == 0, (f.path, err)
        assert text.count("\f") == f.pages - 1, (f.path, text)
        got = tokens(text)
        hits = [w for w in f.words if w in got]
        false = sorted(w for w in vocabulary - set(f.words) if w in got)
        assert not false, (f.path, false, text)
        # every fax: at most one distinctive word of its 4 to 6 missed
        assert len(hits) >= len(f.words) - 1, (f.path, f.words, text)
        found += len(hits)
        wanted += len(f.words)
        pages += f.pages
        report.append("%s %d/%d" % (os.path.basename(f.path), len(hits), len(f.words)))
    recall = found / wanted
    print("\nrecall %d/%d = %.3f over %d image pages; %.2f pages per CPU second\n%s"
          % (found, wanted, recall, pages, pages / max(cpu, 0.01), "\n".join(report)))
    assert recall >= 0.90


def test_inbound_faxes_are_images_only(corpus):
    """pdftotext finds nothing in an inbound fax: its text can only come from OCR."""
    pdfs = [f for f in corpus if f.inbound and f.path.endswith(".pdf")]
    assert pdfs
    for f in pdfs:
        r = subprocess.run(["pdftotext", f.path, "-"], capture_output=True, check=True)
        assert r.stdout.strip(b"\f\n ") == b"", f.path


def test_g4_tiff_faxes_decode_cleanly(corpus):
    tiffs = [f for f in corpus if f.path.endswith(".tif")]
    assert tiffs
    for f in tiffs:
        r = subprocess.run(["tiffinfo", "-D", f.path], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), (f.path, r.stderr)
        assert r.stdout.count("Compression Scheme: CCITT Group 4") == f.pages
        assert r.stdout.count("Image Width: 1728") == f.pages
        yres = "196" if f.record["faxResolution"] == "High" else "98"
        assert r.stdout.count("Resolution: 204, %s pixels/inch" % yres) == f.pages


# -------------------------------------------------------------- text layer

def pdf_text_lines(data):
    """The lines the emulator's text PDFs show, page by page (their Tj strings)."""
    pages = []
    for stream in re.findall(rb"stream\n(.*?)endstream", data, re.S):
        if b"BT" not in stream:
            continue
        lines = [re.sub(rb"\\(.)", rb"\1", s).decode("latin-1")
                 for s in re.findall(rb"\(((?:[^\\)]|\\.)*)\) Tj", stream)]
        pages.append(lines)
    return pages


def test_text_layer_pdf_gives_exactly_its_text(corpus, ocrrun):
    outbound = [f for f in corpus if not f.inbound]
    assert outbound
    for f in outbound:
        with open(f.path, "rb") as fh:
            pages = pdf_text_lines(fh.read())
        assert len(pages) == f.pages
        want = "\f".join("\n".join(lines) + "\n" for lines in pages)
        # A language Tesseract does not have: the text layer never needs it.
        rc, out, err = ocrrun(f.path, "-l", "xx_nolang")
        assert rc == 0, err
        assert out == want


def test_text_layer_from_a_cache_object_by_descriptor(corpus, ocrrun, tmp_path):
    """A cache object is the content plus a trailer: only input_size bytes count."""
    f = [f for f in corpus if not f.inbound][0]
    with open(f.path, "rb") as fh:
        data = fh.read()
    obj = tmp_path / "object"
    obj.write_bytes(data + b"\x00RCFSTRAILER" * 8)
    rc, want, err = ocrrun(f.path)
    assert rc == 0, err
    rc, out, err = ocrrun(obj, "-F", "-s", len(data))
    assert rc == 0 and out == want, err


def test_type_comes_from_the_bytes_not_the_name(corpus, ocrrun, tmp_path):
    f = [f for f in corpus if not f.inbound][0]
    disguised = tmp_path / "fax.tif"
    disguised.write_bytes(open(f.path, "rb").read())
    rc, out, err = ocrrun(disguised)
    assert rc == 0 and out == ocrrun(f.path)[1]
    png = tmp_path / "fax.pdf"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    rc, out, err = ocrrun(png)
    assert rc == 1 and "exit 3 (bad document)" in err and "neither a PDF nor a TIFF" in err


# ------------------------------------------------------------ hostile input

def g4_tiff(width, height, data=b"\x00\x10\x01"):
    """A one-page G4 TIFF declaring width x height over a few bytes of data."""
    out = bytearray(b"II*\x00\x08\x00\x00\x00")
    entries = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 0),
               (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(data))]
    strip = 8 + 2 + 12 * len(entries) + 4
    out += struct.pack("<H", len(entries))
    for tag, typ, value in entries:
        value = strip if tag == 273 else value
        fmt = "<HHIHH" if typ == 3 else "<HHII"
        out += struct.pack(fmt, tag, typ, 1, value, 0) if typ == 3 else \
            struct.pack(fmt, tag, typ, 1, value)
    out += b"\x00\x00\x00\x00" + data
    return bytes(out)


def test_tiff_bomb_is_refused_before_decoding(ocrrun, tmp_path):
    for w, h in ((100000, 100000), (1728, 10 ** 7)):
        bomb = tmp_path / ("bomb-%d.tif" % w)
        bomb.write_bytes(g4_tiff(w, h))
        rc, out, err = ocrrun(bomb, "-T", 60000)
        assert rc == 1 and out == ""
        assert "exit 4 (document over a limit)" in err and "TIFF over the limits" in err, err


def test_corrupt_pdfs_fail_cleanly(corpus, ocrrun, tmp_path):
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    rc, out, err = ocrrun(garbage)
    assert rc == 1 and out == "" and "exit 3 (bad document)" in err, err
    # Damaged copies of a real fax: text or a clean failure, never a hang.
    src = open([f for f in corpus if f.inbound and f.path.endswith(".pdf")][0].path, "rb").read()
    for i, damaged in enumerate((src[:len(src) // 2], src.replace(b"/CCITTFaxDecode", b"/Nope"),
                                 src.replace(b"/Columns 1728", b"/Columns 99999999"),
                                 src.replace(b"/Width 1728", b"/Width 2000000000"))):
        p = tmp_path / ("damaged-%d.pdf" % i)
        p.write_bytes(damaged)
        rc, out, err = ocrrun(p, "-T", 120000)
        assert rc == 0 or (rc == 1 and "ocrrun: rc=-5 rcfs-ocr" in err), (i, rc, err)


# ---------------------------------------------------------- killed, limits

def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.fixture(scope="module")
def long_fax(tmp_path_factory):
    """A 12-page G4 TIFF of text drawn as the emulator draws faxes: several
    CPU seconds of OCR on any machine, so runs can be killed mid-way."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
    import emu_content
    import emu_faxpage
    lines = ["A long letter"] + \
        ["Line %d of an ordinary letter with ordinary words in it." % i for i in range(20)]
    pages = [emu_faxpage.draw_page(lines, "long:%d" % p) for p in range(12)]
    path = tmp_path_factory.mktemp("long") / "long.tif"
    path.write_bytes(emu_content.make_g4_tiff(pages, emu_faxpage.WIDTH))
    return str(path)


def test_helper_killed_mid_run(long_fax, ocrrun):
    p = ocrrun(long_fax, popen=True)
    kids = []
    deadline = time.monotonic() + 60
    while not kids and time.monotonic() < deadline and p.poll() is None:
        kids = children(p.pid)
        time.sleep(0.005)
    assert kids, "the helper never started"
    os.kill(kids[0], signal.SIGKILL)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 1 and out == b""
    assert b"died of SIGKILL" in err, err


def test_deadline(long_fax, ocrrun):
    rc, out, err = ocrrun(long_fax, "-T", 1000)
    assert rc == 1 and out == ""
    assert "killed at its deadline (1000 ms)" in err, err


def test_memory_limit(corpus, ocrrun):
    pdf = [f for f in corpus if f.inbound and f.path.endswith(".pdf")][0]
    tif = [f for f in corpus if f.inbound and f.path.endswith(".tif")][0]
    # 64 MiB: too little to decode a page; 100 MiB: to render one, or for
    # Tesseract's C++ allocations (std::bad_alloc, then SIGABRT).
    for f, mib in ((pdf, 64), (pdf, 100), (tif, 64), (tif, 100)):
        rc, out, err = ocrrun(f.path, "-m", mib)
        assert rc == 1 and out == "" and "ocrrun: rc=-5 rcfs-ocr" in err, err
        assert "out of memory" in err.lower() or "bad_alloc" in err, err


def test_cpu_limit(long_fax, ocrrun):
    rc, out, err = ocrrun(long_fax, "-c", 1, "-T", 120000)
    assert rc == 1 and out == "" and "SIGXCPU (CPU limit)" in err, err


def test_missing_language_fails_cleanly(corpus, ocrrun):
    f = [f for f in corpus if f.inbound][0]
    rc, out, err = ocrrun(f.path, "-l", "xx_nolang")
    assert rc == 1 and "exit 5 (OCR engine cannot start)" in err and "xx_nolang" in err, err


def test_language_check(ocrrun, helper):
    path = built("OCRRUN", "ocrrun")
    r = subprocess.run([path, "-H", helper, "-l", "eng+deu", "-L"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([path, "-H", helper, "-l", "eng+xx_nolang", "-L"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "exit 5 (OCR engine cannot start)" in r.stderr, r.stderr
    assert "no language \"xx_nolang\"" in r.stderr


def test_two_languages(corpus, ocrrun, read_inbound):
    f = [f for f in corpus if f.inbound][0]
    rc, out, err = ocrrun(f.path, "-l", "eng+deu")
    assert rc == 0, err
    assert set(f.words) & tokens(out)


def test_parallel_runs_agree(corpus, ocrrun, read_inbound):
    f = [f for f in corpus if f.inbound][0]
    rc, out, err = ocrrun(f.path, "-j", 2)
    assert rc == 0, err
    assert out == read_inbound[0][f.path][1]


# ----------------------------------------------------------------- sandbox

def test_helper_cannot_reach_the_network(helper):
    r = subprocess.run([helper, "--probe-sandbox"], capture_output=True, text=True,
                       timeout=60)
    lines = r.stdout.splitlines()
    for what in ("socket(AF_INET, SOCK_STREAM)", "socket(AF_INET6, SOCK_STREAM)",
                 "socket(AF_INET, SOCK_DGRAM)", "socket(AF_UNIX, SOCK_STREAM)",
                 "socket(AF_NETLINK, SOCK_RAW)", "fork", "execve"):
        assert what + ": refused" in lines, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
    if os.geteuid() == 0:
        assert "network namespace: new" in lines and "uid: 65534" in lines


def test_version_line(ocrrun, helper):
    r = subprocess.run([built("OCRRUN", "ocrrun"), "-H", helper, "-V"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    assert re.match(r"rcfs-ocr \S+ \(text format \d+; tesseract \S+", r.stdout), r.stdout


# ------------------------------------------------------- the emulator's G4

def test_emulator_g4_coder_round_trips_through_libtiff(tmp_path):
    """Every run length in both colours, and drawn pages, decode to the same pixels."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
    import emu_content
    import emu_faxpage
    width = emu_faxpage.WIDTH
    full = (1 << width) - 1
    rows = []
    for n in list(range(1, 130)) + list(range(192, width, 64)) + [width - 1, width]:
        run = ((1 << n) - 1) << ((width - n) // 2)
        rows += [run, full ^ run, 0]
    pages = [rows,
             emu_faxpage.draw_page(["Hello, fax 0123456789 !@#$%^&*()"], "rt:1"),
             emu_faxpage.draw_page(["Low resolution"], "rt:2", high=False)]
    tif = tmp_path / "g4.tif"
    tif.write_bytes(emu_content.make_g4_tiff(pages, width))
    for i, want in enumerate(pages):
        pbm = subprocess.run(["convert", "%s[%d]" % (tif, i), "pbm:-"], capture_output=True,
                             check=True).stdout
        head = b"P4\n%d %d\n" % (width, len(want))
        assert pbm.startswith(head)
        got = pbm[len(head):]
        stride = width // 8
        assert [int.from_bytes(got[y * stride:(y + 1) * stride], "big")
                for y in range(len(want))] == want, i
