"""Surviving the real server and hostile conditions (issue 6): faults, rate
limits, concurrency, a killed daemon, secrets in logs (a full cache disk: test_cache_full.py).
No timing assertions: only outcomes and request counts."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def attachments_of(mount, emu, ext_index=0, folders=names.FOLDERS + ("Deleted",)):
    """[(path, message id, attachment id)] for every attachment, from the truth."""
    t = top(mount, emu, ext_index)
    out = []
    for f in folders:
        for n in sorted(os.listdir(os.path.join(t, f))):
            rec = emu.truth(mid_of(n))["record"]
            for a, fn in zip(rec.get("attachments", []), names.attachment_names(rec)):
                out.append((os.path.join(t, f, n, fn), rec["id"], a["id"]))
    return out


def check_bytes(emu, files):
    for path, mid, aid in files:
        with open(path, "rb") as f:
            assert f.read() == emu.content(mid, aid), path


def test_cp_r_under_faults_gives_exact_bytes(make_emu, make_mount, tmp_path):
    emu = make_emu(messages=300, extensions=1)
    m = make_mount(emu, opts={"timeout": "60", "max_downloads": "6"}).start()
    t = top(m, emu)
    for f in names.FOLDERS + ("Deleted",):
        os.listdir(os.path.join(t, f))
    files = attachments_of(m, emu)
    assert len(files) > 300
    emu.set_faults(error_rate=0.10, error_status=503, reset_rate=0.05, truncate_rate=0.05,
                   seed=42)
    dest = tmp_path / "copy"
    subprocess.run(["cp", "-r", t, str(dest)], check=True)
    emu.clear_faults()
    counts = emu.counts()
    for path, mid, aid in files:
        rel = os.path.relpath(path, t)
        with open(os.path.join(str(dest), rel), "rb") as f:
            assert f.read() == emu.content(mid, aid), rel
    # Faults really happened, and were survived by retrying.
    assert counts["status"].get("503", 0) > 0


def test_rate_limits_few_429s(make_emu, make_mount):
    emu = make_emu(messages=40, extensions=1,
                   extra_args=["--rate-limits", '{"Light": 20, "Medium": 8, "Auth": 5}',
                               "--rate-window", "4"])
    m = make_mount(emu, opts={"timeout": "120"}).start()
    t = top(m, emu)
    for f in names.FOLDERS:
        os.listdir(os.path.join(t, f))
    files = attachments_of(m, emu, folders=("Fax", "VoiceMail"))[:30]
    emu.reset_counts()
    check_bytes(emu, files)
    counts = emu.counts()
    limited = sum(counts.get("rate_limited", {}).values())
    content = counts["routes"].get("content", 0)
    assert content >= len([f for f in files if not f[0].endswith(".txt")]) // 2
    # The pacer keeps under the limit: a stray 429 at most, never a storm
    # (a request during a penalty would restart it and count again).
    assert limited <= 2, counts


def test_sixteen_readers_one_download(emu, mount):
    t = top(mount, emu)
    name = sorted(os.listdir(os.path.join(t, "VoiceMail")))[0]
    rec = emu.truth(mid_of(name))["record"]
    fn = names.attachment_names(rec)[0]
    want = emu.content(rec["id"], rec["attachments"][0]["id"])
    emu.set_faults(script=[{"route": "content", "action": "delay", "ms": 1500, "count": 1}])
    emu.reset_counts()
    results = [None] * 16
    # Open without a stat first would still need the size; these readers
    # race from the very first system call.
    def reader(i):
        with open(os.path.join(t, "VoiceMail", name, fn), "rb") as f:
            results[i] = f.read()
    threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r == want for r in results)
    att = emu.counts()["attachments"]
    assert att.get("%s/%s" % (rec["id"], rec["attachments"][0]["id"]), 0) == 1, att


def test_many_threads_different_files(make_emu, make_mount):
    emu = make_emu(messages=120, extensions=1)
    m = make_mount(emu, opts={"max_downloads": "3"}).start()
    t = top(m, emu)
    for f in names.FOLDERS:
        os.listdir(os.path.join(t, f))
    files = attachments_of(m, emu)
    errors = []

    def worker(chunk):
        try:
            check_bytes(emu, chunk)
        except AssertionError as e:
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(files[i::12],)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


def test_kill_9_during_downloads_then_remount(make_emu, make_mount):
    emu = make_emu(messages=120, extensions=1)
    m = make_mount(emu, opts={"max_downloads": "4"}).start()
    t = top(m, emu)
    for f in names.FOLDERS:
        os.listdir(os.path.join(t, f))
    files = attachments_of(m, emu)
    # Slow content down so downloads are in flight when rcfs dies.
    emu.set_faults(delay_ms=300, routes=["content"])
    readers = [subprocess.Popen(["cat"] + [p for p, _, _ in files[i::6]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(6)]
    time.sleep(1.0)
    m.kill(signal.SIGKILL)
    for r in readers:
        r.wait(30)
    emu.clear_faults()
    m.start()
    check_bytes(emu, files)


def test_debug_log_has_no_secrets(emu, make_mount):
    m = make_mount(emu, args=["-d"]).start()
    t = top(m, emu)
    files = attachments_of(m, emu, folders=("Fax",))[:5]
    check_bytes(emu, files)
    emu.expire_tokens()
    os.listdir(os.path.join(t, "Deleted"))
    check_bytes(emu, attachments_of(m, emu, folders=("SMS",))[:3])
    m.stop()
    log = m.log()
    assert "debug:" in log
    for secret in emu.secrets():
        assert secret not in log
    assert "Bearer" not in log and "Authorization" not in log
    for tok in emu.issued_tokens():
        assert tok not in log


def test_json_error_body_is_never_content(emu, make_mount):
    m = make_mount(emu, opts={"timeout": "5"}).start()
    path, mid, aid = attachments_of(m, emu, folders=("Fax",))[0]
    # The server answers a content request 200 with a small JSON error
    # (CMN-301, "rate exceeded") instead of the fax.
    emu.set_faults(script=[{"route": "content", "action": "json_error_200", "count": 1000}])
    emu.reset_counts()
    with pytest.raises(OSError) as e:
        open(path, "rb").read()
    assert e.value.errno == 5
    # It was a rate-limit answer: rcfs backs off (30 s without Retry-After)
    # and sends nothing more for content meanwhile; a read fails fast.
    with pytest.raises(OSError) as e:
        open(path, "rb").read()
    assert e.value.errno == 5
    assert emu.counts()["routes"].get("content", 0) == 1
    # Nothing of the JSON body reached the cache.
    for r, _, fs in os.walk(os.path.join(m.cache_dir, "objects")):
        for f in fs:
            with open(os.path.join(r, f), "rb") as fh:
                assert b"CMN-301" not in fh.read()
    # Other groups are not penalised: listings and records still work.
    emu.clear_faults()
    assert os.listdir(os.path.join(top(m, emu), "SMS"))


def test_timeouts_bound_every_call(emu, make_mount):
    m = make_mount(emu, opts={"timeout": "3"}).start()
    t = top(m, emu)
    os.listdir(os.path.join(t, "Fax"))
    path, mid, aid = attachments_of(m, emu, folders=("Fax",))[0]
    emu.set_faults(delay_ms=30000, routes=["content"])
    with pytest.raises(OSError) as e:
        open(path, "rb").read()
    assert e.value.errno == 5
    emu.clear_faults()
    with open(path, "rb") as f:
        assert f.read() == emu.content(mid, aid)


def test_malformed_listing_is_an_error_not_a_crash(emu, make_mount):
    # Every listing answer is cut short, from before the mount (the
    # background loader lists folders at once).
    emu.set_faults(script=[{"route": "list", "action": "malformed_json", "count": 100000}])
    m = make_mount(emu, opts={"timeout": "4"}).start()
    t = top(m, emu)
    with pytest.raises(OSError) as e:
        os.listdir(os.path.join(t, "Fax"))
    assert e.value.errno == 5
    assert emu.counts()["faults"]["malformed_json"] >= 1
    emu.clear_faults()

    def listed():
        try:
            return bool(os.listdir(os.path.join(t, "Fax")))
        except OSError:
            return False
    deadline = time.monotonic() + 30
    while not listed() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listed()
    assert m.proc.poll() is None


def test_security_basics(emu, mount):
    st = os.stat(mount.cache_dir)
    assert st.st_mode & 0o777 == 0o700
    with open("/proc/self/mountinfo") as f:
        line = [x for x in f if " %s " % mount.path in x][0]
    assert "allow_other" not in line
    assert "fuse.rcfs" in line
    # Nothing secret on rcfs's command line.
    with open("/proc/%d/cmdline" % mount.proc.pid, "rb") as f:
        cmdline = f.read().decode()
    for secret in emu.secrets():
        assert secret not in cmdline


def test_unmount_is_not_held_by_background_work(make_emu, make_mount):
    # Two list requests a minute: the background listing of ten folders
    # waits on the pacer for minutes.  Unmounting must end it at once and
    # free the cache folder for the next mount.
    emu = make_emu(messages=60, extensions=2,
                   extra_args=["--rate-limits", '{"Light": 2, "Medium": 40, "Auth": 5}',
                               "--rate-window", "60"])
    m = make_mount(emu, opts={"timeout": "120"}).start()
    time.sleep(1.0)
    assert m.stop(timeout=20) == 0
    # The cache folder is free again: a second mount starts.
    m.opts["timeout"] = "5"
    m.start()
    assert os.listdir(m.path)
