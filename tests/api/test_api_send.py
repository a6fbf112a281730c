"""The REST client's sending side (api/api_send.h) against the emulator,
driven through tests/tools/rcapi: fax, SMS, pager, cover pages, phone
numbers, and above all that a send is never repeated blindly.

Run: /usr/bin/python3 -m pytest -q tests/api/test_api_send.py (after building
rcapi; RCAPI=path selects the binary, scripts/test uses the ASan build).
Every test checks what the server received (GET /control/sent, the counts,
the content), not only what the client printed.
"""

import hashlib
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_client import rcapi, start_emu  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
import emu_content  # noqa: E402

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("send")
    emu, cred = start_emu(tmp, messages=40, extensions=2)
    yield emu, cred, tmp
    emu.stop()


@pytest.fixture
def emu(env):
    e, cred, tmp = env
    e.clear_faults()
    e.config(rate_limits=None, token_lifetime=3600)
    e.send_config(delay_ms=200, unreachable=[], phone_numbers={"101": None})
    e.reset_counts()
    e.cred = cred
    e.tmp = tmp
    return e


def write(emu, name, data):
    path = os.path.join(str(emu.tmp), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def a_pdf(emu, name="doc.pdf", *words):
    data = emu_content.make_pdf([[w] for w in (words or ("invoice", "page two"))])
    return write(emu, name, data), data


def new_sent(emu, before):
    return emu.sent()[before:]


def routes(emu):
    return emu.counts()["routes"]


def wait_for(fn, timeout=60):
    """fn() until truthy within a generous deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        time.sleep(0.2)


# ---------------------------------------------------------------------- fax
def test_pdf_fax_arrives_byte_for_byte(emu):
    path, data = a_pdf(emu)
    before = len(emu.sent())
    r = rcapi(emu.cred, "fax", "+1 (650) 555-2001", path)
    fax = r.one("fax")
    assert fax["rc"] == 0, r.err[-2000:]
    assert fax["type"] == "Fax" and fax["direction"] == "Outbound"
    assert fax["messageStatus"] == "Queued" and fax["peer"] == "+16505552001"
    [got] = new_sent(emu, before)
    assert got["id"] == fax["id"] and got["to"] == ["+16505552001"]
    assert got["encoding"] == "multipart/form-data"
    assert got["faxResolution"] == "High" and got["coverIndex"] == 0  # rcfs's defaults
    assert got["coverPageText"] is None
    assert got["attachments"] == [{"fileName": "doc.pdf", "contentType": "application/pdf",
                                   "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
    [att] = fax["attachments"]
    assert emu.content(fax["id"], att["id"]) == data
    assert routes(emu) == {"token": 1, "fax": 1}


def test_fax_several_documents_cover_page_and_recipients(emu):
    pdf, pdf_data = a_pdf(emu, "quote.pdf")
    txt = write(emu, "notes", "Please sign page 2.\n".encode())
    before = len(emu.sent())
    r = rcapi(emu.cred, "fax", "6505552002", pdf, "--file", txt, "--to", "+16505552003",
              "--cover", "6", "--cover-text", "Für Pat: urgent", "--resolution", "Low")
    assert r.one("fax")["rc"] == 0, r.err[-2000:]
    [got] = new_sent(emu, before)
    assert got["to"] == ["+16505552002", "+16505552003"]
    assert got["coverIndex"] == 6 and got["coverPageText"] == "Für Pat: urgent"
    assert got["faxResolution"] == "Low"
    assert [(a["fileName"], a["contentType"], a["sha256"]) for a in got["attachments"]] == [
        ("quote.pdf", "application/pdf", hashlib.sha256(pdf_data).hexdigest()),
        ("notes", "text/plain", hashlib.sha256(b"Please sign page 2.\n").hexdigest())]


def test_fax_refused_by_the_client_sends_nothing(emu):
    elf = write(emu, "prog", b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    huge = os.path.join(str(emu.tmp), "huge.pdf")
    with open(huge, "wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(50 * MIB + 1)  # sparse: costs no disk
    empty = write(emu, "empty.pdf", b"")
    pdf, _ = a_pdf(emu)
    cases = [(("fax", "+16505552004", elf), "EINVAL", "not a document a fax can carry"),
             (("fax", "+16505552004", huge), "EFBIG", "at most 52428800"),
             (("fax", "+16505552004", empty), "EINVAL", "empty"),
             (("fax", "12", pdf), "EINVAL", "not a phone number"),
             (("fax", "+16505552004", pdf, "--type", "application/zip"), "EINVAL", "type"),
             (("fax", "+16505552004", pdf, "--cover-text", "😀" * 513), "EMSGSIZE", "1026")]
    for args, errno, why in cases:
        r = rcapi(emu.cred, *args)
        res = r.one("fax")
        assert res["errno"] == errno and why in res["error"], (args, res)
    assert "fax" not in routes(emu)


def test_a_large_document_is_streamed_not_loaded(emu):
    path = os.path.join(str(emu.tmp), "large.pdf")
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for chunk in (b"%PDF-1.4\n", os.urandom(45 * MIB)):
            f.write(chunk)
            h.update(chunk)
    size_kb = os.path.getsize(path) // 1024
    before = len(emu.sent())
    r = rcapi(emu.cred, "fax", "+16505552005", path, "stats", timeout=300)
    assert r.one("fax")["rc"] == 0, r.err[-2000:]
    [got] = new_sent(emu, before)
    assert got["attachments"][0]["sha256"] == h.hexdigest()
    # the whole document never sat in the client's memory
    assert 0 < r.one("stats")["peak_rss_kb"] < size_kb, r.one("stats")
    os.unlink(path)


# ---------------------------------------------------------- SMS and pager
def test_sms_arrives_with_text_and_default_sender(emu):
    before = len(emu.sent())
    r = rcapi(emu.cred, "sms", "+16505552100", "Café at 3? ☕ 😀")
    sms = r.one("sms")
    assert sms["rc"] == 0, r.err[-2000:]
    assert sms["type"] == "SMS" and sms["subject"] == "Café at 3? ☕ 😀"
    assert sms["messageStatus"] == "Queued" and sms["conversationId"]
    [got] = new_sent(emu, before)
    assert got["from"] == "+16505550101" and got["to"] == ["+16505552100"]
    assert got["text"] == "Café at 3? ☕ 😀"
    assert routes(emu) == {"token": 1, "phone_numbers": 1, "sms": 1}  # sender looked up once
    r = rcapi(emu.cred, "sms", "+16505552100", "again", "--from", "+16505550101")
    assert r.one("sms")["conversationId"] == sms["conversationId"]
    assert routes(emu)["phone_numbers"] == 1


def test_over_long_text_is_refused_before_sending(emu):
    before = len(emu.sent())
    for args, units in ((("sms", "+16505552101", "a" * 1001), 1001),
                        (("sms", "+16505552101", "😀" * 500 + "a"), 1001),
                        (("pager", "102", "b" * 1025), 1025)):
        r = rcapi(emu.cred, *args, "--from", "+16505550101") if args[0] == "sms" else \
            rcapi(emu.cred, *args)
        res = r.one(args[0])
        assert res["errno"] == "EMSGSIZE", res
        assert "%d UTF-16 units" % units in res["error"] and "at most" in res["error"]
    assert routes(emu) == {}  # not even a token: nothing left the client
    assert len(emu.sent()) == before
    # exactly at the limits the spec states: sent
    assert rcapi(emu.cred, "sms", "+16505552101", "😀" * 500, "--from",
                 "+16505550101").one("sms")["rc"] == 0
    assert rcapi(emu.cred, "pager", "102", "b" * 1024).one("pager")["rc"] == 0


def test_sms_refusals_say_why(emu):
    r = rcapi(emu.cred, "sms", "+16505552102", "x", "--from", "+16505551101")
    res = r.one("sms")
    assert res["errno"] == "EACCES" and "403 MSG-241" in res["error"], res
    emu.send_config(phone_numbers={"101": [{"phoneNumber": "+16505550101",
                                            "features": ["CallerId"]}]})
    r = rcapi(emu.cred, "sms", "+16505552102", "x")
    res = r.one("sms")
    assert res["errno"] == "EACCES" and "SmsSender" in res["error"], res
    assert routes(emu)["sms"] == 1  # only the first, which the server refused


def test_pager_arrives_with_text_and_sender(emu):
    other = emu.extensions()[1]["id"]
    theirs = len(emu.messages(other))
    before = len(emu.sent())
    r = rcapi(emu.cred, "pager", "102", "Standup in 5")
    pager = r.one("pager")
    assert pager["rc"] == 0, r.err[-2000:]
    assert pager["type"] == "Pager" and pager["peer"] == "102"
    [got] = new_sent(emu, before)
    assert got["from"] == "101" and got["to"] == ["102"] and got["text"] == "Standup in 5"
    [copy] = emu.messages(other)[theirs:]
    rec = emu.truth(copy["id"])["record"]
    assert rec["from"]["extensionNumber"] == "101" and rec["subject"] == "Standup in 5"
    assert routes(emu) == {"token": 1, "pager": 1}


# ------------------------------------------------- never repeated blindly
def test_429_on_send_waits_then_sends_exactly_once(emu):
    emu.config(penalty=2)
    emu.set_faults(script=[{"route": "fax", "action": "status", "status": 429, "count": 1}])
    path, data = a_pdf(emu)
    before = len(emu.sent())
    t0 = time.monotonic()
    r = rcapi(emu.cred, "fax", "+16505552200", path, "stats")
    assert r.one("fax")["rc"] == 0, r.err[-2000:]
    assert time.monotonic() - t0 >= 1.5  # Retry-After: 2 was waited out
    assert routes(emu)["fax"] == 2 and emu.counts()["status"]["429"] == 1
    assert len(new_sent(emu, before)) == 1
    assert r.one("stats")["rate_limited"] == 1


def test_reset_after_acting_is_reported_unknown_and_not_resent(emu):
    emu.set_faults(script=[{"route": "fax", "action": "reset_after", "count": 1}])
    path, _ = a_pdf(emu)
    before = len(emu.sent())
    r = rcapi(emu.cred, "fax", "+16505552201", path)
    res = r.one("fax")
    assert res["errno"] == "EINPROGRESS" and "outcome unknown" in res["error"], res
    assert routes(emu)["fax"] == 1                  # not sent again...
    assert len(new_sent(emu, before)) == 1          # ...though the server did act


@pytest.mark.parametrize("fault", [{"action": "reset"},
                                   {"action": "status", "status": 503}])
def test_other_unknown_outcomes_are_not_resent(emu, fault):
    emu.set_faults(script=[dict(fault, route="sms", count=1)])
    before = len(emu.sent())
    r = rcapi(emu.cred, "sms", "+16505552202", "maybe", "--from", "+16505550101")
    assert r.one("sms")["errno"] == "EINPROGRESS", r.one("sms")
    assert routes(emu)["sms"] == 1
    assert len(new_sent(emu, before)) == 0  # here the server had not acted: the caller checks


def test_pacing_in_the_heavy_group(emu):
    emu.config(rate_limits={"Heavy": 1}, rate_window=3)
    path, _ = a_pdf(emu)
    before = len(emu.sent())
    r = rcapi(emu.cred, "fax", "+16505552203", path, "fax", "+16505552204", path,
              "sms", "+16505552205", "meanwhile", "--from", "+16505550101")
    assert [x["rc"] for x in r.ops("fax")] == [0, 0] and r.one("sms")["rc"] == 0
    assert emu.counts()["status"].get("429", 0) == 0  # the pacer waited for Heavy's window
    assert len(new_sent(emu, before)) == 3


def test_unreachable_server_is_known_not_sent(emu, tmp_path):
    path = emu.write_credentials(str(tmp_path / "c"), server_url="http://127.0.0.1:1")
    r = rcapi(path, "sms", "+16505552206", "x", "--from", "+16505550101", opts=["-t", "3"])
    res = r.one("sms")
    assert res["errno"] == "EHOSTUNREACH" and res["error"].startswith("not sent"), res


# ------------------------------------------------------- status and lookups
def test_number_that_cannot_receive_ends_sending_failed_via_sync(emu):
    ext = emu.extensions()[0]["id"]
    start = rcapi(emu.cred, "sync", ext)
    token = start.one("sync")["token"]
    path, _ = a_pdf(emu)
    fax = rcapi(emu.cred, "fax", "+15550001234", path).one("fax")
    assert fax["rc"] == 0 and fax["messageStatus"] == "Queued"

    def failed():
        recs = [x for x in rcapi(emu.cred, "sync", ext, token).ops("record")
                if x["id"] == fax["id"]]
        return recs and recs[-1]["messageStatus"] == "SendingFailed" and recs[-1]
    rec = wait_for(failed)
    assert rec["type"] == "Fax" and rec["direction"] == "Outbound"


def test_cover_pages_and_phone_numbers(emu):
    r = rcapi(emu.cred, "covers", "numbers")
    covers = r.ops("cover")
    assert r.one("covers")["count"] == 14 and covers[0] == {"op": "cover", "index": 0,
                                                             "name": "None"}
    assert {"op": "cover", "index": 6, "name": "Confidential"} in covers
    numbers = r.ops("number")
    assert [(n["number"], n["sms"]) for n in numbers] == [
        ("+16505550101", True), ("+16505551101", False), ("+16505550100", False)]
    assert numbers[1]["type"] == "FaxOnly" and numbers[2]["usageType"] == "MainCompanyNumber"
    assert routes(emu) == {"token": 1, "cover_pages": 1, "phone_numbers": 1}
