"""Bulk actions at the API's minimum: a conversation to the trash in one
request, marking a folder read 50 messages a request, rm -r of N folders in N
requests, concurrent removals coalesced.  Request counts, not timings."""

import math
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import top  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def routes(emu):
    return emu.counts()["routes"]


def conversation_with(mount, t, min_members):
    convs = os.path.join(t, "conversations")
    best = None
    for c in sorted(os.listdir(convs)):
        n = len(os.listdir(os.path.join(convs, c)))
        if n >= min_members and (best is None or n > best[1]):
            best = (c, n)
    assert best, "no conversation with %d members" % min_members
    return best[0]


def members(t, conv):
    d = os.path.join(t, "conversations", conv)
    return {n: os.readlink(os.path.join(d, n)) for n in os.listdir(d)}


@pytest.fixture
def big(make_emu, make_mount):
    emu = make_emu(messages=600, extensions=1)
    m = make_mount(emu, opts={"timeout": "60"}).start()
    t = top(m, emu)
    for f in ("SMS", "Pager", "conversations"):
        os.listdir(os.path.join(t, f))
    return emu, m, t


def test_a_conversation_to_the_trash_in_one_request(big):
    emu, m, t = big
    conv = conversation_with(m, t, 3)
    msgs = members(t, conv)
    ids = [mid_of(n) for n in msgs]
    assert all(emu.truth(i)["availability"] == "Alive" for i in ids)
    emu.reset_counts()
    subprocess.run(["mv", os.path.join(t, "conversations", conv), os.path.join(t, "Deleted") + "/"],
                   check=True)
    assert routes(emu).get("delete", 0) == 1
    assert sum(v for k, v in routes(emu).items() if k not in ("delete",)) == 0
    for n, i in zip(msgs, ids):
        assert emu.truth(i)["availability"] == "Deleted"
        assert n in os.listdir(os.path.join(t, "Deleted"))
    assert conv not in os.listdir(os.path.join(t, "conversations"))
    assert conv not in os.listdir(os.path.join(t, "Deleted"))


def test_a_conversation_with_a_member_in_the_trash_is_not_purged(big):
    emu, m, t = big
    conv = conversation_with(m, t, 3)
    msgs = sorted(members(t, conv))
    # One member goes to the trash first (through rcfs).
    os.unlink(os.path.join(t, "conversations", conv, msgs[0]))
    assert emu.truth(mid_of(msgs[0]))["availability"] == "Deleted"
    emu.reset_counts()
    subprocess.run(["mv", os.path.join(t, "conversations", conv), os.path.join(t, "Deleted") + "/"],
                   check=True)
    rest = msgs[1:]
    # By id (the conversation DELETE would purge the one already trashed).
    assert routes(emu).get("delete", 0) == math.ceil(len(rest) / 50)
    assert emu.truth(mid_of(msgs[0]))["availability"] == "Deleted"
    for n in rest:
        assert emu.truth(mid_of(n))["availability"] == "Deleted"


def unread_in(emu, t, folder):
    return [n for n in os.listdir(os.path.join(t, folder))
            if os.getxattr(os.path.join(t, folder, n), "user.rc.readStatus") == b"Unread"]


def test_mark_a_type_folder_read(big):
    emu, m, t = big
    unread = unread_in(emu, t, "SMS")
    assert len(unread) > 50
    emu.reset_counts()
    subprocess.run(["setfattr", "-n", "user.rc.readStatus", "-v", "Read", os.path.join(t, "SMS")],
                   check=True)
    assert routes(emu).get("put", 0) == math.ceil(len(unread) / 50)
    assert unread_in(emu, t, "SMS") == []
    for n in unread:
        assert emu.truth(mid_of(n))["record"]["readStatus"] == "Read"
    # And back for a conversation.
    conv = conversation_with(m, t, 2)
    emu.reset_counts()
    subprocess.run(["setfattr", "-n", "user.rc.readStatus", "-v", "Unread",
                    os.path.join(t, "conversations", conv)], check=True)
    n = len(members(t, conv))
    assert routes(emu).get("put", 0) == math.ceil(n / 50)
    for name in members(t, conv):
        assert emu.truth(mid_of(name))["record"]["readStatus"] == "Unread"
        assert os.getxattr(os.path.join(t, "conversations", conv, name),
                           "user.rc.readStatus") == b"Unread"


def test_a_bulk_change_that_fails_half_way_leaves_the_server_state(big):
    emu, m, t = big
    conv = conversation_with(m, t, 3)
    msgs = sorted(members(t, conv))
    for n in msgs:
        os.setxattr(os.path.join(t, "conversations", conv, n), "user.rc.readStatus", b"Unread")
    # Another device purges one of them; rcfs does not know yet.
    gone = msgs[1]
    emu.change_message(mid_of(gone), availability="Purged")
    r = subprocess.run(["setfattr", "-n", "user.rc.readStatus", "-v", "Read",
                        os.path.join(t, "conversations", conv)], capture_output=True, text=True)
    assert r.returncode != 0
    for n in msgs:
        if n == gone:
            continue
        assert emu.truth(mid_of(n))["record"]["readStatus"] == "Read"
        assert os.getxattr(os.path.join(t, "conversations", conv, n),
                           "user.rc.readStatus") == b"Read"


def test_rm_r_of_n_folders_costs_n_deletes_and_nothing_else(big):
    emu, m, t = big
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[:20]
    emu.reset_counts()
    subprocess.run(["rm", "-r"] + [os.path.join(t, "SMS", n) for n in sms], check=True)
    r = routes(emu)
    assert r.get("delete", 0) == 20
    assert r.get("content", 0) == 0
    assert r.get("get", 0) + r.get("get_batch", 0) == 0, r
    for n in sms:
        assert emu.truth(mid_of(n))["availability"] == "Deleted"
    # meta.json shows the server's record (fetched once when looked at).
    meta = open(os.path.join(t, "Deleted", sms[0], "meta.json")).read()
    assert '"availability": "Deleted"' in meta


def test_deleted_records_are_fetched_again_only_when_looked_at_in_batches(big):
    """rm -r costs its DELETEs and nothing more, later or after a remount; the
    records (the DELETE answered with none) are fetched when someone looks,
    30 to a batched GET."""
    emu, m, t = big
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[:40]
    emu.reset_counts()
    subprocess.run(["rm", "-r"] + [os.path.join(t, "SMS", n) for n in sms], check=True)
    time.sleep(3)  # longer than any debounce rcfs has: nothing may follow on its own
    subprocess.run(["touch", m.path], check=True)  # a sync round
    r = routes(emu)
    assert r.get("delete", 0) == 40, r
    assert r.get("get", 0) + r.get("get_batch", 0) + r.get("content", 0) == 0, r
    # The marks survive a remount.
    m.stop()
    m.start()
    emu.reset_counts()
    for n in sms:
        meta = open(os.path.join(t, "Deleted", n, "meta.json")).read()
        assert '"availability": "Deleted"' in meta
    r = routes(emu)
    assert r.get("get_batch", 0) + r.get("get", 0) <= math.ceil(40 / 30), r
    emu.reset_counts()
    for n in sms:
        open(os.path.join(t, "Deleted", n, "meta.json")).read()
    assert routes(emu).get("get", 0) + routes(emu).get("get_batch", 0) == 0


def test_concurrent_removals_are_coalesced(big):
    emu, m, t = big
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[:40]
    emu.set_faults(script=[{"route": "delete", "action": "delay", "ms": 300, "count": 1000}])
    emu.reset_counts()
    paths = "\n".join(os.path.join(t, "SMS", n) for n in sms)
    subprocess.run(["xargs", "-P", "8", "-n", "1", "rm", "-r"], input=paths, text=True,
                   check=True)
    emu.clear_faults()
    deletes = routes(emu).get("delete", 0)
    assert 1 <= deletes < 40, deletes
    for n in sms:
        assert emu.truth(mid_of(n))["availability"] == "Deleted"


def test_a_lone_removal_is_one_plain_delete(big):
    emu, m, t = big
    n = sorted(os.listdir(os.path.join(t, "Pager")))[0]
    emu.reset_counts()
    subprocess.run(["rm", "-r", os.path.join(t, "Pager", n)], check=True)
    assert routes(emu).get("delete", 0) == 1
    assert emu.counts()["messages"][mid_of(n)].get("delete", 0) == 1


def test_concurrent_read_changes_are_coalesced(big):
    """setfattr on 40 messages from 8 processes at once: the changes that meet
    in flight go out together (up to 50 ids a PUT), each applied from the
    server's answer."""
    emu, m, t = big
    unread = sorted(unread_in(emu, t, "SMS"))[:40]
    assert len(unread) == 40
    emu.set_faults(script=[{"route": "put", "action": "delay", "ms": 300, "count": 1000}])
    emu.reset_counts()
    paths = "\n".join(os.path.join(t, "SMS", n) for n in unread)
    subprocess.run(["xargs", "-P", "8", "-n", "1", "setfattr", "-n", "user.rc.readStatus",
                    "-v", "Read"], input=paths, text=True, check=True)
    emu.clear_faults()
    puts = routes(emu).get("put", 0)
    assert 1 <= puts < 40, puts
    for n in unread:
        assert emu.truth(mid_of(n))["record"]["readStatus"] == "Read"
        assert os.getxattr(os.path.join(t, "SMS", n), "user.rc.readStatus") == b"Read"


def test_deleted_records_in_a_background_mount_read_by_two_processes(make_emu, make_mount):
    """The way a desktop runs it: a background mount (no -f), rm -r, then two
    processes reading the same deleted messages' meta.json at once.  Both see
    the server's record; the fetches stay batched (at worst each reader
    gathers its own batch)."""
    emu = make_emu(messages=200, extensions=1)
    m = make_mount(emu, foreground=False).start()
    t = top(m, emu)
    sms = sorted(os.listdir(os.path.join(t, "SMS")))[:20]
    emu.reset_counts()
    subprocess.run(["rm", "-r"] + [os.path.join(t, "SMS", n) for n in sms], check=True)
    assert routes(emu).get("delete", 0) == 20
    emu.reset_counts()
    metas = [os.path.join(t, "Deleted", n, "meta.json") for n in sms]
    readers = [subprocess.Popen(["cat"] + metas, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    outs = [r.communicate(timeout=60)[0] for r in readers]
    assert all(r.returncode == 0 for r in readers)
    for out in outs:
        assert out.count('"availability": "Deleted"') == 20
    r = routes(emu)
    assert 1 <= r.get("get_batch", 0) + r.get("get", 0) <= 2, r
    assert r.get("delete", 0) == 0
