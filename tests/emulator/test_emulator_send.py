"""The emulator's send endpoints (README "Sending"): fax in both multipart
forms, SMS, pager, phone numbers, cover pages, their refusals, limits, rate
groups, faults, status changes and GET /control/sent.

Black-box like test_emulator.py: HTTP to a real rcemu subprocess (this
module gets its own, from conftest.py).
"""

import base64
import hashlib
import json
import time

import pytest

import emu_content
from emu_harness import Emu, http_request

FAX = "/restapi/v1.0/account/~/extension/%s/fax"
SMS = "/restapi/v1.0/account/~/extension/%s/sms"
PAGER = "/restapi/v1.0/account/~/extension/%s/company-pager"
NUMBERS = "/restapi/v1.0/account/~/extension/%s/phone-number"
COVERS = "/restapi/v1.0/dictionary/fax-cover-page"
MIB = 1024 * 1024
BOUNDARY = "Boundary_14_2952358_1361963763144"


@pytest.fixture(autouse=True)
def quick(emu):
    """Sent messages leave Queued 200 ms after they arrive; faults cleared."""
    emu.control("POST", "/control/send-config", {"delay_ms": 200, "unreachable": []})
    emu.control("POST", "/control/faults", {})
    yield


def part(headers, data):
    head = "".join("%s: %s\r\n" % kv for kv in headers).encode()
    return head + b"\r\n" + (data.encode() if isinstance(data, str) else data)


def multipart(parts, boundary=BOUNDARY):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n" + p + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def field(name, value):
    return part([("Content-Disposition", 'form-data; name="%s"; filename=""' % name),
                 ("Content-Transfer-Encoding", "8bit"), ("Content-Type", "text/plain")], value)


def document(data, filename="doc.pdf", ctype="application/pdf", name="attachment"):
    headers = [("Content-Disposition", 'form-data; name="%s"; filename="%s"' % (name, filename))]
    if ctype:
        headers.append(("Content-Type", ctype))
    return part(headers, data)


def form_fax(emu, token, parts, ext="~", ctype="multipart/form-data"):
    return emu.api("POST", FAX % ext, token, multipart(parts),
                   {"Content-Type": "%s; boundary=%s" % (ctype, BOUNDARY)})


def pdf(*words):
    return emu_content.make_pdf([[w] for w in words] or [["page"]])


def sent(emu):
    return emu.control("GET", "/control/sent")


def wait_for(fn, timeout=30):
    """fn() until truthy, within a generous deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        time.sleep(0.05)


def record(emu, token, mid):
    r = emu.api("GET", emu.store("~", "/%s" % mid), token)
    assert r.status == 200, r
    return r.json()


def status_is(emu, token, mid, status):
    return lambda: record(emu, token, mid)["messageStatus"] == status and record(emu, token, mid)


def error(r, status, code, top=None, parameter=None):
    assert r.status == status, r
    body = r.json()
    assert body["errors"][0]["errorCode"] == code, body
    if top is not None:
        assert body["errorCode"] == top, body
    if parameter is not None:
        assert body["errors"][0]["parameterName"] == parameter, body
    return body


def fetch(emu, token, att):
    r = http_request(att["uri"], headers={"Authorization": "Bearer " + token})
    assert r.status == 200, r
    return r.body


# ---------------------------------------------------------------------- fax
def test_fax_form_data_pdf(emu, token):
    doc = pdf("invoice", "second page")
    before = len(sent(emu))
    sync = emu.api("GET", emu.store("~", "").replace("message-store", "message-sync")
                   + "?syncType=FSync", token).json()["syncInfo"]["syncToken"]
    r = form_fax(emu, token, [field("to", "+16505552001"), field("faxResolution", "High"),
                              field("coverIndex", "0"), document(doc, "invoice.pdf")])
    assert r.status == 200, r
    assert r.header("x-rate-limit-group") == "Heavy"
    rec = r.json()
    assert rec["type"] == "Fax" and rec["direction"] == "Outbound"
    assert rec["messageStatus"] == "Queued" and rec["availability"] == "Alive"
    assert rec["to"] == [{"phoneNumber": "+16505552001", "messageStatus": "Queued"}]
    assert rec["faxResolution"] == "High" and rec["coverIndex"] == 0
    assert rec["faxPageCount"] == 0 and "coverPageText" not in rec
    [att] = rec["attachments"]
    assert att["type"] == "RenderedDocument" and att["contentType"] == "application/pdf"
    assert fetch(emu, token, att) == doc  # one PDF, no cover: the very bytes received
    entries = sent(emu)[before:]
    assert len(entries) == 1
    e = entries[0]
    assert e["id"] == str(rec["id"]) and e["type"] == "Fax" and e["to"] == ["+16505552001"]
    assert e["encoding"] == "multipart/form-data" and e["envelope"] == "fields"
    assert e["attachments"] == [{"fileName": "invoice.pdf", "contentType": "application/pdf",
                                 "size": len(doc), "sha256": hashlib.sha256(doc).hexdigest()}]
    done = wait_for(status_is(emu, token, rec["id"], "Sent"))
    assert done["faxPageCount"] == 2
    assert done["to"] == [{"phoneNumber": "+16505552001", "messageStatus": "Sent"}]
    assert done["lastModifiedTime"] > rec["lastModifiedTime"]
    assert wait_for(lambda: sent(emu)[before]["status"] == "Sent")
    listed = emu.api("GET", emu.store("~", "?messageType=Fax&direction=Outbound"), token).json()
    assert rec["id"] in [x["id"] for x in listed["records"]]
    isync = emu.api("GET", emu.store("~", "").replace("message-store", "message-sync")
                    + "?syncType=ISync&syncToken=" + sync, token).json()
    mine = [x for x in isync["records"] if x["id"] == rec["id"]]
    assert mine and mine[0]["messageStatus"] == "Sent"


def test_fax_multipart_mixed_text_and_default_cover(emu, token):
    env = {"to": [{"phoneNumber": "18005554567"}], "faxResolution": "Low"}
    body = multipart([part([("Content-Type", "application/json")], json.dumps(env)),
                      part([("Content-Disposition", 'attachment; filename="fax.txt"')],
                           "Hello, World!\nsecond line")])
    r = emu.api("POST", FAX % "~", token, body,
                {"Content-Type": "multipart/mixed; boundary=" + BOUNDARY})
    assert r.status == 200, r
    rec = r.json()
    assert rec["to"][0]["phoneNumber"] == "+18005554567"
    assert rec["coverIndex"] == 6 and rec["faxResolution"] == "Low"  # omitted: account default
    rendered = fetch(emu, token, rec["attachments"][0])
    assert rendered.startswith(b"%PDF-") and b"(Hello, World!)" in rendered
    assert b"Cover page: Confidential" in rendered
    assert sent(emu)[-1]["attachments"][0]["contentType"] == "text/plain"  # from the name
    assert sent(emu)[-1]["encoding"] == "multipart/mixed"
    assert wait_for(status_is(emu, token, rec["id"], "Sent"))["faxPageCount"] == 2


def test_fax_quoted_printable_document_and_configured_default_cover(emu, token):
    emu.control("POST", "/control/send-config", {"default_cover": 13})
    try:
        r = form_fax(emu, token, [field("to", "+16505552010"), part([
            ("Content-Disposition", 'form-data; name="attachment"; filename="n.txt"'),
            ("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "quoted-printable")],
            "caf=C3=A9 =\r\nsoon")])
    finally:
        emu.control("POST", "/control/send-config", {"default_cover": 6})
    assert r.status == 200, r
    assert r.json()["coverIndex"] == 13
    assert sent(emu)[-1]["attachments"][0]["sha256"] == \
        hashlib.sha256("café soon".encode()).hexdigest()


def test_fax_send_time_in_the_future_stays_queued(emu, token):
    later = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
    held = form_fax(emu, token, [field("to", "+16505552011"), field("sendTime", later),
                                 document(pdf("x"))]).json()
    now = form_fax(emu, token, [field("to", "+16505552012"), document(pdf("x"))]).json()
    assert wait_for(status_is(emu, token, now["id"], "Sent"))
    # the one sent after it is done; the held one is still waiting for its time
    assert record(emu, token, held["id"])["messageStatus"] == "Queued"


def test_fax_form_data_json_envelope_base64_octet_stream(emu, token):
    doc = pdf("one", "two", "three")
    env = {"to": [{"phoneNumber": "+16505552002", "name": "Pat"}], "faxResolution": "High",
           "coverIndex": 3, "coverPageText": "Über urgent"}
    r = form_fax(emu, token, [
        part([("Content-Disposition", 'form-data; name="json"; filename="request.json"'),
              ("Content-Type", "application/json")], json.dumps(env)),
        part([("Content-Disposition", 'form-data; name="attachment"; filename="x.pdf"'),
              ("Content-Type", "application/octet-stream"),
              ("Content-Transfer-Encoding", "base64")], base64.encodebytes(doc))])
    assert r.status == 200, r
    rec = r.json()
    assert rec["coverIndex"] == 3 and rec["coverPageText"] == "Über urgent"
    assert rec["to"] == [{"phoneNumber": "+16505552002", "name": "Pat", "messageStatus": "Queued"}]
    e = sent(emu)[-1]
    assert e["envelope"] == "json" and e["attachments"][0]["sha256"] == \
        hashlib.sha256(doc).hexdigest() and e["attachments"][0]["contentType"] == "application/pdf"
    rendered = fetch(emu, token, rec["attachments"][0])
    assert rendered != doc and b"Cover page: Blank" in rendered
    assert wait_for(status_is(emu, token, rec["id"], "Sent"))["faxPageCount"] == 4


def test_fax_several_documents_and_recipients(emu, token):
    r = form_fax(emu, token, [field("to", "+16505552003"), field("to", "+15550001234"),
                              field("coverIndex", "0"), document(pdf("a")),
                              document(b"plain text\n", "notes.txt", "text/plain")])
    assert r.status == 200, r
    rec = wait_for(status_is(emu, token, r.json()["id"], "Sent"))
    assert rec["faxPageCount"] == 2
    assert rec["to"] == [{"phoneNumber": "+16505552003", "messageStatus": "Sent"},
                         {"phoneNumber": "+15550001234", "messageStatus": "SendingFailed",
                          "faxErrorCode": "NoFaxMachine"}]


@pytest.mark.parametrize("parts,status,code,param", [
    ([field("faxResolution", "High")], 400, "CMN-100", "to"),
    ([field("to", "12ab"), "PDF"], 400, "CMN-101", "to.phoneNumber"),
    ([field("to", "+16505552004"), field("to", "(650) 555-2004"), "PDF"], 400, "CMN-406", "to"),
    ([field("to", "+16505552004")], 400, "CMN-100", "attachment"),
    ([field("to", "+16505552004"), document(b"")], 400, "MSG-347", None),
    ([field("to", "+16505552004"), document(b"PK\x03\x04zz", "a.zip", "application/zip")],
     415, "MSG-348", None),
    ([field("to", "+16505552004"), document(b"\x00\x01", "blob.bin", "application/octet-stream")],
     415, "MSG-348", None),
    ([field("to", "+16505552004"), part([("Content-Type", "application/pdf")], b"%PDF-1.4")],
     400, "MSG-350", None),
    ([field("to", "+16505552004"),
      part([("Content-Disposition", 'form-data; name="attachment"'),
            ("Content-Type", "application/pdf")], b"%PDF-1.4")], 400, "MSG-351", None),
    ([field("to", "+16505552004"), field("faxResolution", "Medium"), "PDF"],
     400, "CMN-101", "faxResolution"),
    ([field("to", "+16505552004"), field("coverIndex", "14"), "PDF"], 400, "CMN-101", "coverIndex"),
    ([field("to", "+16505552004"), field("coverPageText", "😀" * 513), "PDF"],
     400, "CMN-101", "coverPageText"),
    ([field("to", "+16505552004"), field("sendTime", "tomorrow"), "PDF"], 400, "CMN-101",
     "sendTime"),
    ([field("to", "+16505552004"), field("isoCode", "uk"), "PDF"], 400, "CMN-101", "isoCode"),
    ([part([("Content-Disposition", 'form-data; name="json"; filename="r.json"'),
            ("Content-Type", "application/json")], '{"to": "+16505552004"}'), "PDF"],
     400, "CMN-101", "to"),
    ([part([("Content-Disposition", 'form-data; name="json"; filename="r.json"'),
            ("Content-Type", "application/json")], '{"to": ["+16505552004"]}'), "PDF"],
     400, "CMN-101", "to"),
    ([part([("Content-Disposition", 'form-data; name="json"; filename="r.json"'),
            ("Content-Type", "application/json")], '{"to": [{"name": "Pat"}]}'), "PDF"],
     400, "CMN-100", "to.phoneNumber"),
    ([part([("Content-Disposition", 'form-data; name="json"; filename="r.json"'),
            ("Content-Type", "application/json")], "{not json"), "PDF"], 400, "MSG-349", None),
])
def test_fax_refusals_create_nothing(emu, token, parts, status, code, param):
    parts = [document(pdf("x")) if p == "PDF" else p for p in parts]
    before = len(sent(emu))
    mine = len(emu.control("GET", "/control/extensions/%s/messages" % emu.ext_id(0)))
    r = form_fax(emu, token, parts)
    error(r, status, code, "InvalidParameter" if status == 400 else None, param)
    assert len(sent(emu)) == before
    assert len(emu.control("GET", "/control/extensions/%s/messages" % emu.ext_id(0))) == mine


def test_fax_envelope_and_media_type_refusals(emu, token):
    mixed = {"Content-Type": "multipart/mixed; boundary=" + BOUNDARY}
    doc = part([("Content-Disposition", 'attachment; filename="a.pdf"')], pdf("x"))
    r = emu.api("POST", FAX % "~", token, multipart([doc, doc]), mixed)  # no JSON first
    error(r, 400, "MSG-349")
    r = emu.api("POST", FAX % "~", token, multipart([
        part([("Content-Type", "application/json")], '{"to":[{"phoneNumber":"+16505552005"}]}'),
        part([("Content-Type", "application/pdf")], pdf("x"))]), mixed)
    error(r, 400, "MSG-350")
    cut = multipart([field("to", "+16505552005"), document(pdf("x"))])[:-30]
    r = emu.api("POST", FAX % "~", token, cut,
                {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    error(r, 400, "MSG-349")
    r = emu.api("POST", FAX % "~", token, b"%PDF-1.4", {"Content-Type": "application/pdf"})
    assert r.status == 415, r
    r = emu.api("POST", FAX % "~", token, {"originalMessageId": "1"})
    assert r.status == 501 and r.json()["errorCode"] == "CMN-202", r


def test_fax_size_limits(emu, token):
    big = b"%PDF-1.4\n" + b"0" * (50 * MIB - 9)
    assert len(big) == 50 * MIB
    before = len(sent(emu))
    r = form_fax(emu, token, [field("to", "+16505552006"), field("coverIndex", "0"),
                              document(big + b"0")])
    error(r, 400, "MSG-337", "InvalidParameter")
    half = b"%PDF-1.4\n" + b"0" * (25 * MIB)
    r = form_fax(emu, token, [field("to", "+16505552006"), document(half), document(half)])
    error(r, 400, "MSG-338", "InvalidParameter")
    assert len(sent(emu)) == before
    r = form_fax(emu, token, [field("to", "+16505552006"), field("coverIndex", "0"),
                              document(big)])
    assert r.status == 200, r  # exactly 50 MiB is allowed
    assert sent(emu)[-1]["attachments"][0]["size"] == 50 * MIB
    # over the body limits (55 MiB for a fax, 10 MiB for an SMS): refused from
    # the headers, before the body is read
    assert announce(emu, token, FAX % "~", 55 * MIB + 1).startswith(b"HTTP/1.1 413")
    assert announce(emu, token, SMS % "~", 10 * MIB + 1).startswith(b"HTTP/1.1 413")


def announce(emu, token, path, length):
    """Send only the headers of a POST announcing length bytes; the answer's start."""
    import socket
    import urllib.parse
    u = urllib.parse.urlsplit(emu.server)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n"
                   % (path, token, length)).encode())
        return s.recv(64)


def test_fax_numbers_that_cannot_receive_and_broken_documents(emu, token):
    r = form_fax(emu, token, [field("to", "+15550009999"), document(pdf("x"))])
    rec = wait_for(status_is(emu, token, r.json()["id"], "SendingFailed"))
    assert rec["to"][0]["faxErrorCode"] == "NoFaxMachine"
    assert wait_for(lambda: sent(emu)[-1]["status"] == "SendingFailed")
    emu.control("POST", "/control/send-config", {"unreachable": ["(650) 555-2099"]})
    r = form_fax(emu, token, [field("to", "+16505552099"), document(pdf("x"))])
    assert wait_for(status_is(emu, token, r.json()["id"], "SendingFailed"))
    r = form_fax(emu, token, [field("to", "+16505552007"), document(b"not a pdf at all")])
    rec = wait_for(status_is(emu, token, r.json()["id"], "SendingFailed"))
    assert rec["to"][0]["faxErrorCode"] == "RenderingFailed"


def test_only_the_own_extension_sends(emu, token):
    other, own = emu.ext_id(1), emu.ext_id(0)
    r = form_fax(emu, token, [field("to", "+16505552008"), document(pdf("x"))], ext=other)
    error(r, 403, "CMN-404")
    body = {"from": {"phoneNumber": "+16505550102"}, "to": [{"phoneNumber": "+16505552008"}],
            "text": "x"}
    error(emu.api("POST", SMS % other, token, body), 403, "CMN-404")
    error(emu.api("POST", PAGER % other, token, {"to": [{"extensionNumber": "101"}], "text": "x"}),
          403, "CMN-404")
    body["from"]["phoneNumber"] = "+16505550101"
    assert emu.api("POST", SMS % own, token, body).status == 200


# ---------------------------------------------------------------------- SMS
def sms(emu, token, text, to="+16505552100", frm="+16505550101"):
    return emu.api("POST", SMS % "~", token, {"from": {"phoneNumber": frm},
                                             "to": [{"phoneNumber": to}], "text": text})


def test_sms_record_conversation_and_status(emu, token):
    r = sms(emu, token, "Café at 3? ☕")
    assert r.status == 200 and r.header("x-rate-limit-group") == "Medium", r
    rec = r.json()
    assert rec["type"] == "SMS" and rec["direction"] == "Outbound"
    assert rec["from"] == {"phoneNumber": "+16505550101"}
    assert rec["to"] == [{"phoneNumber": "+16505552100"}]
    assert rec["subject"] == "Café at 3? ☕" and rec["messageStatus"] == "Queued"
    assert fetch(emu, token, rec["attachments"][0]) == "Café at 3? ☕".encode()
    assert rec["conversation"]["id"] == str(rec["conversationId"])
    again = sms(emu, token, "second").json()
    assert again["conversationId"] == rec["conversationId"]
    assert sms(emu, token, "elsewhere", to="+16505552101").json()["conversationId"] != \
        rec["conversationId"]
    conv = emu.api("GET", emu.store("~", "?conversationId=%d" % rec["conversationId"]),
                   token).json()["records"]
    assert {x["id"] for x in conv} == {rec["id"], again["id"]}
    assert wait_for(status_is(emu, token, rec["id"], "Sent"))
    e = [x for x in sent(emu) if x["id"] == str(rec["id"])][0]
    assert e["type"] == "SMS" and e["text"] == "Café at 3? ☕" and e["from"] == "+16505550101"


def test_sms_to_a_known_peer_joins_its_conversation(emu, token):
    url = emu.store("~", "?messageType=SMS&direction=Inbound&dateFrom=2000-01-01T00:00:00Z")
    generated = [x for x in emu.api("GET", url, token).json()["records"]
                 if x.get("from", {}).get("phoneNumber")]
    peer = generated[-1]
    reply = sms(emu, token, "reply", to=peer["from"]["phoneNumber"]).json()
    assert reply["conversationId"] == peer["conversationId"]


def test_sms_text_limit_is_1000_utf16_units(emu, token):
    assert sms(emu, token, "😀" * 500).status == 200   # 1000 code units
    assert sms(emu, token, "a" * 1000).status == 200
    error(sms(emu, token, "😀" * 500 + "a"), 400, "CMN-101", "InvalidParameter", "text")
    error(sms(emu, token, "a" * 1001), 400, "CMN-101", parameter="text")
    error(sms(emu, token, ""), 400, "CMN-101", parameter="text")


def test_sms_sender_rules(emu, token):
    error(sms(emu, token, "x", frm="+16505550102"), 403, "MSG-304", "FeatureNotAvailable")
    error(sms(emu, token, "x", frm="+14155550123"), 400, "MSG-245", "InvalidParameter")
    error(sms(emu, token, "x", frm="+16505551101"), 403, "MSG-241", "FeatureNotAvailable")
    error(sms(emu, token, "x", frm="+16505550100"), 403, "MSG-242")
    error(sms(emu, token, "x", frm="101"), 400, "MSG-246")
    error(sms(emu, token, "x", to="102"), 400, "MSG-246")
    error(sms(emu, token, "x", to="+442071234567"), 403, "MSG-240")
    r = emu.api("POST", SMS % "~", token, {"to": [{"phoneNumber": "+16505552100"}], "text": "x"})
    error(r, 400, "CMN-100")
    r = emu.api("POST", SMS % "~", token, b"{", {"Content-Type": "application/json"})
    error(r, 400, "CMN-103")
    r = emu.api("POST", SMS % "~", token, multipart([field("text", "x")]),
                {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    assert r.status == 501 and r.json()["errorCode"] == "CMN-202", r
    emu.control("POST", "/control/send-config", {"phone_numbers": {"101": [
        {"phoneNumber": "+16505550101", "features": ["CallerId"]},
        {"phoneNumber": "+16505553333", "features": ["SmsSender"]}]}})
    try:
        error(sms(emu, token, "x"), 403, "MSG-242")
        assert sms(emu, token, "x", frm="+16505553333").status == 200
        nums = emu.api("GET", NUMBERS % "~", token).json()["records"]
        assert [n["phoneNumber"] for n in nums] == ["+16505550101", "+16505553333"]
    finally:
        emu.control("POST", "/control/send-config", {"phone_numbers": {"101": None}})
    assert sms(emu, token, "x").status == 200


def test_sms_to_a_number_that_cannot_receive(emu, token):
    rec = sms(emu, token, "hello?", to="+15550004321").json()
    done = wait_for(status_is(emu, token, rec["id"], "SendingFailed"))
    assert done["deliveryErrorCode"] == "SMS-UP-410"


# -------------------------------------------------------------------- pager
def test_pager_sent_and_received(emu, token):
    before = emu.control("GET", "/control/extensions/%s/messages" % emu.ext_id(1))
    r = emu.api("POST", PAGER % "~", token, {"from": {"extensionNumber": "101"},
                                            "to": [{"extensionNumber": "102"}],
                                            "text": "Lunch at noon?"})
    assert r.status == 200 and r.header("x-rate-limit-group") == "Medium", r
    rec = r.json()
    assert rec["type"] == "Pager" and rec["subject"] == "Lunch at noon?"
    assert rec["from"]["extensionNumber"] == "101" and rec["to"][0]["extensionNumber"] == "102"
    after = emu.control("GET", "/control/extensions/%s/messages" % emu.ext_id(1))
    [new] = after[len(before):]
    got = emu.truth(new["id"])["record"]
    assert got["direction"] == "Inbound" and got["readStatus"] == "Unread"
    assert got["subject"] == "Lunch at noon?" and got["from"]["extensionNumber"] == "101"
    assert got["messageStatus"] == "Received"
    assert wait_for(status_is(emu, token, rec["id"], "Sent"))
    e = sent(emu)[-1]
    assert e["type"] == "Pager" and e["from"] == "101" and e["to"] == ["102"]
    reply = emu.api("POST", PAGER % "~", token, {"replyOn": rec["id"], "text": "again"}).json()
    assert reply["to"][0]["extensionNumber"] == "102"


def test_pager_refusals(emu, token):
    error(emu.api("POST", PAGER % "~", token, {"from": {"extensionNumber": "102"},
                                               "to": [{"extensionNumber": "102"}], "text": "x"}),
          400, "MSG-331")
    error(emu.api("POST", PAGER % "~", token, {"to": [{"extensionNumber": "999"}], "text": "x"}),
          400, "CMN-102", parameter="to")
    error(emu.api("POST", PAGER % "~", token, {"to": [{"extensionNumber": "102"}],
                                               "text": "a" * 1025}), 400, "CMN-101",
          parameter="text")
    assert emu.api("POST", PAGER % "~", token, {"to": [{"extensionNumber": "102"}],
                                                "text": "a" * 1024}).status == 200
    error(emu.api("POST", PAGER % "~", token, {"text": "x"}), 400, "CMN-100", parameter="to")
    r = emu.api("POST", PAGER % "~", token, b"text=x",
                {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415, r


# ------------------------------------------------------- numbers and covers
def test_phone_numbers(emu, token):
    r = emu.api("GET", NUMBERS % "~", token)
    assert r.status == 200 and r.header("x-rate-limit-group") == "Light", r
    recs = r.json()["records"]
    assert [n["phoneNumber"] for n in recs] == ["+16505550101", "+16505551101", "+16505550100"]
    assert "SmsSender" in recs[0]["features"] and recs[0]["primary"] is True
    assert recs[1]["type"] == "FaxOnly" and recs[2]["usageType"] == "MainCompanyNumber"
    assert all(isinstance(n["id"], int) and n["uri"].endswith(str(n["id"])) for n in recs)
    only = emu.api("GET", NUMBERS % "~" + "?usageType=MainCompanyNumber", token).json()
    assert [n["phoneNumber"] for n in only["records"]] == ["+16505550100"]
    paged = emu.api("GET", NUMBERS % "~" + "?perPage=2&page=2", token).json()
    assert [n["phoneNumber"] for n in paged["records"]] == ["+16505550100"]
    assert paged["paging"]["totalElements"] == 3
    theirs = emu.api("GET", NUMBERS % emu.ext_id(1), token).json()["records"]
    assert theirs[0]["phoneNumber"] == "+16505550102"
    assert emu.api("GET", NUMBERS % "~" + "?perPage=0", token).status == 400


def test_cover_pages(emu, token):
    r = emu.api("GET", COVERS, token)
    assert r.status == 200 and r.header("x-rate-limit-group") == "Light", r
    d = r.json()
    assert [c["id"] for c in d["records"]] == [str(k) for k in range(14)]
    assert d["records"][0]["name"] == "None" and d["records"][6]["name"] == "Confidential"
    assert d["paging"]["totalElements"] == 14 and "navigation" in d
    assert emu.api("GET", COVERS + "?perPage=5&page=3", token).json()["records"][0]["id"] == "10"
    assert emu.api("GET", COVERS, None).status == 401


# --------------------------------------------------- counts, faults, limits
def test_send_routes_are_counted_and_faultable(emu, token):
    emu.control("POST", "/control/counts/reset")
    before = len(sent(emu))
    emu.control("POST", "/control/faults", {"script": [
        {"route": "fax", "action": "status", "status": 503, "count": 1},
        {"route": "sms", "action": "reset_after", "count": 1}]})
    r = form_fax(emu, token, [field("to", "+16505552200"), document(pdf("x"))])
    assert r.status == 503 and r.header("x-rate-limit-group") == "Heavy", r
    assert len(sent(emu)) == before  # a 503 fault is answered before the server acts
    with pytest.raises((ConnectionError, OSError)):
        sms(emu, token, "acted, then reset")
    assert [e["text"] for e in sent(emu)[before:]] == ["acted, then reset"]
    routes = emu.control("GET", "/control/counts")["routes"]
    assert routes["fax"] == 1 and routes["sms"] == 1
    emu.api("GET", COVERS, token)
    emu.api("GET", NUMBERS % "~", token)
    emu.api("POST", PAGER % "~", token, {"to": [{"extensionNumber": "102"}], "text": "x"})
    routes = emu.control("GET", "/control/counts")["routes"]
    assert routes["cover_pages"] == 1 and routes["phone_numbers"] == 1 and routes["pager"] == 1
    assert emu.control("POST", "/control/faults", {"script": [{"route": "bogus"}]},
                       raw=True).status == 400


def test_send_is_rate_limited_in_its_group(tmp_path):
    with Emu(tmp_path, "--messages", 10, "--extensions", 2, "--rate-limits",
             '{"Heavy": 1, "Medium": 40}', "--rate-window", "30") as e:
        tok = e.login()["access_token"]
        assert form_fax(e, tok, [field("to", "+16505552300"), document(pdf("x"))]).status == 200
        r = form_fax(e, tok, [field("to", "+16505552300"), document(pdf("x"))])
        assert r.status == 429 and r.json()["errorCode"] == "CMN-301", r
        assert int(r.header("retry-after")) >= 1 and r.header("x-rate-limit-group") == "Heavy"
        assert len(e.control("GET", "/control/sent")) == 1
        assert sms(e, tok, "Medium is another group").status == 200


def test_send_config_validation(emu):
    for bad in ({"delay": 1}, {"delay_ms": -1}, {"unreachable": ["abc"]}, {"default_cover": 0},
                {"phone_numbers": {"999": []}}, {"phone_numbers": {"101": [{"x": 1}]}}):
        assert emu.control("POST", "/control/send-config", bad, raw=True).status == 400, bad
    cfg = emu.control("GET", "/control/send-config")
    assert cfg["delay_ms"] == 200 and cfg["default_cover"] == 6
    emu.control("POST", "/control/sent/reset")
    assert sent(emu) == []
