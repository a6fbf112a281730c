"""The Outbox (issue 15): faxes, SMS and pager messages sent by writing files,
exactly once, checked against what the emulator received (GET /control/sent,
the request counts, the message store) and never only against what rcfs says.

No assertion depends on timing: every wait is for a condition, with a
generous deadline.  "Nothing was sent" is shown by sending something else
afterwards and seeing that only it arrived.
"""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from tests.lib.wait import must as wait_for  # noqa: E402
import emu_content  # noqa: E402

OWNER = "101"


# ---------------------------------------------------------------- helpers

@pytest.fixture
def make_mount(make_mount):
    """Mounts with the Outbox on (it is off by default)."""
    def make(emu, **kw):
        opts = {"outbox": "on"}
        opts.update(kw.pop("opts", None) or {})
        return make_mount(emu, opts=opts, **kw)
    return make


@pytest.fixture
def emu(make_emu):
    e = make_emu(messages=30, extensions=2)
    e.send_config(delay_ms=200)
    return e


def outbox(mount, *parts):
    return mount.p(OWNER, "Outbox", *parts)


def recipient(mount, kind, number):
    path = outbox(mount, kind, number)
    os.mkdir(path)
    return path


def a_pdf(tmp_path, name="doc.pdf", words=("invoice", "page two")):
    data = emu_content.make_pdf([[w] for w in words])
    path = tmp_path / name
    path.write_bytes(data)
    return str(path), data


def xattr(path, name):
    try:
        return os.getxattr(path, name).decode()
    except OSError as e:
        if e.errno == errno.ENODATA:
            return None
        raise


def sent_to(emu, number):
    return [s for s in emu.sent() if number in s["to"]]


def gone(path):
    return not os.path.exists(path)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def message_folder(mount, folder, msg_id):
    """The message folder of msg_id in OWNER/folder (after a refresh)."""
    os.utime(mount.path)  # touch MOUNT: sync now
    names = [n for n in os.listdir(mount.p(OWNER, folder)) if n.endswith("_" + str(msg_id))]
    return mount.p(OWNER, folder, names[0]) if names else None


# ---------------------------------------------------------------- the tree

def test_only_the_owner_has_an_outbox_with_its_three_folders(emu, mount):
    assert "Outbox" in os.listdir(mount.p(OWNER))
    assert "Outbox" not in os.listdir(mount.p("102"))
    assert not os.path.exists(mount.p("102", "Outbox"))
    assert sorted(os.listdir(outbox(mount))) == ["Fax", "Pager", "SMS"]
    assert os.listdir(outbox(mount, "SMS")) == []
    covers = open(outbox(mount, "Fax", "cover-pages.txt")).read()
    assert covers.splitlines()[0] == "0 None" and "6 Confidential" in covers.splitlines()
    assert os.path.getsize(outbox(mount, "Fax", "cover-pages.txt")) == len(covers.encode())
    with pytest.raises(OSError) as e:
        os.mkdir(mount.p("102", "Outbox"))
    assert e.value.errno == errno.EACCES
    with pytest.raises(OSError) as e:
        os.mkdir(outbox(mount, "Voicemail"))
    assert e.value.errno == errno.EACCES


def test_recipient_folders_take_numbers_only_and_survive_a_remount(emu, mount):
    for kind, bad in (("Fax", "abc"), ("Fax", "123"), ("Fax", "+1 650 555 1234"),
                      ("SMS", "+16505551234567890"), ("Pager", "+102"), ("Pager", "ext")):
        with pytest.raises(OSError) as e:
            os.mkdir(outbox(mount, kind, bad))
        assert e.value.errno == errno.EINVAL, (kind, bad)
    recipient(mount, "Fax", "+16505551234")
    recipient(mount, "SMS", "6505551235")
    recipient(mount, "Pager", "102")
    with pytest.raises(OSError) as e:
        os.mkdir(outbox(mount, "Fax", "+16505551234"))
    assert e.value.errno == errno.EEXIST
    assert sorted(os.listdir(outbox(mount, "Fax"))) == ["+16505551234", "cover-pages.txt"]
    mount.restart()
    assert sorted(os.listdir(outbox(mount, "Fax"))) == ["+16505551234", "cover-pages.txt"]
    assert os.listdir(outbox(mount, "SMS")) == ["6505551235"]
    os.rmdir(outbox(mount, "Pager", "102"))
    assert os.listdir(outbox(mount, "Pager")) == []
    assert emu.sent() == []


# ---------------------------------------------------------------- faxes

def test_cp_pdf_sends_one_fax_of_those_bytes_that_appears_in_fax(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551234")
    emu.reset_counts()
    subprocess.run(["cp", src, rdir + "/"], check=True)
    f = os.path.join(rdir, "doc.pdf")
    # Until the server reports it Sent, it stays, with its status.
    assert xattr(f, "user.rc.status") in ("Queued", "Sending")
    assert open(f, "rb").read() == data and os.path.getsize(f) == len(data)
    wait_for(lambda: gone(f), what="the fax leaving the Outbox")
    [got] = emu.sent()
    assert got["type"] == "Fax" and got["to"] == ["+16505551234"]
    assert got["faxResolution"] == "High" and got["coverIndex"] == 0
    assert got["attachments"] == [{"fileName": "doc.pdf", "contentType": "application/pdf",
                                   "size": len(data), "sha256": sha(data)}]
    assert got["status"] == "Sent"
    assert emu.route_count("fax") == 1
    folder = wait_for(lambda: message_folder(mount, "Fax", got["id"]), what="the fax in Fax/")
    meta = json.load(open(os.path.join(folder, "meta.json")))
    assert meta["direction"] == "Outbound" and meta["messageStatus"] == "Sent"
    assert open(os.path.join(folder, "fax.pdf"), "rb").read() == data
    assert os.listdir(rdir) == []


def test_a_copy_through_a_temporary_name_sends_once(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551236")
    # GNOME Files / GIO: a hidden temporary renamed over the name.
    tmp = os.path.join(rdir, ".goutputstream-X1Y2Z3")
    with open(tmp, "wb") as f:
        f.write(data)
    assert xattr(tmp, "user.rc.status") == "Draft"
    os.rename(tmp, os.path.join(rdir, "doc.pdf"))
    # A partial download renamed into place, and a dotfile left alone.
    with open(os.path.join(rdir, "two.pdf.part"), "wb") as f:
        f.write(data)
    with open(os.path.join(rdir, ".notes"), "wb") as f:
        f.write(data)
    os.rename(os.path.join(rdir, "two.pdf.part"), os.path.join(rdir, "two.pdf"))
    wait_for(lambda: gone(os.path.join(rdir, "doc.pdf")) and gone(os.path.join(rdir, "two.pdf")),
             what="both faxes sent")
    got = sent_to(emu, "+16505551236")
    assert sorted(a["attachments"][0]["fileName"] for a in got) == ["doc.pdf", "two.pdf"]
    assert all(a["attachments"][0]["sha256"] == sha(data) for a in got)
    assert os.listdir(rdir) == [".notes"]
    assert xattr(os.path.join(rdir, ".notes"), "user.rc.status") == "Draft"
    assert len(emu.sent()) == 2


def test_rsync_writes_through_its_temporary_and_sends_once(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path, "r.pdf")
    rdir = recipient(mount, "Fax", "+16505551237")
    subprocess.run(["rsync", src, rdir + "/"], check=True)
    wait_for(lambda: gone(os.path.join(rdir, "r.pdf")), what="the fax sent")
    [got] = emu.sent()
    assert got["attachments"][0]["fileName"] == "r.pdf"
    assert got["attachments"][0]["sha256"] == sha(data)


WRITER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, open(sys.argv[2], "rb").read()[:500])
print("written", flush=True)
sys.stdin.read()   # killed here, the file still open
"""


def test_a_writer_killed_before_close_sends_nothing(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551238")
    f = os.path.join(rdir, "half.pdf")
    w = subprocess.Popen([sys.executable, "-c", WRITER, f, src], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    assert w.stdout.readline().strip() == b"written"
    w.send_signal(signal.SIGKILL)
    w.wait()
    assert xattr(f, "user.rc.status") == "Draft"
    assert "ended before closing" in xattr(f, "user.rc.error")
    assert os.path.getsize(f) == 500
    # Something sent afterwards arrives alone.
    other = recipient(mount, "Fax", "+16505551239")
    subprocess.run(["cp", src, other + "/"], check=True)
    wait_for(lambda: gone(os.path.join(other, "doc.pdf")), what="the later fax sent")
    assert [s["to"] for s in emu.sent()] == [["+16505551239"]]
    assert xattr(f, "user.rc.status") == "Draft"
    # Renaming the remains does not send them either.
    os.rename(f, os.path.join(rdir, "whole.pdf"))
    assert xattr(os.path.join(rdir, "whole.pdf"), "user.rc.status") == "Draft"


SLOW_WRITER = r"""
import os, sys
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, data[:500])
print("half", flush=True)
sys.stdin.readline()
os.write(fd, data[500:])
os.close(fd)
print("closed", flush=True)
"""


def test_a_reader_closing_the_file_mid_write_does_not_send_it(emu, mount, tmp_path):
    # A thumbnailer or a file manager reads a file while it is being copied:
    # its close is not the writer's, and sends nothing.
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551244")
    f = os.path.join(rdir, "big.pdf")
    w = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, f, src], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        assert w.stdout.readline().strip() == b"half"
        with open(f, "rb") as r:
            assert r.read() == data[:500]
        assert xattr(f, "user.rc.status") == "Draft"
        w.stdin.write(b"go\n")
        w.stdin.flush()
        assert w.stdout.readline().strip() == b"closed"
    finally:
        w.kill()  # never left holding the mount
        w.wait()
    wait_for(lambda: gone(f), what="the whole fax sent")
    [got] = emu.sent()
    assert got["attachments"][0]["sha256"] == sha(data)


def test_a_document_of_another_type_is_refused_at_close(emu, mount, tmp_path):
    rdir = recipient(mount, "Fax", "+16505551240")
    f = os.path.join(rdir, "prog")
    fh = open(f, "wb")
    fh.write(b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    with pytest.raises(OSError) as e:
        fh.close()
    assert e.value.errno == errno.EINVAL
    assert xattr(f, "user.rc.status") == "SendingFailed"
    assert "not a document a fax can carry" in xattr(f, "user.rc.error")
    # cp says so too, and nothing is sent for either.
    r = subprocess.run(["cp", "/bin/true", rdir + "/"], capture_output=True, text=True)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    os.unlink(f)
    assert os.listdir(rdir) == ["true"]
    assert emu.route_count("fax") == 0 and emu.sent() == []


def test_a_number_that_fails_keeps_the_file_with_the_error_until_sent_again(emu, mount,
                                                                             tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+15550001234")
    f = os.path.join(rdir, "doc.pdf")
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: xattr(f, "user.rc.status") == "SendingFailed", what="SendingFailed")
    assert "NoFaxMachine" in xattr(f, "user.rc.error")
    [first] = emu.sent()
    assert xattr(f, "user.rc.id") == first["id"]
    assert open(f, "rb").read() == data
    # It stays across a remount.
    mount.restart()
    assert xattr(f, "user.rc.status") == "SendingFailed"
    assert "NoFaxMachine" in xattr(f, "user.rc.error")
    # Copying it again is a new send.
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: len(emu.sent()) == 2, what="the second send")
    wait_for(lambda: xattr(f, "user.rc.status") == "SendingFailed", what="failed again")
    assert emu.sent()[1]["id"] != first["id"]
    os.unlink(f)
    assert os.listdir(rdir) == []
    mount.restart()
    assert os.listdir(outbox(mount, "Fax", "+15550001234")) == []
    assert len(emu.sent()) == 2


def test_removing_a_queued_file_at_once_cancels_it(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551241")
    f = os.path.join(rdir, "doc.pdf")
    with open(f, "wb") as fh:
        fh.write(data)
    os.unlink(f)  # within the hold after the close: nothing has left
    other = recipient(mount, "Fax", "+16505551242")
    subprocess.run(["cp", src, other + "/"], check=True)
    wait_for(lambda: gone(os.path.join(other, "doc.pdf")), what="the later fax sent")
    assert [s["to"] for s in emu.sent()] == [["+16505551242"]]


def test_cover_page_from_the_option_and_from_the_folder(emu, make_mount, tmp_path):
    mount = make_mount(emu, opts={"fax_cover": "3"}).start()
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505551243")
    assert xattr(rdir, "user.rc.coverIndex") == "3"
    assert "user.rc.coverIndex" in os.listxattr(rdir)
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: gone(os.path.join(rdir, "doc.pdf")))
    for bad in (b"99", b"x", b"-1"):
        with pytest.raises(OSError) as e:
            os.setxattr(rdir, "user.rc.coverIndex", bad)
        assert e.value.errno == errno.EINVAL
    os.setxattr(rdir, "user.rc.coverIndex", b"6")
    mount.restart()
    assert xattr(rdir, "user.rc.coverIndex") == "6"
    subprocess.run(["cp", src, os.path.join(rdir, "again.pdf")], check=True)
    wait_for(lambda: gone(os.path.join(rdir, "again.pdf")))
    os.removexattr(rdir, "user.rc.coverIndex")
    assert xattr(rdir, "user.rc.coverIndex") == "3"
    assert [s["coverIndex"] for s in emu.sent()] == [3, 6]


# ---------------------------------------------------------------- SMS and pager

def test_an_sms_and_a_pager_message_arrive_with_text_and_sender(emu, mount):
    sms = recipient(mount, "SMS", "+16505552100")
    pager = recipient(mount, "Pager", "102")
    with open(os.path.join(sms, "note.txt"), "w") as f:
        f.write("Café at 3? ☕ 😀\n")  # the final newline is not sent
    subprocess.run(["sh", "-c", "echo 'Standup in 5' > '%s/p.txt'" % pager], check=True)
    wait_for(lambda: gone(os.path.join(sms, "note.txt")) and gone(os.path.join(pager, "p.txt")))
    by_type = {s["type"]: s for s in emu.sent()}
    assert by_type["SMS"]["from"] == "+16505550101" and by_type["SMS"]["to"] == ["+16505552100"]
    assert by_type["SMS"]["text"] == "Café at 3? ☕ 😀"
    assert by_type["Pager"]["from"] == "101" and by_type["Pager"]["to"] == ["102"]
    assert by_type["Pager"]["text"] == "Standup in 5"
    folder = wait_for(lambda: message_folder(mount, "SMS", by_type["SMS"]["id"]))
    assert json.load(open(os.path.join(folder, "meta.json")))["direction"] == "Outbound"
    # The other extension received the pager message.
    os.utime(mount.path)
    inbox = mount.p("102", "Pager")
    texts = [open(os.path.join(inbox, n, "message.txt")).read() for n in os.listdir(inbox)
             if os.path.exists(os.path.join(inbox, n, "message.txt"))]
    assert "Standup in 5" in texts


def test_an_sms_that_cannot_be_delivered_stays_with_the_servers_code(emu, mount):
    sms = recipient(mount, "SMS", "+15550001111")
    f = os.path.join(sms, "hello.txt")
    with open(f, "w") as fh:
        fh.write("are you there?\n")
    wait_for(lambda: xattr(f, "user.rc.status") == "SendingFailed", what="SendingFailed")
    assert "SMS-UP-410" in xattr(f, "user.rc.error")
    [got] = emu.sent()
    assert got["text"] == "are you there?" and got["status"] == "SendingFailed"


def test_text_over_the_limit_is_efbig_at_write(emu, mount):
    sms = recipient(mount, "SMS", "+16505552101")
    f = os.path.join(sms, "long.txt")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT)
    assert os.write(fd, ("a" * 999).encode()) == 999
    with pytest.raises(OSError) as e:
        os.write(fd, b"bb")
    assert e.value.errno == errno.EFBIG
    assert os.write(fd, b"b\n") == 2  # exactly the limit, and a final newline
    os.close(fd)
    wait_for(lambda: gone(f))
    assert [s["text"] for s in emu.sent()] == ["a" * 999 + "b"]
    with pytest.raises(OSError) as e:
        with open(os.path.join(sms, "emoji.txt"), "w") as fh:
            fh.write("😀" * 501)  # 1002 UTF-16 units
            fh.flush()
    assert e.value.errno == errno.EFBIG
    assert len(emu.sent()) == 1


def test_sms_from_option(emu, make_mount):
    emu.send_config(phone_numbers={"101": [
        {"phoneNumber": "+16505550101", "features": ["SmsSender"]},
        {"phoneNumber": "+16505550199", "features": ["SmsSender"]}]})
    mount = make_mount(emu, opts={"sms_from": "+16505550199"}).start()
    sms = recipient(mount, "SMS", "+16505552102")
    with open(os.path.join(sms, "m"), "w") as f:
        f.write("from the second number")
    wait_for(lambda: gone(os.path.join(sms, "m")))
    [got] = emu.sent()
    assert got["from"] == "+16505550199"
    assert emu.route_count("phone_numbers") == 0


# ---------------------------------------------------------------- exactly once

def test_a_429_while_sending_delays_but_sends_exactly_once(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505552200")
    emu.config(penalty=2)
    emu.set_faults(script=[{"route": "fax", "action": "status", "status": 429, "count": 1}])
    emu.reset_counts()
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: gone(os.path.join(rdir, "doc.pdf")))
    assert emu.route_count("fax") == 2 and emu.counts()["status"]["429"] == 1
    assert len(emu.sent()) == 1


@pytest.mark.parametrize("fault,requests", [("reset_after", 1), ("reset", 2)])
def test_an_unknown_outcome_is_reconciled_before_sending_again(emu, mount, tmp_path, fault,
                                                               requests):
    # reset_after: the server made the message, the answer was lost: found in
    # the store, never sent again.  reset: it made nothing: sent again, once.
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505552201")
    emu.set_faults(script=[{"route": "fax", "action": fault, "count": 1}])
    emu.reset_counts()
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: gone(os.path.join(rdir, "doc.pdf")))
    assert emu.route_count("fax") == requests
    [got] = emu.sent()
    assert got["attachments"][0]["sha256"] == sha(data)
    assert "outcome" in mount.log()


@pytest.mark.parametrize("fault,requests", [("reset_after", 1), ("reset", 2)])
def test_sms_unknown_outcome_is_matched_by_recipient_and_text(emu, mount, fault, requests):
    sms = recipient(mount, "SMS", "+16505552202")
    # An earlier SMS to the same number, with other text, is not taken for it.
    with open(os.path.join(sms, "first"), "w") as f:
        f.write("first text")
    wait_for(lambda: gone(os.path.join(sms, "first")))
    emu.set_faults(script=[{"route": "sms", "action": fault, "count": 1}])
    emu.reset_counts()
    with open(os.path.join(sms, "second"), "w") as f:
        f.write("second text")
    wait_for(lambda: gone(os.path.join(sms, "second")))
    assert [s["text"] for s in emu.sent()] == ["first text", "second text"]
    assert emu.route_count("sms") == requests


def test_kill_9_after_the_server_acted_then_remount_sends_once(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505552203")
    emu.set_faults(script=[{"route": "fax", "action": "delay", "ms": 3000, "count": 1}])
    emu.reset_counts()
    subprocess.run(["cp", src, rdir + "/"], check=True)
    wait_for(lambda: emu.route_count("fax") == 1, what="the fax request at the server")
    mount.kill()  # rcfs dies with the request in flight
    wait_for(lambda: len(emu.sent()) == 1, what="the server acting on it")
    emu.clear_faults()
    emu.reset_counts()
    mount.start()
    f = os.path.join(rdir, "doc.pdf")
    wait_for(lambda: gone(f), what="the fax reconciled and sent")
    assert emu.route_count("fax") == 0
    assert len(emu.sent()) == 1
    assert "reached the server" in mount.log()


def test_kill_9_right_after_the_close_then_remount_sends_once(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505552204")
    subprocess.run(["cp", src, rdir + "/"], check=True)
    mount.kill()  # within the hold: not attempted yet, but journaled
    mount.start()
    f = os.path.join(rdir, "doc.pdf")
    assert os.path.exists(f) or len(emu.sent()) == 1
    wait_for(lambda: gone(f), what="the fax sent after the remount")
    [got] = emu.sent()
    assert got["attachments"][0]["sha256"] == sha(data)


def test_no_outbox_mount_shows_none_and_keeps_pending_sends_for_later(emu, make_mount,
                                                                       tmp_path):
    src, data = a_pdf(tmp_path)
    mount = make_mount(emu).start()
    rdir = recipient(mount, "Fax", "+16505552206")
    subprocess.run(["cp", src, rdir + "/"], check=True)
    mount.kill()  # journaled, not sent yet
    off = make_mount(emu, opts={"outbox": "off"}).start()
    assert "Outbox" not in os.listdir(off.p(OWNER))
    with pytest.raises(OSError) as e:
        os.mkdir(off.p(OWNER, "Outbox"))
    assert e.value.errno == errno.EACCES
    assert open(os.path.join(off.p(OWNER, "Fax"), os.listdir(off.p(OWNER, "Fax"))[0],
                             "meta.json"), "rb").read()
    assert "pending in it wait for a mount with outbox=on" in off.log()
    off.stop()
    assert emu.sent() == []
    mount.start()
    wait_for(lambda: gone(os.path.join(rdir, "doc.pdf")), what="the fax sent by a mount with it")
    assert len(emu.sent()) == 1


# ---------------------------------------------------------------- file operations

def test_files_being_sent_cannot_change_and_drafts_can(emu, mount, tmp_path):
    src, data = a_pdf(tmp_path)
    rdir = recipient(mount, "Fax", "+16505552205")
    emu.config(penalty=30)
    emu.set_faults(script=[{"route": "fax", "action": "status", "status": 429, "count": 1}])
    f = os.path.join(rdir, "doc.pdf")
    subprocess.run(["cp", src, f], check=True)
    wait_for(lambda: xattr(f, "user.rc.status") == "Sending", what="the attempt waiting out a 429")
    for op in (lambda: open(f, "ab").write(b"x"), lambda: os.unlink(f),
               lambda: os.rename(f, os.path.join(rdir, "x.pdf")),
               lambda: os.truncate(f, 0)):
        with pytest.raises(OSError) as e:
            op()
        assert e.value.errno == errno.EBUSY
    assert open(f, "rb").read() == data
    with pytest.raises(OSError) as e:
        os.rmdir(rdir)
    assert e.value.errno == errno.ENOTEMPTY
    with pytest.raises(OSError) as e:
        os.rename(f, mount.p(OWNER, "Fax", "doc.pdf"))
    assert e.value.errno == errno.EXDEV
    # A draft: truncated, rewritten, renamed, removed.
    d = os.path.join(rdir, ".draft")
    with open(d, "wb") as fh:
        fh.write(b"0123456789")
    os.truncate(d, 4)
    assert open(d, "rb").read() == b"0123"
    os.rename(d, os.path.join(rdir, ".draft2"))
    os.unlink(os.path.join(rdir, ".draft2"))
    assert sorted(os.listdir(rdir)) == ["doc.pdf"]
