"""Never lose a message, never hang, never let the wrong person in.

Each test here failed on the code before the safety work: recursive removals
that purged the trash, two removals of one message that purged it, a sync
that skipped a record it could not store, a background mount whose cache
scan never ended, an offline mount that never came back by itself, a mount
that anyone could read with allow_other.  Outcomes and request counts only;
no timing assertions (waits have generous deadlines)."""

import errno
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def deletes_of(emu, mid):
    return emu.counts()["messages"].get(str(mid), {}).get("delete", 0)


def server_state(emu, ext_id):
    return {m["id"]: m["availability"] for m in emu.messages(ext_id)}


# ---- purging is off unless asked for ------------------------------------------


def test_purge_is_refused_by_default(emu, mount):
    t = top(mount, emu)
    victim = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
    emu.reset_counts()
    r = subprocess.run(["rm", "-r", os.path.join(t, "Deleted", victim)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr
    assert emu.route_count("delete") == 0
    assert emu.truth(mid_of(victim))["availability"] == "Deleted"
    assert victim in os.listdir(os.path.join(t, "Deleted"))
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(t, "Deleted", victim))
    assert e.value.errno == errno.EPERM
    assert emu.route_count("delete") == 0
    assert "mount with -o purge" in mount.log()


def test_rm_rf_of_a_whole_extension_purges_nothing(make_emu, make_mount):
    emu = make_emu(messages=60, extensions=1)
    m = make_mount(emu).start()
    ext = emu.extensions()[0]
    before = server_state(emu, ext["id"])
    emu.reset_counts()
    subprocess.run(["rm", "-rf", m.p(ext["extensionNumber"])], check=False)
    after = server_state(emu, ext["id"])
    assert "Purged" not in after.values()
    for mid, avail in before.items():
        if avail == "Alive":
            assert after[mid] == "Deleted", mid
            assert deletes_of(emu, mid) == 1, mid
        else:
            assert after[mid] == avail and deletes_of(emu, mid) == 0, mid


def test_rm_rf_with_purge_purges_only_the_old_trash(make_emu, make_mount):
    emu = make_emu(messages=60, extensions=1)
    m = make_mount(emu, opts={"purge": True}).start()
    ext = emu.extensions()[0]
    before = server_state(emu, ext["id"])
    assert "Deleted" in before.values() and "Alive" in before.values()
    subprocess.run(["rm", "-rf", m.p(ext["extensionNumber"])], check=False)
    after = server_state(emu, ext["id"])
    for mid, avail in before.items():
        want = {"Alive": "Deleted", "Deleted": "Purged"}.get(avail, avail)
        assert after[mid] == want, (mid, avail, after[mid])
    # What this mount just moved to the trash stays purge-proof for a while.
    t = m.p(ext["extensionNumber"])
    fresh = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(t, "Deleted", fresh))
    assert e.value.errno == errno.EBUSY
    assert emu.truth(mid_of(fresh))["availability"] == "Deleted"


# ---- one change per message at a time ------------------------------------------


def run_together(*fns):
    """Run fns at once; return their exceptions (None for success)."""
    out = [None] * len(fns)
    start = threading.Barrier(len(fns))

    def run(i, fn):
        start.wait()
        try:
            fn()
        except OSError as e:
            out[i] = e
    ts = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def test_two_removals_at_once_send_one_delete(emu, mount):
    t = top(mount, emu)
    convs = os.path.join(t, "conversations")
    pairs = []
    for c in sorted(os.listdir(convs)):
        for link in sorted(os.listdir(os.path.join(convs, c))):
            target = os.readlink(os.path.join(convs, c, link))
            if "/SMS/" in target:
                pairs.append((os.path.join(convs, c, link), os.path.join(t, "SMS", link)))
                break
        if len(pairs) == 3:
            break
    assert len(pairs) == 3
    # The DELETE takes a while on the server, so both removals are in flight.
    emu.set_faults(script=[{"route": "delete", "action": "delay", "ms": 700, "count": 100}])
    emu.reset_counts()
    for link, folder in pairs:
        errs = run_together(lambda: os.unlink(link),
                            lambda: os.unlink(os.path.join(folder, "meta.json")))
        assert errs.count(None) >= 1, errs
        for e in errs:
            assert e is None or e.errno == errno.ENOENT, e
        mid = mid_of(os.path.basename(folder))
        assert deletes_of(emu, mid) == 1
        assert emu.truth(mid)["availability"] == "Deleted"
    emu.clear_faults()


def test_two_read_status_changes_at_once_send_one_request(emu, mount):
    t = top(mount, emu)
    unread = [n for n in sorted(os.listdir(os.path.join(t, "SMS")))
              if emu.truth(mid_of(n))["record"]["readStatus"] == "Unread"][:2]
    assert unread
    emu.set_faults(script=[{"route": "put", "action": "delay", "ms": 700, "count": 100}])
    emu.reset_counts()
    for n in unread:
        d = os.path.join(t, "SMS", n)
        errs = run_together(lambda: os.setxattr(d, "user.rc.readStatus", b"Read"),
                            lambda: os.setxattr(os.path.join(d, "meta.json"),
                                                "user.rc.readStatus", b"Read"))
        assert errs == [None, None]
        assert emu.counts()["messages"][mid_of(n)].get("put", 0) == 1
        assert os.getxattr(d, "user.rc.readStatus") == b"Read"
    emu.clear_faults()


# ---- a sync never skips a record -----------------------------------------------


def tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path], check=True)


def fill(path):
    """Fill the file system holding path; returns the filler's name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (65536, 4096, 1):  # then byte by byte: not even a small record fits
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_sync_does_not_move_past_a_record_it_could_not_store(make_emu, make_mount, tmp_path):
    emu = make_emu(messages=40, extensions=1)
    disk = str(tmp_path / "disk")
    tmpfs(disk, "8m")
    try:
        m = make_mount(emu, cache_dir=os.path.join(disk, "rcfs")).start()
        t = top(m, emu)
        for f in names.FOLDERS:
            os.listdir(os.path.join(t, f))
        os.utime(m.path)  # a first sync round: the token is current
        filler = fill(disk)
        new = emu.add_message(emu.extensions()[0]["extensionNumber"], "SMS",
                              subject="stored only when there is room " * 1000)
        os.utime(m.path)  # the sync brings the record; it cannot be stored
        # Two more syncs 6 s apart, still on a full disk: a token that moved
        # on would now be past the server's 5 s overlap, so only a token
        # that never moved past the record brings it again.
        for _ in range(2):
            time.sleep(6)
            os.utime(m.path)
        os.unlink(filler)
        os.utime(m.path)  # the same changes are asked for again
        want = [n for n in os.listdir(os.path.join(t, "SMS")) if mid_of(n) == str(new["id"])]
        assert want, "the new message was skipped for good"
        m.stop()
    finally:
        subprocess.run(["umount", "-l", disk], check=False)


# ---- daemon mode ---------------------------------------------------------------


def cache_object_bytes(cache_dir):
    total = 0
    for r, _, fs in os.walk(os.path.join(cache_dir, "objects")):
        for f in fs:
            total += os.path.getsize(os.path.join(r, f))
    return total


def test_background_mount_enforces_the_cache_cap_and_serves(make_emu, make_mount):
    emu = make_emu(messages=80, extensions=1)
    first = make_mount(emu, name="first").start()
    t = top(first, emu)
    for f in ("Fax", "VoiceMail"):
        for n in sorted(os.listdir(os.path.join(t, f))):
            d = os.path.join(t, f, n)
            for fn in os.listdir(d):
                open(os.path.join(d, fn), "rb").read()
    first.stop()
    assert cache_object_bytes(first.cache_dir) > 256 * 1024
    # The same cache, in the background, with a much smaller cap.
    m = make_mount(emu, name="bg", cache_dir=first.cache_dir, foreground=False,
                   credentials=first.credentials, opts={"cache_max": "64K"}).start()
    assert m.launch_rc == 0
    assert m.daemon_alive(), "the lock file must name the daemon, not its parent"
    with open("/proc/%d/cmdline" % m.daemon_pid, "rb") as f:
        assert b"rcfs" in f.read()
    # The startup scan ends in the daemon and evicts down to the cap.
    assert wait_for(lambda: cache_object_bytes(m.cache_dir) <= 64 * 1024, timeout=60), \
        cache_object_bytes(m.cache_dir)
    # Content still flows.
    t = top(m, emu)
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[0]
    rec = emu.truth(mid_of(sms))["record"]
    fn = names.attachment_names(rec)[0]
    data = open(os.path.join(t, "SMS", sms, fn), "rb").read()
    assert data == emu.content(rec["id"], rec["attachments"][0]["id"])


def test_sigusr1_right_after_a_background_mount(emu, make_mount):
    m = make_mount(emu, foreground=False).start()
    pid = m.daemon_pid
    for _ in range(20):
        os.kill(pid, signal.SIGUSR1)
    time.sleep(0.5)
    assert m.daemon_alive()
    assert os.listdir(top(m, emu))


def test_a_mount_that_fails_in_the_background_says_so(emu, make_mount):
    m = make_mount(emu, foreground=False, opts={"max_read": "65536"}).start(expect_fail=True)
    if m.launch_rc == 0:
        # The kernel took it: then the mount must really be there and work.
        assert os.listdir(top(m, emu))
    else:
        assert not os.path.ismount(m.path)
        assert "rcfs:" in m.log()


# ---- offline ends by itself --------------------------------------------------------


def test_offline_ends_by_itself_without_polling(emu, make_mount):
    m = make_mount(emu, opts={"poll": "0", "timeout": "5"}).start()
    t = top(m, emu)
    fax = sorted(os.listdir(os.path.join(t, "Fax")))
    rec = emu.truth(mid_of(fax[0]))["record"]
    path = os.path.join(t, "Fax", fax[0], names.attachment_names(rec)[0])
    ports = emu.ports()
    emu.stop()
    with pytest.raises(OSError) as e:
        open(path, "rb").read()
    assert e.value.errno == errno.EIO
    emu.start(ports=ports)

    def readable():
        try:
            return open(path, "rb").read() == emu.content(rec["id"], rec["attachments"][0]["id"])
        except OSError:
            return False
    # Nobody touches the mount or signals rcfs: it reconnects by itself.
    assert wait_for(readable, timeout=30, step=0.5)
    assert "server reachable again" in m.log()


# ---- who may see what --------------------------------------------------------------


def as_nobody(*cmd):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "--"] + list(cmd), capture_output=True, text=True)


@pytest.fixture
def public_dir():
    d = tempfile.mkdtemp(prefix="rcfs-other-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    subprocess.run(["rm", "-rf", d], check=False)


def mount_in(make_mount, emu, public_dir, opts):
    """A mount whose mount point other users can reach (tmp_path cannot be)."""
    m = make_mount(emu, name="pub", opts=opts)
    m.path = os.path.join(public_dir, "mnt")
    os.makedirs(m.path)
    return m.start()


def test_allow_other_is_private_by_default(emu, make_mount, public_dir):
    m = mount_in(make_mount, emu, public_dir, {"allow_other": True})
    with open("/proc/self/mounts") as f:
        opts = [ln.split()[3] for ln in f if ln.split()[1] == m.path][0]
    assert "default_permissions" in opts and "allow_other" in opts
    t = top(m, emu)
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[0]
    d = os.path.join(t, "SMS", sms)
    assert oct(os.stat(d).st_mode & 0o777) == oct(0o700)
    assert oct(os.stat(os.path.join(d, "meta.json")).st_mode & 0o777) == oct(0o600)
    emu.reset_counts()
    assert as_nobody("stat", public_dir).returncode == 0  # the way there is open
    r = as_nobody("ls", m.path)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert as_nobody("cat", os.path.join(d, "meta.json")).returncode != 0
    assert as_nobody("setfattr", "-n", "user.rc.readStatus", "-v", "Read", d).returncode != 0
    assert as_nobody("rm", "-rf", d).returncode != 0
    assert emu.foreground_routes() == {}
    assert sms in os.listdir(os.path.join(t, "SMS"))


def test_umask_widens_reading_but_not_changing(emu, make_mount, public_dir):
    m = mount_in(make_mount, emu, public_dir, {"allow_other": True, "umask": "022"})
    t = top(m, emu)
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[0]
    d = os.path.join(t, "SMS", sms)
    assert oct(os.stat(d).st_mode & 0o777) == oct(0o755)
    r = as_nobody("cat", os.path.join(d, "meta.json"))
    assert r.returncode == 0 and '"id"' in r.stdout
    emu.reset_counts()
    assert as_nobody("setfattr", "-n", "user.rc.readStatus", "-v", "Read", d).returncode != 0
    assert as_nobody("rm", "-rf", d).returncode != 0
    assert "delete" not in emu.foreground_routes() and "put" not in emu.foreground_routes()
    assert sms in os.listdir(os.path.join(t, "SMS"))
