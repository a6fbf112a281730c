"""The desktop's Trash is the mailbox's trash.

MOUNT/.Trash-UID (freedesktop Trash specification 1.0) is a view of Deleted/:
driven here with GLib's own `gio trash` (what GNOME Files, Thunar and PCManFM
call for "Move to Trash") and gvfs's trash:/// (what their Trash windows,
"Restore" and "Empty Trash" use), on a private session bus.  Request counts,
server truth and listings; no timings."""

import calendar
import errno
import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402

WRITE_ROUTES = ("delete", "put", "patch")


def mid_of(name):
    return name.rsplit("_", 1)[1]


def trash_dir(mount):
    return mount.p(".Trash-%d" % os.getuid())


def writes(emu):
    r = emu.counts()["routes"]
    return {k: r[k] for k in WRITE_ROUTES if r.get(k)}


@pytest.fixture
def desk(tmp_path):
    """A desktop session's bus (gvfs is started on it on demand) and a home
    folder of its own (so the home Trash is not the machine's)."""
    home = tmp_path / "home"
    home.mkdir()
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    address = bus.stdout.readline().strip()
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, HOME=str(home),
               XDG_DATA_HOME=str(home / ".local" / "share"), GIO_USE_VFS="gvfs")
    yield env
    try:
        subprocess.run(["gio", "mount", "-u", "trash:///"], env=env, capture_output=True,
                       timeout=20)
    except subprocess.TimeoutExpired:
        pass  # gvfsd-trash is stuck (on some other mount): it goes with the bus below
    # The bus, and gvfsd and its backends: they are in its process group.
    os.killpg(bus.pid, signal.SIGTERM)
    bus.wait(10)
    bus.stdout.close()


def gio(env, *args, check=True):
    r = subprocess.run(["gio"] + list(args), env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def trash_list(env):
    """gio trash --list: {original path: trash:/// uri}."""
    out = gio(env, "trash", "--list").stdout
    items = {}
    for line in out.splitlines():
        uri, _, orig = line.partition("\t")
        items[orig] = uri
    return items


def restore_from_trash(emu, desk, src):
    """The Trash window's Restore of src, once the Trash lists it: one
    request, and the server has the message Alive again."""
    uri = wait_for(lambda: trash_list(desk).get(src))
    assert uri
    emu.reset_counts()
    gio(desk, "trash", "--restore", uri)
    assert writes(emu) == {"patch": 1}
    assert emu.truth(mid_of(os.path.basename(src)))["availability"] == "Alive"


@pytest.fixture
def one(make_emu, make_mount):
    emu = make_emu(messages=60, extensions=1)
    m = make_mount(emu).start()
    return emu, m, top(m, emu)


# ---- Move to Trash ---------------------------------------------------------------


def test_gio_trash_is_one_delete_and_the_trash_window_lists_it(one, desk):
    emu, m, t = one
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    src = os.path.join(t, "Fax", name)
    emu.reset_counts()
    gio(desk, "trash", src)
    assert writes(emu) == {"delete": 1}
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    assert not os.path.exists(src)
    assert name in os.listdir(os.path.join(t, "Deleted"))
    files = os.path.join(trash_dir(m), "files")
    assert name in os.listdir(files)
    assert sorted(os.listdir(files)) == sorted(os.listdir(os.path.join(t, "Deleted")))
    # The Trash window: the message, where it came from.
    listed = wait_for(lambda: src in trash_list(desk) and trash_list(desk))
    assert listed, trash_list(desk)
    # Every deleted message of the mailbox is in the desktop's Trash.
    for other in os.listdir(os.path.join(t, "Deleted")):
        assert any(p.endswith("/" + other) for p in listed), other
    # Its info file comes from the record: Path relative to the mount,
    # DeletionDate the record's lastModifiedTime (local time).
    info = open(os.path.join(trash_dir(m), "info", name + ".trashinfo")).read()
    rel = os.path.relpath(src, m.path)
    assert "Path=%s\n" % urllib.parse.quote(rel, safe="/") in info
    ms = emu.truth(mid_of(name))["record"]["lastModifiedTime"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(
        calendar.timegm(time.strptime(ms[:19], "%Y-%m-%dT%H:%M:%S"))))
    assert "DeletionDate=%s\n" % stamp in info, (info, ms)
    # The message is all there, seen from the Trash.
    inside = os.path.join(files, name)
    assert "meta.json" in os.listdir(inside)
    assert '"Deleted"' in open(os.path.join(inside, "meta.json")).read()


def test_gio_trash_restore_is_one_request(one, desk):
    emu, m, t = one
    name = sorted(os.listdir(os.path.join(t, "SMS")))[0]
    src = os.path.join(t, "SMS", name)
    gio(desk, "trash", src)
    restore_from_trash(emu, desk, src)
    assert name in os.listdir(os.path.join(t, "SMS"))
    assert name not in os.listdir(os.path.join(t, "Deleted"))
    assert name not in os.listdir(os.path.join(trash_dir(m), "files"))
    assert wait_for(lambda: src not in trash_list(desk))
    assert os.path.isfile(os.path.join(src, "meta.json"))


def test_restore_right_after_rm_r_is_one_request(one, desk):
    """rm -r, then at once the Trash window's Restore: the removal is over once
    the folder itself is gone, so its old name is free (no "exists")."""
    emu, m, t = one
    name = sorted(os.listdir(os.path.join(t, "Fax")))[1]
    src = os.path.join(t, "Fax", name)
    subprocess.run(["rm", "-r", src], check=True)
    assert not os.path.exists(src)
    restore_from_trash(emu, desk, src)
    assert os.path.isfile(os.path.join(src, "meta.json"))
    assert name not in os.listdir(os.path.join(t, "Deleted"))


def test_emptying_the_trash_without_purge_purges_nothing(one, desk):
    emu, m, t = one
    ext_id = emu.extensions()[0]["id"]
    gio(desk, "trash", os.path.join(t, "Fax", sorted(os.listdir(os.path.join(t, "Fax")))[0]))
    before = {x["id"]: x["availability"] for x in emu.messages(ext_id)}
    deleted = sorted(os.listdir(os.path.join(t, "Deleted")))
    assert len(deleted) >= 2
    assert wait_for(lambda: len(trash_list(desk)) == len(deleted))
    emu.reset_counts()
    gio(desk, "trash", "--empty", check=False)
    r = subprocess.run(["rm", "-rf", os.path.join(trash_dir(m), "files", deleted[0])],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert writes(emu) == {}
    assert {x["id"]: x["availability"] for x in emu.messages(ext_id)} == before
    assert sorted(os.listdir(os.path.join(t, "Deleted"))) == deleted
    assert len(trash_list(desk)) == len(deleted)
    assert "mount with -o purge" in m.log()


def test_emptying_the_trash_with_purge_follows_the_purge_rules(make_emu, make_mount, desk):
    emu = make_emu(messages=60, extensions=1)
    m = make_mount(emu, opts={"purge": True}).start()
    t = top(m, emu)
    old = sorted(os.listdir(os.path.join(t, "Deleted")))
    assert old
    fresh = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    gio(desk, "trash", os.path.join(t, "Fax", fresh))
    assert wait_for(lambda: len(trash_list(desk)) == len(old) + 1)
    emu.reset_counts()
    gio(desk, "trash", "--empty", check=False)
    # What was in the trash before is purged, one request each; what this
    # mount just moved there is held back (MB_PURGE_HOLD_MS).
    assert writes(emu) == {"delete": len(old)}
    for name in old:
        truth = emu.truth(mid_of(name))
        assert truth is None or truth["availability"] == "Purged", name
    assert emu.truth(mid_of(fresh))["availability"] == "Deleted"
    assert os.listdir(os.path.join(t, "Deleted")) == [fresh]
    assert os.listdir(os.path.join(trash_dir(m), "expunged")) == []


# ---- the view itself ---------------------------------------------------------------


def test_the_trash_is_found_but_never_listed(one):
    emu, m, t = one
    assert not any(n.startswith(".") for n in os.listdir(m.path))
    st = os.stat(trash_dir(m))
    assert st.st_uid == os.getuid() and oct(st.st_mode & 0o7777) == "0o700"
    assert sorted(os.listdir(trash_dir(m))) == ["expunged", "files", "info"]
    # Only the owner's: no shared .Trash, no other user's.
    assert not os.path.exists(m.p(".Trash"))
    assert not os.path.exists(m.p(".Trash-%d" % (os.getuid() + 1234)))
    # find, grep -r and rsync see each deleted message once.
    name = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
    found = subprocess.run(["find", m.path, "-name", name], capture_output=True, text=True,
                           check=True).stdout.split()
    assert found == [os.path.join(t, "Deleted", name)]


def test_other_places_to_trash_from(make_emu, make_mount, desk):
    emu = make_emu(messages=120, extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    files = os.path.join(trash_dir(m), "files")
    # A link in Unread/: the message goes, not just the link.
    unread = sorted(os.listdir(os.path.join(t, "Unread")))[0]
    emu.reset_counts()
    gio(desk, "trash", os.path.join(t, "Unread", unread))
    assert writes(emu) == {"delete": 1}
    assert emu.truth(mid_of(unread))["availability"] == "Deleted"
    assert unread in os.listdir(files)
    # A file inside a message folder: as `rm` of it, the message goes.
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    emu.reset_counts()
    gio(desk, "trash", os.path.join(t, "Fax", name, "meta.json"))
    assert writes(emu) == {"delete": 1}
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    # A whole conversation: one request.
    convs = os.path.join(t, "conversations")
    conv = max(os.listdir(convs), key=lambda c: len(os.listdir(os.path.join(convs, c))))
    members = os.listdir(os.path.join(convs, conv))
    assert len(members) >= 2
    emu.reset_counts()
    subprocess.run(["mv", os.path.join(convs, conv), files + "/"], check=True)
    assert writes(emu) == {"delete": 1}
    for n in members:
        assert emu.truth(mid_of(n))["availability"] == "Deleted"
        assert n in os.listdir(files)
    assert conv not in os.listdir(files)


def test_the_desktops_info_file_protocol(one):
    """What GLib does before the move: an exclusive create of the info file,
    then write-to-temporary and rename over it."""
    emu, m, t = one
    info = os.path.join(trash_dir(m), "info")
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    path = os.path.join(info, name + ".trashinfo")
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    with pytest.raises(FileExistsError):
        os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    tmp = path + ".Q7ZX1A"
    mine = "[Trash Info]\nPath=%s\nDeletionDate=2030-01-01T00:00:00\n" % name
    with open(tmp, "w") as f:
        f.write(mine)
    os.rename(tmp, path)
    assert open(path).read() == mine
    assert name + ".trashinfo" in os.listdir(info)
    emu.reset_counts()
    os.rename(os.path.join(t, "Fax", name), os.path.join(trash_dir(m), "files", name))
    assert writes(emu) == {"delete": 1}
    # Now the file is the record's (the kernel may keep the desktop's entry for
    # the rest of its clock tick; rcfs drops it right after the rename).
    text = wait_for(lambda: "2030" not in open(path).read() and open(path).read(), timeout=10)
    assert text and "Path=%s/Fax/" % os.path.basename(t) in text, text
    # A failed move leaves the desktop to remove its file: it can.
    other = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    p2 = os.path.join(info, other + ".trashinfo")
    open(p2, "w").close()
    os.unlink(p2)
    assert not os.path.exists(p2)


def test_the_desktops_info_file_is_gone_once_the_move_returns(make_emu, make_mount):
    """Also when info/ was listed in between (a listing used to give its
    scratch files a long entry timeout, so after the move the kernel still
    opened the scratch file, and with zero-message opens served the
    desktop's own text from its page cache)."""
    emu = make_emu(messages=120, extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    info = os.path.join(trash_dir(m), "info")
    names = sorted(os.listdir(os.path.join(t, "SMS")))[:20]
    assert len(names) == 20
    for name in names:
        path = os.path.join(info, name + ".trashinfo")
        mine = "[Trash Info]\nPath=%s\nDeletionDate=2030-01-01T00:00:00\n" % name
        with open(path, "x") as f:
            f.write(mine)
        assert open(path).read() == mine
        assert name + ".trashinfo" in os.listdir(info)
        os.rename(os.path.join(t, "SMS", name), os.path.join(trash_dir(m), "files", name))
        text = open(path).read()
        assert text != mine and "Path=%s/SMS/" % os.path.basename(t) in text, (name, text)


def test_refusals_change_nothing(make_emu, make_mount):
    emu = make_emu(messages=60, extensions=2)
    m = make_mount(emu).start()
    t, t2 = top(m, emu, 0), top(m, emu, 1)
    tr = trash_dir(m)
    name = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
    gen = os.path.join(tr, "info", name + ".trashinfo")
    emu.reset_counts()
    with pytest.raises(PermissionError):
        open(gen, "w")
    with pytest.raises(OSError) as e:
        os.unlink(gen)
    assert e.value.errno == errno.EPERM
    # Restores go back where they came from, only.
    wrong = "Fax" if "Fax" not in open(gen).read() else "SMS"
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(tr, "files", name), os.path.join(t, wrong, name))
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(tr, "files", name), os.path.join(t2, "Fax", name))
    assert e.value.errno == errno.EXDEV
    with pytest.raises(OSError):
        os.mkdir(os.path.join(tr, "files", "new"))
    with pytest.raises(OSError):
        open(os.path.join(tr, "files", "new.pdf"), "w")
    with pytest.raises(OSError):
        os.rename(os.path.join(tr, "files"), os.path.join(tr, "gone"))
    # No one fills the daemon's memory through info/.
    made = 0
    with pytest.raises(OSError) as e:
        for i in range(1000):
            open(os.path.join(tr, "info", "junk%d" % i), "w").close()
            made += 1
    assert e.value.errno == errno.ENOSPC and made == 64
    with pytest.raises(OSError) as e:
        with open(os.path.join(tr, "info", "big"), "wb") as f:
            f.write(b"x" * (1 << 20))
    assert e.value.errno in (errno.EFBIG, errno.ENOSPC)
    assert writes(emu) == {}
    assert name in os.listdir(os.path.join(t, "Deleted"))


def test_changes_from_elsewhere_reach_the_trash_window(one):
    """A message deleted or restored elsewhere: watchers of files/ (gvfs's
    trash monitor) see it come and go."""
    emu, m, t = one
    files = os.path.join(trash_dir(m), "files")
    os.listdir(files)
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    w = subprocess.Popen(["inotifywait", "-m", "-e", "create,delete", "--format", "%e %f",
                          files], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Watches established" in w.stderr.readline() + w.stderr.readline()
        emu.change_message(mid_of(name), availability="Deleted")
        os.utime(m.path)  # sync now
        line = w.stdout.readline().strip()
        assert line.startswith("CREATE") and line.endswith(name), line
        assert name in os.listdir(files)
        emu.change_message(mid_of(name), availability="Alive")
        os.utime(m.path)
        line = w.stdout.readline().strip()
        assert line.startswith("DELETE") and line.endswith(name), line
        assert name not in os.listdir(files)
    finally:
        w.kill()
        w.wait()


def test_trashing_costs_one_request(make_emu, make_mount, desk):
    """Many extensions (an admin's mount): moving one message to the Trash
    is its DELETE and nothing else (no listing, no record read)."""
    emu = make_emu(messages=60, extensions=3)
    m = make_mount(emu).start()
    for i in range(3):  # the background listing of every folder, done
        os.listdir(os.path.join(top(m, emu, i), "Deleted"))
    t = top(m, emu)
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    emu.reset_counts()
    gio(desk, "trash", os.path.join(t, "Fax", name))
    routes = emu.counts()["routes"]
    assert writes(emu) == {"delete": 1} and not routes.get("list") and not routes.get("get"), routes
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
