"""fax.txt (issue 14): every fax folder shows the text of its document, made by
the sandboxed OCR helper (text layer or Tesseract), kept in the content cache.

What is checked, on real mounts of the emulator's image-only fax corpus:
grep -r finds the distinctive words of the image faxes (recall >= 90%, no
false hits) with one download per fax for fax and text together; a text
layer comes out exactly; listing costs nothing; sizes are exact; the text
survives a remount without a download or an OCR run; a download by anyone
makes the text in the background, and a person's fax.txt goes before that
work; a corrupt PDF, a TIFF bomb, a helper killed mid-run and a helper
slower than the call's deadline cost EIO on that fax.txt only; ocr=off hides
it; a language that is not installed fails the mount with one line.

OCR time is kept small: one corpus of 20 messages (seed 6, a fixed time
anchor so every run OCRs the same pixels): three live image faxes of both
kinds (G4 TIFF and image-only PDF, 8 pages) and one outbound PDF with a text
layer.  Tests that need a slow or dying helper run a wrapper script around
the real one (RCFS_OCR_HELPER).  The test harness mounts with ocr=off; these
tests turn it on (one checks rcfs's own default).
"""

import errno
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import ocr_helper, sanitizer_env  # noqa: E402
from tests.lib.wait import must as wait_for  # noqa: E402

CORPUS = dict(messages=20, extensions=1, seed=6, extra_args=("--anchor-ms", "1767225600000"))
MADE = re.compile(r"fax\.txt of message (\d+): \d+ bytes made by rcfs-ocr")


# ------------------------------------------------------------------ helpers

def top(m, emu):
    return m.p(emu.extensions()[0]["extensionNumber"])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mid_of(folder_name):
    return folder_name.rsplit("_", 1)[1]


def faxes(m, emu, folder="Fax"):
    """{message id: (folder path, truth)} of the faxes in a folder."""
    d = os.path.join(top(m, emu), folder)
    return {mid_of(n): (os.path.join(d, n), emu.truth(mid_of(n))) for n in sorted(os.listdir(d))
            if emu.truth(mid_of(n))["record"]["type"] == "Fax"}


def is_image(truth):
    return truth["record"]["direction"] == "Inbound"


def rendered(truth):
    return [a for a in truth["record"]["attachments"] if a["type"] == "RenderedDocument"][0]


def made_by_ocr(m, all_runs=False):
    """Message ids whose text the helper made, per the debug log."""
    return MADE.findall(m.log(all_runs=all_runs))


def pdf_text_lines(data):
    """The lines the emulator's text PDFs show, page by page (their Tj strings)."""
    pages = []
    for stream in re.findall(rb"stream\n(.*?)endstream", data, re.S):
        if b"BT" not in stream:
            continue
        pages.append([re.sub(rb"\\(.)", rb"\1", s).decode("latin-1")
                      for s in re.findall(rb"\(((?:[^\\)]|\\.)*)\) Tj", stream)])
    return pages


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


def sleeping_helpers(m):
    """The wrapper helpers of this mount that sleep instead of reading."""
    out = []
    for pid in children(m.proc.pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if f.read().split(b"\0")[0] == b"sleep":
                    out.append(pid)
        except OSError:
            pass
    return out


def wrapper(tmp_path, marker, mode):
    """A helper that runs the real one, except while `marker` exists: then
    mode "die" prints some text and sleeps (to be killed), mode "slow"
    sleeps 6 s first.  -V and --check-lang always go straight through."""
    real = ocr_helper()
    assert real, "rcfs-ocr is not built"
    stall = {"die": 'printf "partial text"; exec sleep 600',
             "slow": "sleep 6"}[mode]
    path = tmp_path / ("ocr-%s" % mode)
    path.write_text('#!/bin/sh\n'
                    'case " $* " in *" -V "*|*" --check-lang "*) exec %s "$@";; esac\n'
                    'if [ -e %s ]; then %s; fi\n'
                    'exec %s "$@"\n' % (real, marker, stall, real))
    path.chmod(0o755)
    return str(path)


def ocr_mount(make_mount, emu, opts=None, **kw):
    """A mount with fax.txt (the test harness turns it off by default)."""
    o = {"ocr": "on"}
    o.update(opts or {})
    return make_mount(emu, opts=o, **kw)


def with_helper(path):
    env = sanitizer_env()
    env["RCFS_OCR_HELPER"] = path
    return env


# ------------------------------------------------------------ the main path

def test_listing_costs_nothing_and_only_faxes_have_text(make_emu, make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu, args=["-d"], opts={"ocr": None}).start()   # rcfs's default
    t = top(m, emu)
    emu.reset_counts()
    subprocess.run(["ls", "-R", t], check=True, stdout=subprocess.DEVNULL)
    found = subprocess.run(["find", t, "-name", "fax.txt"], check=True, capture_output=True,
                           text=True).stdout.split()
    want = set()
    for folder in ("Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted"):
        for name in os.listdir(os.path.join(t, folder)):
            files = os.listdir(os.path.join(t, folder, name))
            rec = emu.truth(mid_of(name))["record"]
            if rec["type"] == "Fax":
                assert files[-1] == "fax.txt", files   # after the fax itself
                want.add(os.path.join(t, folder, name, "fax.txt"))
            else:
                assert "fax.txt" not in files, (folder, files)
                with pytest.raises(FileNotFoundError):
                    os.stat(os.path.join(t, folder, name, "fax.txt"))
    assert set(found) == want and len(want) == 5
    routes = emu.counts()["routes"]
    assert routes.get("content", 0) == 0, routes
    assert made_by_ocr(m) == []


def test_grep_finds_image_faxes_with_one_download_and_text_survives_remount(make_emu,
                                                                            make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu, args=["-d"]).start()
    fax_dir = os.path.join(top(m, emu), "Fax")
    fx = faxes(m, emu)
    images = {mid: v for mid, v in fx.items() if is_image(v[1])}
    assert len(images) == 3 and len(fx) == 4
    vocabulary = sorted({w for _, t in images.values() for w in t["content_words"]})
    emu.reset_counts()
    hits = {}
    for word in vocabulary:
        r = subprocess.run(["grep", "-rl", "-F", word, fax_dir], capture_output=True, text=True,
                           timeout=600)
        assert r.returncode in (0, 1), r.stderr   # no read error anywhere
        hits[word] = set(r.stdout.split())
    found = wanted = 0
    for mid, (d, t) in images.items():
        text_file = os.path.join(d, "fax.txt")
        for word in vocabulary:
            if word in t["content_words"]:
                wanted += 1
                found += text_file in hits[word]
            else:
                assert text_file not in hits[word], (mid, word)   # no false hit
    print("recall %d/%d" % (found, wanted))
    assert found >= 0.9 * wanted, (found, wanted)
    # One download per file of every fax (the document read by grep, then
    # its text made from the cached copy), and one helper run per fax.
    counts = emu.counts()
    for mid, (d, t) in fx.items():
        for a in t["record"]["attachments"]:
            assert counts["attachments"].get("%s/%s" % (mid, a["id"])) == 1, (mid, a)
    assert counts["routes"]["content"] == sum(len(t["record"]["attachments"])
                                              for _, t in fx.values())
    assert sorted(made_by_ocr(m)) == sorted(fx)
    # rsync -a twice: the second run copies nothing (stable sizes and times).
    copy = os.path.join(m.workdir, "copy")
    subprocess.run(["rsync", "-a", fax_dir + "/", copy], check=True)
    r = subprocess.run(["rsync", "-a", "--itemize-changes", fax_dir + "/", copy], check=True,
                       capture_output=True, text=True)
    assert r.stdout == "", r.stdout
    assert sorted(made_by_ocr(m)) == sorted(fx)
    # Exact sizes, page by page.
    texts = {}
    for mid, (d, t) in fx.items():
        texts[mid] = read(os.path.join(d, "fax.txt"))
        assert os.stat(os.path.join(d, "fax.txt")).st_size == len(texts[mid])
        assert texts[mid].count(b"\f") == t["record"]["faxPageCount"] - 1
        if not is_image(t):   # a text layer: every word exactly
            assert all(w.encode() in texts[mid] for w in t["content_words"])
    # A remount reads every fax.txt from the cache: no download, no OCR.
    m.stop()
    emu.reset_counts()
    m.start()
    for mid, (d, t) in fx.items():
        assert os.stat(os.path.join(d, "fax.txt")).st_size == len(texts[mid])
        assert read(os.path.join(d, "fax.txt")) == texts[mid]
    assert emu.counts()["routes"].get("content", 0) == 0
    assert made_by_ocr(m) == []


def test_text_layer_comes_out_exactly(make_emu, make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu).start()
    outbound = [(d, t) for d, t in faxes(m, emu).values() if not is_image(t)]
    assert outbound
    for d, t in outbound:
        pages = pdf_text_lines(emu.content(t["record"]["id"], rendered(t)["id"]))
        assert len(pages) == t["record"]["faxPageCount"]
        want = "\f".join("\n".join(lines) + "\n" for lines in pages).encode("latin-1")
        assert read(os.path.join(d, "fax.txt")) == want
        st = os.stat(os.path.join(d, "fax.txt"))
        assert st.st_size == len(want) and st.st_blocks == (len(want) + 511) // 512
        assert st.st_mtime == os.stat(d).st_mtime   # the message's creationTime


def test_a_download_makes_the_text_in_the_background_and_a_person_goes_first(
        make_emu, make_mount, tmp_path):
    emu = make_emu(**CORPUS)
    marker = tmp_path / "stall"
    marker.touch()
    m = ocr_mount(make_mount, emu, args=["-d"], opts={"ocr_jobs": "1"},
                   env=with_helper(wrapper(tmp_path, marker, "die"))).start()
    images = [(mid, d) for mid, (d, t) in faxes(m, emu).items() if is_image(t)]
    (a_mid, a), (b_mid, b) = images[:2]
    # Reading fax A (a viewer, a thumbnailer) queues its text in the
    # background: the one worker is now busy with it (stalled).
    doc = [f for f in os.listdir(a) if f.startswith("fax.") and f != "fax.txt"][0]
    read(os.path.join(a, doc))
    wait_for(lambda: sleeping_helpers(m), "the background job to start")
    marker.unlink()
    # A person's fax.txt of fax B does not wait behind it: the background
    # job is stopped, B's text is made, then A's job runs again.
    assert b"\f" in read(os.path.join(b, "fax.txt"))
    wait_for(lambda: a_mid in made_by_ocr(m), "fax A's text, made in the background")
    assert made_by_ocr(m) == [b_mid, a_mid]
    emu.reset_counts()
    text = read(os.path.join(a, "fax.txt"))
    assert os.stat(os.path.join(a, "fax.txt")).st_size == len(text) > 0
    assert emu.counts()["routes"].get("content", 0) == 0


# ------------------------------------------------------------------ failures

def corrupt_pdf():
    return b"%PDF-1.4\n" + bytes(range(256)) * 40


def tiff_bomb():
    """A G4 TIFF declaring 100000 x 100000 pixels over three bytes of data."""
    import struct
    data = b"\x00\x10\x01"
    entries = [(256, 4, 100000), (257, 4, 100000), (258, 3, 1), (259, 3, 4), (262, 3, 0),
               (273, 4, 0), (277, 3, 1), (278, 4, 100000), (279, 4, len(data))]
    out = bytearray(b"II*\x00\x08\x00\x00\x00")
    strip = 8 + 2 + 12 * len(entries) + 4
    out += struct.pack("<H", len(entries))
    for tag, typ, value in entries:
        value = strip if tag == 273 else value
        out += struct.pack("<HHIHH", tag, typ, 1, value, 0) if typ == 3 else \
            struct.pack("<HHII", tag, typ, 1, value)
    return bytes(out + b"\x00\x00\x00\x00" + data)


def test_hostile_documents_fail_that_fax_txt_only(make_emu, make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu).start()
    fx = faxes(m, emu)
    by_kind = {rendered(t)["contentType"]: (mid, d, t) for mid, (d, t) in fx.items()
               if is_image(t)}
    hostile = {"application/pdf": corrupt_pdf(), "image/tiff": tiff_bomb()}
    for ctype, data in hostile.items():
        mid, d, t = by_kind[ctype]
        emu.replace_content(mid, rendered(t)["id"], data)
    for ctype, data in hostile.items():
        mid, d, t = by_kind[ctype]
        for _ in range(2):   # the second time from the held failure: no new run
            with pytest.raises(OSError) as e:
                read(os.path.join(d, "fax.txt"))
            assert e.value.errno == errno.EIO
        doc = [f for f in os.listdir(d) if f.startswith("fax.") and f != "fax.txt"][0]
        assert read(os.path.join(d, doc)) == data   # the fax itself stays readable
        assert "meta.json" in os.listdir(d)
        lines = [x for x in m.log().splitlines() if "fax.txt of message %s:" % mid in x]
        assert len(lines) == 1, lines
        assert ("bad document" if ctype == "application/pdf" else "over a limit") in lines[0]
    # The mount and its other texts are fine.
    for mid, (d, t) in fx.items():
        if not is_image(t):
            assert read(os.path.join(d, "fax.txt")).startswith(b"FAX\n")
    assert os.listdir(top(m, emu))


def test_helper_killed_mid_run_gives_eio_and_the_mount_goes_on(make_emu, make_mount, tmp_path):
    emu = make_emu(**CORPUS)
    marker = tmp_path / "stall"
    marker.touch()
    m = ocr_mount(make_mount, emu, env=with_helper(wrapper(tmp_path, marker, "die"))).start()
    fx = faxes(m, emu)
    target = [d for d, t in fx.values() if not is_image(t)][0]
    result = {}

    def reader():
        try:
            result["data"] = read(os.path.join(target, "fax.txt"))
        except OSError as e:
            result["errno"] = e.errno
    th = threading.Thread(target=reader)
    th.start()
    pid = wait_for(lambda: sleeping_helpers(m), "the helper to start")[0]
    os.killpg(pid, signal.SIGKILL)   # its process group: the helper and its children
    th.join(60)
    assert result == {"errno": errno.EIO}, result   # its partial text was not served
    assert "died of SIGKILL" in m.log()
    marker.unlink()
    # The fax itself reads, the mount lists, another fax's text is made.
    assert read(os.path.join(target, "fax.pdf")).startswith(b"%PDF")
    other = [d for d, t in fx.values() if is_image(t)][0]
    assert read(os.path.join(other, "fax.txt"))
    assert os.listdir(top(m, emu))


def test_a_helper_slower_than_the_deadline_finishes_in_the_background(make_emu, make_mount,
                                                                       tmp_path):
    emu = make_emu(**CORPUS)
    marker = tmp_path / "slow"
    marker.touch()
    m = ocr_mount(make_mount, emu, args=["-d"], opts={"timeout": "2"},
                   env=with_helper(wrapper(tmp_path, marker, "slow"))).start()
    d = [d for d, t in faxes(m, emu).values() if not is_image(t)][0]
    with pytest.raises(OSError) as e:
        os.stat(os.path.join(d, "fax.txt"))
    assert e.value.errno == errno.EIO
    size = wait_for(lambda: _stat_size(os.path.join(d, "fax.txt")), "the text to be made")
    assert read(os.path.join(d, "fax.txt")).startswith(b"FAX\n") and size > 0
    assert len(made_by_ocr(m)) == 1   # the stats joined the one job


def _stat_size(path):
    try:
        return os.stat(path).st_size
    except OSError as e:
        assert e.errno == errno.EIO
        return None


# ------------------------------------------------------------------- options

def test_ocr_off_hides_fax_txt(make_emu, make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu, opts={"ocr": "off"}).start()
    for d, t in faxes(m, emu).values():
        assert "fax.txt" not in os.listdir(d)
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(d, "fax.txt"))
    r = subprocess.run(["grep", "-rl", "FAX", os.path.join(top(m, emu), "Fax")],
                       capture_output=True, text=True)
    assert all(not p.endswith("fax.txt") for p in r.stdout.split())


def test_options_are_checked_at_mount_time(make_emu, make_mount):
    emu = make_emu(messages=4, extensions=1)
    for opts, says in (({"ocr_lang": "xx_nolang"}, "ocr_lang=xx_nolang cannot be used"),
                       ({"ocr_lang": "eng;rm"}, "ocr_lang=eng;rm is not a list"),
                       ({"ocr": "maybe"}, "ocr=maybe"),
                       ({"ocr_jobs": "0"}, "ocr_jobs=0: must be a whole number from 1 to 64")):
        m = ocr_mount(make_mount, emu, name="bad", opts=opts).start(expect_fail=True)
        assert m.proc.wait(30) != 0
        lines = [x for x in m.log().splitlines() if x.strip()]
        assert len(lines) == 1 and says in lines[0], lines
        m.proc = None
    m = ocr_mount(make_mount, emu, name="two",
                  opts={"ocr_lang": "eng+deu", "ocr_jobs": "2"}).start()
    assert os.listdir(top(m, emu))


def test_rm_r_of_a_fax_folder_removes_it_with_one_request(make_emu, make_mount):
    emu = make_emu(**CORPUS)
    m = ocr_mount(make_mount, emu).start()
    mid, (d, t) = sorted(faxes(m, emu).items())[0]
    emu.reset_counts()
    subprocess.run(["rm", "-r", d], check=True)
    routes = emu.counts()["routes"]
    assert routes.get("delete") == 1 and routes.get("content", 0) == 0, routes
    assert emu.truth(mid)["availability"] == "Deleted"
