"""A live mailbox: folders that update themselves for inotify watchers (file
managers), and the Unread/ view.

Changes made elsewhere (the emulator's control API stands for another
device) reach rcfs through a sync; the kernel then raises the events a local
disk would: IN_CREATE for a new message, IN_DELETE for one gone, IN_ATTRIB
for a read-status change.  Waits have generous deadlines; no timings are
asserted."""

import os
import queue
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


class Watch:
    """inotifywait -m on some folders; events as (folder, events, name)."""

    def __init__(self, *paths):
        self.proc = subprocess.Popen(["inotifywait", "-m", "--format", "%w|%e|%f"] +
                                     list(paths), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events = queue.Queue()
        self.seen = []
        # inotifywait says when its watches are set up, on stderr.
        for line in self.proc.stderr:
            if "Watches established" in line:
                break
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            w, ev, name = line.rstrip("\n").split("|", 2)
            self.events.put((w.rstrip("/"), set(ev.split(",")), name))

    def wait_for(self, folder, event, name, timeout=20):
        """Wait for the event (events seen earlier count too)."""
        deadline = time.monotonic() + timeout
        want = (folder.rstrip("/"), event, name)
        while True:
            for w, ev, n in self.seen:
                if (w, n) == (want[0], want[2]) and event in ev:
                    return True
            if time.monotonic() >= deadline:
                raise AssertionError("no %s %s in %s; saw %s" % (event, name, folder, self.seen))
            try:
                self.seen.append(self.events.get(timeout=0.2))
            except queue.Empty:
                pass

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def named(folder, mid):
    """The entry of message mid in folder, or None."""
    return next((n for n in os.listdir(folder) if mid_of(n) == str(mid)), None)


@pytest.fixture
def live(emu, make_mount):
    # Push on, polling off: changes elsewhere arrive by push notifications.
    m = make_mount(emu, opts={"poll": "0", "push": "on"}).start()
    # Every folder of every extension listed and the first round over, so
    # the background round lists and syncs nothing more while a test counts.
    for i in range(len(emu.extensions())):
        for f in ("Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted", "conversations",
                  "Unread"):
            os.listdir(os.path.join(top(m, emu, i), f))
    assert wait_for(lambda: emu.route_count("sync_fsync") >= len(emu.extensions()))
    return m, top(m, emu)


def test_a_new_message_appears_with_in_create(emu, live):
    m, t = live
    w = Watch(os.path.join(t, "Fax"), os.path.join(t, "Unread"))
    try:
        new = emu.add_message(emu.extensions()[0]["extensionNumber"], "Fax")
        name = wait_for(lambda: named(os.path.join(t, "Fax"), new["id"]))
        assert name, "the new fax never appeared"
        w.wait_for(os.path.join(t, "Fax"), "CREATE", name)
        w.wait_for(os.path.join(t, "Unread"), "CREATE", name)
        assert os.readlink(os.path.join(t, "Unread", name)) == "../Fax/" + name
    finally:
        w.stop()


def test_a_message_deleted_elsewhere_leaves_with_in_delete(emu, live):
    m, t = live
    victim = sorted(os.listdir(os.path.join(t, "SMS")))[0]
    w = Watch(os.path.join(t, "SMS"), os.path.join(t, "Deleted"))
    try:
        emu.change_message(mid_of(victim), availability="Deleted")
        w.wait_for(os.path.join(t, "SMS"), "DELETE", victim)
        w.wait_for(os.path.join(t, "Deleted"), "CREATE", victim)
        assert victim not in os.listdir(os.path.join(t, "SMS"))
        assert victim in os.listdir(os.path.join(t, "Deleted"))
    finally:
        w.stop()


def test_read_status_elsewhere_raises_in_attrib_and_moves_unread(emu, live):
    m, t = live
    unread = sorted(os.listdir(os.path.join(t, "Unread")))
    assert unread
    name = unread[0]
    folder = os.path.dirname(os.path.join(t, "Unread", os.readlink(os.path.join(t, "Unread",
                                                                                 name))))
    w = Watch(folder, os.path.join(t, "Unread"))
    try:
        emu.change_message(mid_of(name), readStatus="Read")
        w.wait_for(folder, "ATTRIB", name)
        w.wait_for(os.path.join(t, "Unread"), "DELETE", name)
        assert os.getxattr(os.path.join(folder, name), "user.rc.readStatus") == b"Read"
        assert name not in os.listdir(os.path.join(t, "Unread"))
    finally:
        w.stop()


def test_unread_follows_read_status_both_ways(emu, live):
    m, t = live
    unread = os.path.join(t, "Unread")
    name = sorted(os.listdir(unread))[0]
    target = os.path.join(unread, os.readlink(os.path.join(unread, name)))
    emu.reset_counts()
    os.unlink(os.path.join(unread, name))  # rm Unread/X marks X read
    assert emu.counts()["routes"].get("put", 0) == 1
    assert emu.truth(mid_of(name))["record"]["readStatus"] == "Read"
    assert name not in os.listdir(unread)
    os.setxattr(target, "user.rc.readStatus", b"Unread")
    assert name in os.listdir(unread)
    # Every entry is an Alive Unread message, and every such message is there.
    want = sorted(n for f in ("Fax", "SMS", "VoiceMail", "Pager", "Text")
                  for n in os.listdir(os.path.join(t, f))
                  if os.getxattr(os.path.join(t, f, n), "user.rc.readStatus") == b"Unread")
    assert sorted(os.listdir(unread)) == want


def test_live_events_cost_no_request(emu, live):
    m, t = live
    emu.reset_counts()
    new = emu.add_message(emu.extensions()[0]["extensionNumber"], "SMS")
    assert wait_for(lambda: named(os.path.join(t, "SMS"), new["id"]))
    routes = emu.counts()["routes"]
    # The syncs a push event causes and nothing else: no listing, no record, no content.
    assert set(routes) <= {"sync_isync"}, routes


def test_touch_while_the_live_thread_is_busy_never_hangs(emu, make_mount):
    """`touch MOUNT` holds the root's lock while it syncs; the live thread's
    own mkdirs walk through the root.  Found hung once: the refresh waited
    for the live thread, which waited for the refresh.  Messages arrive by
    the very sync the touch asks for, so the live thread is busy right then."""
    m = make_mount(emu, opts={"poll": "0", "push": "off"}).start()
    # The second extension's folder is never looked up by anyone but the
    # live thread, whose walk to it must then ask rcfs in the root.
    ext = emu.extensions()[1]["extensionNumber"]
    for round_ in range(6):
        for _ in range(15):
            emu.add_message(ext, "SMS")
        subprocess.run(["touch", m.path], timeout=120, check=True)
        # and right away once more, while the first round's events still land
        subprocess.run(["touch", m.path], timeout=120, check=True)
    assert len(os.listdir(os.path.join(top(m, emu, 1), "SMS"))) >= 90
