"""The REST client's safety limits seen through a real mount: a stalled token
request, and credentials that may read only their own extension.
Outcomes and request counts; the only times asserted are a system call's own
-o timeout=, with generous slack."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.wait import must as wait_for  # noqa: E402


def test_non_admin_rsync_copies_own_extension(make_emu, make_mount, tmp_path):
    """A non-admin's token gets 403 on every extension but its own: the mount
    shows only its own, so `rsync -a` copies everything and exits 0 (it
    exited 23 on the other extensions' folders)."""
    emu = make_emu(messages=40, extensions=3, extra_args=["--non-admin"])
    m = make_mount(emu).start()
    own = emu.extensions()[0]["extensionNumber"]
    assert sorted(os.listdir(m.path)) == [own]
    dest = tmp_path / "backup"
    p = subprocess.run(["rsync", "-a", m.path + "/", str(dest) + "/"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sorted(os.listdir(str(dest))) == [own]
    for f in names.FOLDERS:
        assert sorted(os.listdir(os.path.join(str(dest), own, f))) == \
            sorted(os.listdir(os.path.join(m.path, own, f)))
    counts = emu.counts()
    assert counts["status"].get("403", 0) == 0, counts["status"]
    assert counts["routes"].get("extension_list", 0) == 0


def sized_mms_files(m, emu, ext_number):
    """[(path, message id, attachment id)] of MMS images: their size is in the
    record, so stat costs no request and a cat is exactly one download."""
    out = []
    folder = os.path.join(m.path, ext_number, "SMS")
    for name in sorted(os.listdir(folder)):
        rec = emu.truth(name.rsplit("_", 1)[1])["record"]
        for a, fn in zip(rec.get("attachments", []), names.attachment_names(rec)):
            if a["type"] == "MmsAttachment" and "size" in a:
                out.append((os.path.join(folder, name, fn), rec["id"], a["id"]))
    return out


def timed_cat(path):
    t0 = time.monotonic()
    p = subprocess.run(["cat", path], capture_output=True, timeout=300)
    return p, time.monotonic() - t0


def test_stalled_token_request_does_not_outlive_the_stall(make_emu, make_mount):
    """The background thread's token refresh stalls (the token route answers
    after 60 s).  A cat during the stall fails within its own -o timeout=5;
    once the stall is over, the next cat succeeds at once, and does not wait
    for the stalled refresh (which used to hold the token for the background
    thread's 120 s, so every cat failed until the server answered it)."""
    emu = make_emu(messages=60, extensions=1)
    m = make_mount(emu, opts={"timeout": "5"}).start()
    own = emu.extensions()[0]["extensionNumber"]
    files = sized_mms_files(m, emu, own)
    assert len(files) >= 2
    for path, _, _ in files[:2]:
        os.stat(path)
    subprocess.run(["touch", m.path], check=True, timeout=120)  # the first round is over
    emu.reset_counts()
    emu.set_faults(script=[{"route": "token", "action": "delay", "ms": 60000, "count": 1000}])
    emu.expire_tokens()
    os.kill(m.proc.pid, signal.SIGUSR1)  # a sync round: 401, then the stalled refresh
    wait_for(lambda: emu.route_count("token") >= 1, "the background thread's token request")

    p, took = timed_cat(files[0][0])
    assert p.returncode != 0 and b"Input/output error" in p.stderr, p
    assert took < 5 + 7, took  # its own timeout, with slack

    emu.clear_faults()  # the stall is over: new requests are answered at once
    path, mid, aid = files[1]
    p, took = timed_cat(path)
    assert p.returncode == 0, (p.stderr, m.log()[-3000:])
    assert p.stdout == emu.content(mid, aid)
    assert took < 5 + 7, took
    # the refresh that stalled is still waiting for its answer on the server
    assert emu.counts()["faults"].get("delay", 0) >= 1
