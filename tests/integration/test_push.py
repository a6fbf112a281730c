"""Push notifications: a change elsewhere reaches the mount without polling.

rcfs subscribes over the emulator's WebSocket gateway (docs/api-notes.md);
an event becomes one ISync per burst (never a listing), a drop is recovered
or caught up, and new faxes are downloaded ahead of time.  The latency
targets (under 2 s) are measured by scripts/bench; here waits have generous
deadlines and only outcomes and request counts are asserted."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.wait import poll as wait_for  # noqa: E402


def mid_of(name):
    return name.rsplit("_", 1)[1]


def named(folder, mid):
    return next((n for n in os.listdir(folder) if mid_of(n) == str(mid)), None)


def ext_no(emu):
    return emu.extensions()[0]["extensionNumber"]


def pushed_mount(emu, make_mount, **opts):
    o = {"poll": "0", "push": "on"}
    o.update(opts)
    m = make_mount(emu, opts=o).start()
    t = top(m, emu)
    for f in names.FOLDERS + ("Deleted",):
        os.listdir(os.path.join(t, f))
    assert wait_for(lambda: "push notifications: SUBSCRIBED" in m.log()), m.log()
    return m, t


def routes(emu):
    return emu.counts()["routes"]


def test_a_new_message_arrives_without_polling(emu, make_mount):
    m, t = pushed_mount(emu, make_mount)
    emu.reset_counts()
    new = emu.add_message(ext_no(emu), "SMS", subject="pushed to you")
    name = wait_for(lambda: named(os.path.join(t, "SMS"), new["id"]))
    assert name, "the pushed SMS never appeared"
    r = routes(emu)
    # Events carry ids only: one message-sync brings the record, no listing.
    assert r.get("list", 0) == 0 and r.get("get", 0) == 0 and r.get("get_batch", 0) == 0, r
    assert 1 <= r.get("sync_isync", 0) <= 3, r


def test_a_burst_is_one_isync(emu, make_mount):
    m, t = pushed_mount(emu, make_mount)
    emu.reset_counts()
    new = [emu.add_message(ext_no(emu), "Pager") for _ in range(6)]
    assert wait_for(lambda: all(named(os.path.join(t, "Pager"), n["id"]) for n in new))
    time.sleep(1.5)  # let any follow-up ISync happen before counting
    r = routes(emu)
    assert r.get("list", 0) == 0, r
    assert r.get("sync_isync", 0) <= 2, r


def test_recovery_after_a_drop_misses_nothing(emu, make_mount):
    m, t = pushed_mount(emu, make_mount)
    emu.ws_drop(recoverable=True)
    time.sleep(1)
    new = emu.add_message(ext_no(emu), "Fax")
    assert wait_for(lambda: named(os.path.join(t, "Fax"), new["id"]), timeout=30)


def test_an_unrecoverable_drop_subscribes_again_and_catches_up(emu, make_mount):
    m, t = pushed_mount(emu, make_mount)
    emu.ws_drop(recoverable=False)
    time.sleep(1)
    new = emu.add_message(ext_no(emu), "VoiceMail")
    assert wait_for(lambda: named(os.path.join(t, "VoiceMail"), new["id"]), timeout=30)
    assert wait_for(lambda: m.log().count("push notifications: SUBSCRIBED") >= 2), m.log()


def test_without_push_permission_polling_takes_over(emu, make_mount):
    emu.config(ws_permission=False)
    m = make_mount(emu, opts={"poll": "1", "push": "on"}).start()
    t = top(m, emu)
    os.listdir(os.path.join(t, "SMS"))
    assert wait_for(lambda: "push notifications: UNAVAILABLE" in m.log()), m.log()
    new = emu.add_message(ext_no(emu), "SMS")
    assert wait_for(lambda: named(os.path.join(t, "SMS"), new["id"]), timeout=30)


def test_a_pushed_fax_opens_from_the_cache(emu, make_mount):
    m, t = pushed_mount(emu, make_mount)
    new = emu.add_message(ext_no(emu), "Fax")
    name = wait_for(lambda: named(os.path.join(t, "Fax"), new["id"]))
    rec = emu.truth(new["id"])["record"]
    n_att = len(rec["attachments"])
    key = lambda a: "%s/%s" % (rec["id"], a["id"])  # noqa: E731
    assert wait_for(lambda: all(emu.counts()["attachments"].get(key(a), 0) >= 1
                                for a in rec["attachments"]), timeout=30), "not prefetched"
    emu.reset_counts()
    for a, fn in zip(rec["attachments"], names.attachment_names(rec)):
        with open(os.path.join(t, "Fax", name, fn), "rb") as f:
            assert f.read() == emu.content(rec["id"], a["id"])
    assert routes(emu).get("content", 0) == 0 and n_att >= 1


def test_prefetch_off_downloads_nothing(emu, make_mount):
    m, t = pushed_mount(emu, make_mount, prefetch="off")
    emu.reset_counts()
    new = emu.add_message(ext_no(emu), "Fax")
    assert wait_for(lambda: named(os.path.join(t, "Fax"), new["id"]))
    time.sleep(2)
    assert routes(emu).get("content", 0) == 0
