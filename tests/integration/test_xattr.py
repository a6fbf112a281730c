"""The extended attributes a copy reads (`cp -a`, `rsync -aX`): user.xdg.origin.url
of every attachment and user.xdg.comment of every message folder are exactly what
the stored record (meta.json) says, whether rcfs answers them from memory or from
the record: on fresh records, on records restored from the saved state, and when
the server changes a URI to a form rcfs cannot rebuild (and back)."""

import ctypes
import errno
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402

ORIGIN = "user.xdg.origin.url"
COMMENT = "user.xdg.comment"
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.lgetxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
LIBC.lgetxattr.restype = ctypes.c_ssize_t


def size_probe(path, name):
    """getxattr(path, name, NULL, 0): the size query cp and rsync make first."""
    n = LIBC.lgetxattr(path.encode(), name.encode(), None, 0)
    if n < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return n


def expect(path, name, want):
    """path's xattr name is want (bytes), size query first; None: no such attribute."""
    if want is None:
        for call in (lambda: size_probe(path, name), lambda: os.getxattr(path, name)):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.ENODATA, (path, name)
        assert name not in os.listxattr(path)
        return
    assert size_probe(path, name) == len(want), (path, name)
    assert os.getxattr(path, name) == want, (path, name)
    assert name in os.listxattr(path)


def check_message(folder):
    """Every attachment's origin URL and the folder's comment against meta.json."""
    rec = json.load(open(os.path.join(folder, "meta.json")))
    atts = rec.get("attachments", [])
    for att, fname in zip(atts, names.attachment_names(rec)):
        uri = att.get("uri")
        expect(os.path.join(folder, fname), ORIGIN, uri.encode() if uri else None)
    subject = rec.get("subject")
    expect(folder, COMMENT, subject.encode() if subject else None)
    return len(atts)


def check_all(t):
    """check_message on every message folder; returns the attachments seen."""
    n = 0
    for f in names.FOLDERS + ("Deleted",):
        for m in sorted(os.listdir(os.path.join(t, f))):
            n += check_message(os.path.join(t, f, m))
    return n


def settle(mount, emu):
    for i in range(len(emu.extensions())):
        for f in names.FOLDERS + ("Deleted",):
            os.listdir(os.path.join(top(mount, emu, i), f))
    assert wait_for(lambda: emu.route_count("sync_fsync") >= len(emu.extensions()))


def test_copy_attributes_match_the_record(emu, make_mount):
    m = make_mount(emu).start()
    settle(m, emu)
    emu.reset_counts()
    # Fresh records (the URI forms come with them), twice: the second time
    # every subject size is known.
    for _ in range(2):
        for i in range(len(emu.extensions())):
            assert check_all(top(m, emu, i)) > 0
    assert emu.foreground_routes() == {}
    # Restored from the saved state (no URIs there): the first pass reads
    # the records and learns, the second answers from memory.
    m.stop()
    m.start()
    for _ in range(2):
        for i in range(len(emu.extensions())):
            check_all(top(m, emu, i))


def dump(path):
    """{relative path: {name: value}} of every folder and file under path."""
    out = {}
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(root, n)
            out[os.path.relpath(p, path)] = {a: os.getxattr(p, a, follow_symlinks=False)
                                             for a in os.listxattr(p, follow_symlinks=False)}
    return out


def test_cp_and_rsync_copy_them(emu, mount, tmp_path):
    t = top(mount, emu)
    src = os.path.join(t, "VoiceMail")
    want = dump(src)
    assert any(ORIGIN in v for v in want.values())
    subprocess.run(["cp", "-a", src, str(tmp_path / "cp")], check=True)
    assert dump(str(tmp_path / "cp")) == want
    subprocess.run(["rsync", "-aX", src + "/", str(tmp_path / "rsync") + "/"], check=True)
    assert dump(str(tmp_path / "rsync")) == want


def uris(folder):
    rec = json.load(open(os.path.join(folder, "meta.json")))
    return [a["uri"] for a in rec["attachments"]], rec


def test_uri_the_server_changes_is_followed(emu, make_mount):
    """A record whose URIs carry a query string cannot be rebuilt from the
    ids: it is read from the record; when the server changes the URIs of a
    message (same attachments), what is served follows, in both directions."""
    ext = emu.extensions()[0]
    # One fax with the unusual form before the mount, one changed after.
    early = emu.add_message(ext["id"], "Fax")
    emu.change_message(early["id"], contentQuery="contentDisposition=Inline")
    late = emu.add_message(ext["id"], "VoiceMail")
    m = make_mount(emu).start()
    settle(m, emu)
    t = top(m, emu)
    fax = os.path.join(t, "Fax", names.message_folder(early))
    vm = os.path.join(t, "VoiceMail", names.message_folder(late))
    got, _ = uris(fax)
    assert got[0].endswith("?contentDisposition=Inline")
    check_message(fax)
    check_message(vm)
    # The server changes the voicemail's URIs: a sync brings the new record.
    for query, tail in (("contentDisposition=Attachment", "?contentDisposition=Attachment"),
                        (None, "/content/%s" % late["attachments"][0]["id"])):
        emu.change_message(late["id"], contentQuery=query)
        os.utime(m.path)  # sync now
        assert wait_for(lambda: uris(vm)[0][0].endswith(tail))
        check_message(vm)
    # The content behind the unusual URI is the server's.
    rec = json.load(open(os.path.join(fax, "meta.json")))
    fname = names.attachment_names(rec)[0]
    with open(os.path.join(fax, fname), "rb") as f:
        assert f.read() == emu.content(early["id"], rec["attachments"][0]["id"])
    # And all of it again from the saved state.
    m.stop()
    m.start()
    for _ in range(2):
        check_message(fax)
        check_message(vm)
