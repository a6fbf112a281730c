"""Staying current (issue 5): message-sync polling, kernel notifications,
persisted state for an instant remount, offline mounts, a refresh on demand.
Changes "made elsewhere" go through the emulator's control API."""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def settle(mount, emu):
    """Wait until the first round (FSync + background listing) is over."""
    t = top(mount, emu)
    for f in names.FOLDERS + ("Deleted",):
        os.listdir(os.path.join(t, f))
    assert wait_for(lambda: emu.route_count("sync_fsync") >= len(emu.extensions()))


def test_changes_elsewhere_show_without_remount(emu, make_mount):
    m = make_mount(emu, opts={"poll": "1"}).start()
    t = top(m, emu)
    settle(m, emu)
    fax = os.path.join(t, "Fax")
    before = set(os.listdir(fax))
    # A new fax arrives.
    rec = emu.add_message(emu.extensions()[0]["id"], "Fax")
    name = names.message_folder(rec)
    assert wait_for(lambda: name in os.listdir(fax)), "new fax did not appear"
    assert json.load(open(os.path.join(fax, name, "meta.json"))) == emu.truth(rec["id"])["record"]
    # One is deleted on another device: it moves to Deleted/.
    gone = sorted(before)[0]
    emu.change_message(mid_of(gone), availability="Deleted")
    assert wait_for(lambda: gone not in os.listdir(fax))
    assert gone in os.listdir(os.path.join(t, "Deleted"))
    assert wait_for(lambda: json.load(open(os.path.join(t, "Deleted", gone, "meta.json")))
                    ["availability"] == "Deleted")
    # One is purged elsewhere: it leaves Deleted/ too.
    emu.change_message(mid_of(gone), availability="Purged")
    assert wait_for(lambda: gone not in os.listdir(os.path.join(t, "Deleted")))
    # One is marked read elsewhere.
    unread = [n for n in os.listdir(fax)
              if os.getxattr(os.path.join(fax, n), "user.rc.readStatus") == b"Unread"]
    assert unread
    target = os.path.join(fax, unread[0])
    emu.change_message(mid_of(unread[0]), readStatus="Read")
    assert wait_for(lambda: os.getxattr(target, "user.rc.readStatus") == b"Read")
    assert json.load(open(os.path.join(target, "meta.json")))["readStatus"] == "Read"
    assert json.load(open(os.path.join(target, "meta.json"))) == \
        emu.truth(mid_of(unread[0]))["record"]


def test_remount_uses_state_and_one_isync(make_emu, make_mount):
    emu = make_emu(extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    settle(m, emu)
    listing = {f: sorted(os.listdir(os.path.join(t, f))) for f in names.FOLDERS + ("Deleted",)}
    m.stop()
    emu.reset_counts()
    m.start()
    # The tree is there before anything was listed from the server.
    for f, entries in listing.items():
        assert sorted(os.listdir(os.path.join(t, f))) == entries
    assert wait_for(lambda: emu.route_count("sync_isync") >= 1)
    time.sleep(0.5)
    routes = emu.counts()["routes"]
    assert routes.get("list", 0) == 0, routes
    assert routes.get("sync_isync", 0) == 1, routes
    assert routes.get("sync_fsync", 0) == 0, routes


def test_remount_catches_up_with_changes(make_emu, make_mount):
    emu = make_emu(extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    settle(m, emu)
    m.stop()
    rec = emu.add_message(emu.extensions()[0]["id"], "SMS", subject="while you were away")
    m.start()
    name = names.message_folder(rec)
    assert wait_for(lambda: name in os.listdir(os.path.join(t, "SMS")))
    assert open(os.path.join(t, "SMS", name, "message.txt")).read() == "while you were away"


def test_invalid_token_falls_back_without_losing_anything(make_emu, make_mount):
    emu = make_emu(extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    settle(m, emu)
    sms = os.path.join(t, "SMS")
    victim = sorted(os.listdir(sms))[0]
    m.stop()
    # While unmounted: a change the stored token will not be able to report.
    emu.invalidate_sync()
    rec = emu.add_message(emu.extensions()[0]["id"], "SMS")
    emu.change_message(mid_of(victim), availability="Purged")
    emu.reset_counts()
    m.start()
    name = names.message_folder(rec)
    assert wait_for(lambda: name in os.listdir(sms), timeout=20)
    assert wait_for(lambda: victim not in os.listdir(sms))
    assert victim not in os.listdir(os.path.join(t, "Deleted"))
    routes = emu.counts()["routes"]
    assert routes.get("sync_fsync", 0) >= 1


def test_touch_refreshes_now(emu, make_mount):
    m = make_mount(emu, opts={"poll": "0"}).start()
    t = top(m, emu)
    settle(m, emu)
    rec = emu.add_message(emu.extensions()[0]["id"], "Pager")
    name = names.message_folder(rec)
    assert name not in os.listdir(os.path.join(t, "Pager"))
    subprocess.run(["touch", m.path], check=True)
    assert name in os.listdir(os.path.join(t, "Pager"))
    rec2 = emu.add_message(emu.extensions()[0]["id"], "Pager")
    subprocess.run(["setfattr", "-n", "user.rc.refresh", "-v", "1", m.path], check=True)
    assert names.message_folder(rec2) in os.listdir(os.path.join(t, "Pager"))


def test_corrupted_state_is_rebuilt(make_emu, make_mount):
    emu = make_emu(extensions=1)
    m = make_mount(emu).start()
    t = top(m, emu)
    settle(m, emu)
    listing = {f: sorted(os.listdir(os.path.join(t, f))) for f in names.FOLDERS + ("Deleted",)}
    m.stop()
    snaps = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(m.cache_dir, "state"))
             for f in fs if f == "index.snap"]
    assert len(snaps) == 1
    with open(snaps[0], "r+b") as f:
        data = bytearray(f.read())
        for i in range(100, len(data), 97):
            data[i] ^= 0x5a
        f.seek(0)
        f.write(data)
    emu.reset_counts()
    m.start()
    for f, entries in listing.items():
        assert sorted(os.listdir(os.path.join(t, f))) == entries
    assert wait_for(lambda: emu.route_count("sync_fsync") >= 1)
    assert emu.route_count("list") >= 1
    assert "persisted state is damaged" in m.log()
    # The record log damaged instead: records are verified and fetched again.
    m.stop()
    logs = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(m.cache_dir, "state"))
            for f in fs if f.startswith("records-")]
    with open(logs[0], "r+b") as f:
        data = bytearray(f.read())
        for i in range(200, len(data), 500):
            data[i] ^= 0x20
        f.seek(0)
        f.write(data)
    m.start()
    for f in names.FOLDERS:
        for n in os.listdir(os.path.join(t, f)):
            rec = json.load(open(os.path.join(t, f, n, "meta.json")))
            assert rec == emu.truth(mid_of(n))["record"]


def test_offline_mount_then_reconnect(make_emu, make_mount):
    emu = make_emu(extensions=1)
    m = make_mount(emu, opts={"poll": "1", "timeout": "5"}).start()
    t = top(m, emu)
    settle(m, emu)
    fax = os.path.join(t, "Fax")
    faxes = sorted(os.listdir(fax))
    cached = os.path.join(fax, faxes[0])
    cached_files = {f: open(os.path.join(cached, f), "rb").read() for f in os.listdir(cached)}
    uncached = os.path.join(fax, faxes[-1])
    rec = emu.truth(mid_of(faxes[-1]))["record"]
    uncached_file = os.path.join(uncached, names.attachment_names(rec)[0])
    m.stop()
    ports = emu.ports()
    emu.stop()

    # The server is gone: rcfs mounts from its persisted state.
    m.start()
    assert "offline" in m.log()
    assert sorted(os.listdir(fax)) == faxes
    for f, data in cached_files.items():
        assert open(os.path.join(cached, f), "rb").read() == data
    with pytest.raises(OSError) as e:
        open(uncached_file, "rb").read()
    assert e.value.errno == 5
    # Changes are refused and change nothing.
    with pytest.raises(OSError) as e:
        os.setxattr(cached, "user.rc.readStatus", b"Unread"
                    if os.getxattr(cached, "user.rc.readStatus") == b"Read" else b"Read")
    assert e.value.errno == 5
    r = subprocess.run(["rm", "-r", uncached], capture_output=True, text=True)
    assert r.returncode != 0 and "Input/output error" in r.stderr
    assert faxes[-1] in os.listdir(fax)

    # The server comes back: polling resumes and the tree catches up.
    emu.start(ports=ports)
    new = emu.add_message(emu.extensions()[0]["id"], "Fax")
    name = names.message_folder(new)
    assert wait_for(lambda: name in os.listdir(fax), timeout=40)
    assert open(uncached_file, "rb").read() == emu.content(rec["id"], rec["attachments"][0]["id"])
