"""Changing the mailbox from the filesystem (issue 4): delete, purge, restore,
read status; every change checked against the emulator's server-side truth
and request counts, and every failure checked to change nothing."""

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def pick(mount, emu, folder, min_files=1):
    """A message folder in `folder` with at least min_files files."""
    base = os.path.join(top(mount, emu), folder)
    for name in sorted(os.listdir(base)):
        if len(os.listdir(os.path.join(base, name))) >= min_files:
            return name
    raise AssertionError("no message with %d files in %s" % (min_files, folder))


def deletes_of(emu, mid):
    return emu.counts()["messages"].get(str(mid), {}).get("delete", 0)


def test_rm_r_deletes_once_and_moves_to_deleted(emu, mount):
    t = top(mount, emu)
    name = pick(mount, emu, "VoiceMail", min_files=3)
    emu.reset_counts()
    subprocess.run(["rm", "-r", os.path.join(t, "VoiceMail", name)], check=True)
    assert deletes_of(emu, mid_of(name)) == 1
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    assert name not in os.listdir(os.path.join(t, "VoiceMail"))
    assert name in os.listdir(os.path.join(t, "Deleted"))
    rec = json.load(open(os.path.join(t, "Deleted", name, "meta.json")))
    assert rec["availability"] == "Deleted"
    assert rec == emu.truth(mid_of(name))["record"]


def test_file_manager_style_removal(emu, mount):
    t = top(mount, emu)
    name = pick(mount, emu, "Fax", min_files=2)
    d = os.path.join(t, "Fax", name)
    emu.reset_counts()
    for f in sorted(os.listdir(d)):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)
    assert deletes_of(emu, mid_of(name)) == 1
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    assert name not in os.listdir(os.path.join(t, "Fax"))
    assert name in os.listdir(os.path.join(t, "Deleted"))


def test_unlink_one_file_deletes_the_message(emu, mount):
    t = top(mount, emu)
    name = pick(mount, emu, "SMS")
    emu.reset_counts()
    os.unlink(os.path.join(t, "SMS", name, "meta.json"))
    assert deletes_of(emu, mid_of(name)) == 1
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    assert name not in os.listdir(os.path.join(t, "SMS"))


def test_purge_and_restore(emu, make_mount):
    # Purging needs -o purge (see test_safety.py for the refusals without it).
    mount = make_mount(emu, opts={"purge": True}).start()
    t = top(mount, emu)
    deleted = sorted(os.listdir(os.path.join(t, "Deleted")))
    assert len(deleted) >= 2
    # Purge one.
    victim = deleted[0]
    emu.reset_counts()
    subprocess.run(["rm", "-r", os.path.join(t, "Deleted", victim)], check=True)
    assert deletes_of(emu, mid_of(victim)) == 1
    assert emu.truth(mid_of(victim))["availability"] == "Purged"
    assert victim not in os.listdir(os.path.join(t, "Deleted"))
    # Restore another into its own type folder.
    back = deleted[1]
    typ = emu.truth(mid_of(back))["record"]["type"]
    subprocess.run(["mv", os.path.join(t, "Deleted", back), os.path.join(t, typ) + "/"],
                   check=True)
    assert emu.truth(mid_of(back))["availability"] == "Alive"
    assert back in os.listdir(os.path.join(t, typ))
    assert back not in os.listdir(os.path.join(t, "Deleted"))
    rec = emu.truth(mid_of(back))["record"]
    d = os.path.join(t, typ, back)
    for a, fn in zip(rec["attachments"], names.attachment_names(rec)):
        assert open(os.path.join(d, fn), "rb").read() == emu.content(rec["id"], a["id"])
    assert json.load(open(os.path.join(d, "meta.json")))["availability"] == "Alive"


def test_delete_then_restore_round_trip(emu, mount):
    t = top(mount, emu)
    name = pick(mount, emu, "Fax")
    subprocess.run(["rm", "-r", os.path.join(t, "Fax", name)], check=True)
    os.rename(os.path.join(t, "Deleted", name), os.path.join(t, "Fax", name))
    assert emu.truth(mid_of(name))["availability"] == "Alive"
    assert name in os.listdir(os.path.join(t, "Fax"))
    assert os.listdir(os.path.join(t, "Fax", name))
    # And away again, through mv into Deleted/ this time.
    emu.reset_counts()
    os.rename(os.path.join(t, "Fax", name), os.path.join(t, "Deleted", name))
    assert deletes_of(emu, mid_of(name)) == 1
    assert emu.truth(mid_of(name))["availability"] == "Deleted"


def test_restore_only_into_its_own_folder(emu, mount):
    t = top(mount, emu)
    name = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
    typ = emu.truth(mid_of(name))["record"]["type"]
    other = "Pager" if typ != "Pager" else "Fax"
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(t, "Deleted", name), os.path.join(t, other, name))
    assert e.value.errno in (errno.EINVAL, errno.EXDEV)
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(t, "Deleted", name), os.path.join(t, typ, "renamed"))
    assert e.value.errno == errno.EINVAL
    t2 = top(mount, emu, 1)
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(t, "Deleted", name), os.path.join(t2, typ, name))
    assert e.value.errno == errno.EXDEV
    assert emu.truth(mid_of(name))["availability"] == "Deleted"
    assert name in os.listdir(os.path.join(t, "Deleted"))


def test_conversation_entries(emu, mount):
    t = top(mount, emu)
    conv_root = os.path.join(t, "conversations")
    convs = {c: os.listdir(os.path.join(conv_root, c)) for c in os.listdir(conv_root)}
    c, members = min(((c, m) for c, m in convs.items() if m), key=lambda x: len(x[1]))
    emu.reset_counts()
    for link in members:
        os.unlink(os.path.join(conv_root, c, link))
    for link in members:
        assert deletes_of(emu, mid_of(link)) == 1
        assert emu.truth(mid_of(link))["availability"] == "Deleted"
        assert link in os.listdir(os.path.join(t, "Deleted"))
    os.rmdir(os.path.join(conv_root, c))
    assert c not in os.listdir(conv_root)
    # rm -r of a whole conversation.
    c2 = next(x for x, m in convs.items() if m and x != c)
    subprocess.run(["rm", "-r", os.path.join(conv_root, c2)], check=True)
    for link in convs[c2]:
        assert emu.truth(mid_of(link))["availability"] == "Deleted"
    assert c2 not in os.listdir(conv_root)


def test_read_status_round_trip(emu, mount, tmp_path):
    t = top(mount, emu)
    name = pick(mount, emu, "Fax")
    d = os.path.join(t, "Fax", name)
    subprocess.run(["rsync", "-a", t + "/", str(tmp_path / "copy")], check=True)
    before = os.stat(os.path.join(d, "meta.json"))
    for value in ("Unread", "Read", "Unread"):
        target = d if value != "Read" else os.path.join(d, "meta.json")
        subprocess.run(["setfattr", "-n", "user.rc.readStatus", "-v", value, target], check=True)
        assert emu.truth(mid_of(name))["record"]["readStatus"] == value
        out = subprocess.run(["getfattr", "-n", "user.rc.readStatus", "--only-values", d],
                             check=True, capture_output=True, text=True).stdout
        assert out == value
        rec = json.load(open(os.path.join(d, "meta.json")))
        assert rec["readStatus"] == value
        assert rec == emu.truth(mid_of(name))["record"]
        st = os.stat(os.path.join(d, "meta.json"))
        assert st.st_size == len(open(os.path.join(d, "meta.json"), "rb").read())
    assert os.stat(os.path.join(d, "meta.json")).st_mtime > before.st_mtime
    # rsync copies only meta.json again.
    out = subprocess.run(["rsync", "-a", "-i", t + "/", str(tmp_path / "copy")], check=True,
                         capture_output=True, text=True).stdout
    changed = [line for line in out.splitlines() if line.startswith(">f")]
    assert changed and all(line.endswith("/meta.json") for line in changed), out
    assert any(name in line for line in changed)


def test_xattr_refusals(emu, mount):
    t = top(mount, emu)
    d = os.path.join(t, "SMS", pick(mount, emu, "SMS"))
    emu.reset_counts()
    with pytest.raises(OSError) as e:
        os.setxattr(d, "user.rc.readStatus", b"Maybe")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.setxattr(d, "user.rc.readStatus", b"read")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.setxattr(d, "user.rc.id", b"1")
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.removexattr(d, "user.rc.readStatus")
    assert e.value.errno in (errno.EPERM, errno.EACCES)
    with pytest.raises(OSError) as e:
        os.getxattr(d, "user.nonexistent")
    assert e.value.errno == errno.ENODATA
    with pytest.raises(OSError) as e:
        os.setxattr(d, "user.other", b"x")
    assert e.value.errno in (errno.ENOTSUP, errno.EPERM)
    assert emu.foreground_routes() == {}
    names_ = os.listxattr(d)
    for n in ("user.rc.readStatus", "user.rc.id", "user.rc.type", "user.rc.direction",
              "user.rc.availability"):
        assert n in names_


@pytest.mark.parametrize("fault,want", [
    ({"action": "status", "status": 503, "count": 1000}, errno.EIO),
    ({"action": "status", "status": 403, "count": 1000}, errno.EACCES),
    ({"action": "status", "status": 404, "count": 1000}, errno.ENOENT),
    ({"action": "reset", "count": 1000}, errno.EIO),
])
def test_failed_writes_change_nothing(emu, make_mount, fault, want):
    m = make_mount(emu, opts={"timeout": "4"}).start()
    t = top(m, emu)
    name = pick(m, emu, "Fax", min_files=2)
    d = os.path.join(t, "Fax", name)
    for route in ("delete", "put", "patch"):
        f = dict(fault)
        f["route"] = route
        emu.set_faults(script=[f])
        if route == "delete":
            with pytest.raises(OSError) as e:
                shutil.rmtree(d)
        elif route == "put":
            with pytest.raises(OSError) as e:
                os.setxattr(d, "user.rc.readStatus", b"Unread")
        else:
            deleted = sorted(os.listdir(os.path.join(t, "Deleted")))[0]
            typ = emu.truth(mid_of(deleted))["record"]["type"]
            with pytest.raises(OSError) as e:
                os.rename(os.path.join(t, "Deleted", deleted), os.path.join(t, typ, deleted))
            assert emu.truth(mid_of(deleted))["availability"] == "Deleted"
            assert deleted in os.listdir(os.path.join(t, "Deleted"))
        assert e.value.errno == want, (route, e.value)
        emu.clear_faults()
    truth = emu.truth(mid_of(name))
    assert truth["availability"] == "Alive"
    assert truth["record"]["readStatus"] == "Read" or truth["record"]["readStatus"] == \
        json.load(open(os.path.join(d, "meta.json")))["readStatus"]
    assert name in os.listdir(os.path.join(t, "Fax"))
    assert sorted(os.listdir(d)) == sorted(["meta.json"] + names.attachment_names(truth["record"]))
    assert json.load(open(os.path.join(d, "meta.json"))) == truth["record"]


def test_no_stale_entries_with_long_timeouts(emu, mount):
    """The kernel caches entries for an hour; changes must still show at once."""
    t = top(mount, emu)
    fax = os.path.join(t, "Fax")
    deleted = os.path.join(t, "Deleted")
    before = set(os.listdir(fax))
    os.listdir(deleted)
    name = sorted(before)[-1]
    os.stat(os.path.join(fax, name))
    subprocess.run(["rm", "-r", os.path.join(fax, name)], check=True)
    assert set(os.listdir(fax)) == before - {name}
    assert name in os.listdir(deleted)
    os.rename(os.path.join(deleted, name), os.path.join(fax, name))
    assert set(os.listdir(fax)) == before
    assert name not in os.listdir(deleted)
    out = subprocess.run(["ls", "-l", fax], check=True, capture_output=True, text=True).stdout
    assert name in out
