"""The sending side of the API: fax, SMS and pager messages, the extension's
phone numbers and the fax cover pages (README "Sending").

This module owns the send endpoints and their state: what was received (for
GET /control/sent), the send settings (delay before a message leaves the
Queued state, numbers that cannot receive, the account's default cover page,
per-extension phone-number lists) and the timers that move a sent message
from Queued to Sent or SendingFailed.  The messages themselves live in the
mailbox (emu_mailbox.add_sent), so they are listed, synced and fetched like
any other.  The wire details (multipart parsing, document checks, the
rendered fax, the error shape) are emu_sendwire's.

Sources for the rules: the OpenAPI spec (createFaxMessage, createSMSMessage,
createInternalTextMessage, listFaxCoverPages, listExtensionPhoneNumbers), the
developer guide's "Fax Multipart Formats" and "Sending Faxes", and the API
error-code table (ringcentral-api-docs docs/basics/errors.md).
"""

import hashlib
import json
import re
import threading
import time

import emu_api  # used at call time only: emu_api imports this module too
import emu_sendwire as fp
import emu_mailbox as mbx
from emu_http import ApiError, json_response
from emu_sendwire import invalid, mandatory, send_error, utf16_units

ROUTES = ("fax", "sms", "pager", "phone_numbers", "cover_pages")  # rate groups: emu_api.GROUP
SMS_BODY_MAX = 10 * fp.MB          # x-request-max-body-size: 10m
SMS_TEXT_MAX = 1000                # UTF-16 code units (CreateSMSMessage.text)
PAGER_TEXT_MAX = 1024              # UTF-16 code units (CreateInternalTextMessageRequest.text)
SMS_RECIPIENTS_MAX = 10            # MSG-381: a group message has at most 10 recipients
COVER_PAGES = ("None", "Ancient", "Birthday", "Blank", "Clasmod", "Classic", "Confidential",
               "Contempo", "Elegant", "Express", "Formal", "Jazzy", "Modern", "Urgent")
UNREACHABLE_RE = re.compile(r"^\+1555000[0-9]{4}$")
COMPANY_NUMBER = "+16505550100"
DEFAULTS = {"delay_ms": 1000, "unreachable": [], "default_cover": 6, "phone_numbers": {}}


def normalize_number(value):
    """E.164 '+digits' from a phone number as clients write it, or None."""
    if not isinstance(value, str):
        return None
    t = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+?[0-9]{7,15}", t):
        return None
    digits = t.lstrip("+")
    if not t.startswith("+") and len(digits) == 10:
        digits = "1" + digits
    return "+" + digits


def is_short_number(value):
    return isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value.strip()) is not None


class SendSettings:
    """Thread-safe settings of GET/POST /control/send-config."""

    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict(DEFAULTS)

    def get(self):
        with self.lock:
            return {k: (list(v) if isinstance(v, list) else
                        dict(v) if isinstance(v, dict) else v) for k, v in self.values.items()}

    def update(self, body, mailbox):
        """Validate and apply a partial settings object; ValueError when bad."""
        unknown = set(body) - set(DEFAULTS)
        if unknown:
            raise ValueError("unknown send settings: %s" % ", ".join(sorted(unknown)))
        new = {}
        if "delay_ms" in body:
            v = body["delay_ms"]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 600000:
                raise ValueError("delay_ms must be an integer from 0 to 600000")
            new["delay_ms"] = v
        if "unreachable" in body:
            v = body["unreachable"]
            if not isinstance(v, list) or any(normalize_number(x) is None for x in v):
                raise ValueError("unreachable must be a list of phone numbers")
            new["unreachable"] = [normalize_number(x) for x in v]
        if "default_cover" in body:
            v = body["default_cover"]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v < len(COVER_PAGES):
                raise ValueError("default_cover must be a cover page index from 1 to %d"
                                 % (len(COVER_PAGES) - 1))
            new["default_cover"] = v
        if "phone_numbers" in body:
            new["phone_numbers"] = self._check_numbers(body["phone_numbers"], mailbox)
        with self.lock:
            if "phone_numbers" in new:
                merged = dict(self.values["phone_numbers"])
                merged.update(new.pop("phone_numbers"))
                self.values["phone_numbers"] = merged
            self.values.update(new)

    @staticmethod
    def _check_numbers(v, mailbox):
        if not isinstance(v, dict):
            raise ValueError("phone_numbers must map extension numbers or ids to lists")
        out = {}
        for key, entries in v.items():
            ext = mailbox.extension(key)
            if ext is None:
                raise ValueError("phone_numbers: no extension %s" % key)
            if entries is None:  # back to the defaults
                out[str(ext.id)] = None
                continue
            if not isinstance(entries, list):
                raise ValueError("phone_numbers: a list of numbers per extension")
            checked = []
            for e in entries:
                if not isinstance(e, dict) or normalize_number(e.get("phoneNumber")) is None:
                    raise ValueError("phone_numbers: each entry needs a phoneNumber")
                extra = set(e) - {"phoneNumber", "type", "usageType", "features"}
                if extra:
                    raise ValueError("phone_numbers: unknown keys %s" % ", ".join(sorted(extra)))
                feats = e.get("features", [])
                if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
                    raise ValueError("phone_numbers: features must be a list of names")
                checked.append({"phoneNumber": normalize_number(e["phoneNumber"]),
                                "type": e.get("type", "VoiceFax"),
                                "usageType": e.get("usageType", "DirectNumber"),
                                "features": list(feats)})
            out[str(ext.id)] = checked
        return out


class Sender:
    """The send routes of one emulator run (shares the App's mailbox)."""

    def __init__(self, app):
        self.app = app
        self.mailbox = app.mailbox
        self.settings = SendSettings()
        self.lock = threading.Lock()
        self.sent = []          # what /control/sent lists, in arrival order

    # ----------------------------------------------------------- dispatch
    def handle(self, route, req, ext, owner):
        if route == "cover_pages":
            return self.cover_pages(req)
        if route == "phone_numbers":
            return self.phone_numbers(req, ext)
        if str(ext.id) != str(owner):
            raise ApiError(403, "CMN-404", "Attempt to access another extension")
        if route == "fax":
            return self.fax(req, ext)
        if route == "sms":
            return self.sms(req, ext)
        return self.pager(req, ext)

    # ------------------------------------------------------------- lookups
    def numbers(self, ext):
        """The extension's phone-number entries (configured, else defaults)."""
        configured = self.settings.get()["phone_numbers"].get(str(ext.id))
        if configured is not None:
            return configured
        return [{"phoneNumber": ext.phone, "type": "VoiceFax", "usageType": "DirectNumber",
                 "features": ["CallerId", "SmsSender", "MmsSender"]},
                {"phoneNumber": "+1650555%04d" % (1000 + int(ext.number)), "type": "FaxOnly",
                 "usageType": "DirectNumber", "features": ["CallerId"]},
                {"phoneNumber": COMPANY_NUMBER, "type": "VoiceFax",
                 "usageType": "MainCompanyNumber", "features": ["CallerId"]}]

    def phone_record(self, ext, k, e):
        mb = self.mailbox
        base = "%s/restapi/v1.0/account/%s/extension/%d/phone-number" % (
            mb.server_url, mb.account_id, ext.id)
        pid = 700_000_000_004 + ext.index * 1000 + k * 10
        return {"uri": "%s/%d" % (base, pid), "id": pid,
                "country": {"id": "1", "uri": "%s/restapi/v1.0/dictionary/country/1" % mb.server_url,
                            "name": "United States", "isoCode": "US", "callingCode": "1"},
                "location": "San Mateo, CA", "paymentType": "Local",
                "phoneNumber": e["phoneNumber"], "primary": k == 0, "status": "Normal",
                "type": e["type"], "usageType": e["usageType"], "features": list(e["features"])}

    def phone_numbers(self, req, ext):
        enum_set, parse_int = emu_api.enum_set, emu_api.parse_int
        per_page = min(parse_int(req.one("perPage") or "100", "perPage"), emu_api.MAX_PER_PAGE)
        page = parse_int(req.one("page") or "1", "page")
        status = req.one("status")
        if status is not None and status not in ("Normal", "Pending", "PortedIn", "Temporary",
                                                 "Unknown"):
            raise invalid("status")
        usage = enum_set(req, "usageType", (
            "MainCompanyNumber", "AdditionalCompanyNumber", "CompanyNumber", "DirectNumber",
            "CompanyFaxNumber", "ForwardedNumber", "ForwardedCompanyNumber",
            "ContactCenterNumber", "ConferencingNumber", "MeetingsNumber", "BusinessMobileNumber",
            "IntegrationNumber"))
        items = [(k, e) for k, e in enumerate(self.numbers(ext))
                 if (usage is None or e["usageType"] in usage)
                 and (status is None or status == "Normal")]
        base = "%s/restapi/v1.0/account/%s/extension/%d/phone-number" % (
            self.mailbox.server_url, self.mailbox.account_id, ext.id)
        params = [(k, v) for k, vals in req.query.items() if k not in ("page", "perPage")
                  for v in vals]
        return json_response(200, self.app.paged(base, params, items, page, per_page,
                                                 lambda x: self.phone_record(ext, *x)))

    def cover_pages(self, req):
        parse_int = emu_api.parse_int
        per_page = min(parse_int(req.one("perPage") or "100", "perPage"), emu_api.MAX_PER_PAGE)
        page = parse_int(req.one("page") or "1", "page")
        base = "%s/restapi/v1.0/dictionary/fax-cover-page" % self.mailbox.server_url
        items = list(enumerate(COVER_PAGES))
        return json_response(200, self.app.paged(base, [], items, page, per_page,
                                                 lambda x: {"id": str(x[0]), "name": x[1]}))

    def unreachable(self, number):
        return bool(UNREACHABLE_RE.match(number)) or number in self.settings.get()["unreachable"]

    # ----------------------------------------------------------------- fax
    def fax(self, req, ext):
        env, docs, encoding = fp.parse_fax_request(req)
        to = self.fax_recipients(env.get("to"))
        if not docs:
            raise mandatory("attachment")
        fp.check_documents(docs)
        resolution = env.get("faxResolution", "Low")
        if resolution not in ("High", "Low"):
            raise invalid("faxResolution")
        cover = env.get("coverIndex")
        if cover is None:
            cover = self.settings.get()["default_cover"]
        else:
            if isinstance(cover, str) and re.fullmatch(r"[0-9]{1,3}", cover.strip()):
                cover = int(cover.strip())
            if isinstance(cover, bool) or not isinstance(cover, int) or \
                    not 0 <= cover < len(COVER_PAGES):
                raise invalid("coverIndex")
        cover_text = env.get("coverPageText")
        if cover_text is not None and (not isinstance(cover_text, str)
                                       or utf16_units(cover_text) > fp.COVER_TEXT_MAX):
            raise invalid("coverPageText")
        send_at = time.time()
        if env.get("sendTime") is not None:
            try:
                when = emu_api.parse_iso(env["sendTime"], "sendTime") \
                    if isinstance(env["sendTime"], str) else None
            except ApiError:
                when = None
            if when is None:
                raise invalid("sendTime")
            send_at = max(send_at, when / 1000.0)
        iso = env.get("isoCode")
        if iso is not None and not (isinstance(iso, str) and re.fullmatch(r"[A-Z]{2}", iso)):
            raise invalid("isoCode")
        pages = sum(d.pages for d in docs) + (1 if cover else 0)
        spec = {"from": None, "to": [dict(t, messageStatus="Queued") for t in to],
                "status": "Queued", "resolution": resolution, "cover": cover,
                "cover_text": cover_text, "page_count": 0,
                "rendered": fp.render(docs, cover, COVER_PAGES[cover], cover_text, to, ext)}
        mb = self.mailbox
        i = mb.add_sent(ext, "Fax", "Outbound", mb.peer_for(ext, phone=to[0]["phoneNumber"]),
                        "Read", spec)
        entry = dict(encoding, type="Fax", to=[t["phoneNumber"] for t in to])
        entry.update({"from": None, "faxResolution": resolution, "coverIndex": cover,
                 "coverPageText": cover_text,
                 "attachments": [{"fileName": d.filename, "contentType": d.ctype,
                                  "size": len(d.data),
                                  "sha256": hashlib.sha256(d.data).hexdigest()} for d in docs]})
        self.remember(ext, i, spec, entry)

        def finish():
            broken = any(not d.looks_valid for d in docs)
            out = []
            for t in spec["to"]:
                t = dict(t)
                if broken or self.unreachable(t["phoneNumber"]):
                    t.update(messageStatus="SendingFailed",
                             faxErrorCode="RenderingFailed" if broken else "NoFaxMachine")
                else:
                    t["messageStatus"] = "Sent"
                out.append(t)
            ok = any(t["messageStatus"] == "Sent" for t in out)
            mb.set_sent_status(ext, i, "Sent" if ok else "SendingFailed", to=out,
                               page_count=pages)
        self.schedule(send_at, finish)
        return json_response(200, mb.record(ext, i))

    @staticmethod
    def fax_recipients(raw):
        if raw is None or raw == []:
            raise mandatory("to")
        if not isinstance(raw, list):
            raise invalid("to")
        out, seen = [], set()
        for r in raw:
            if not isinstance(r, dict):
                raise invalid("to")
            name = r.get("name")
            if name is not None and not isinstance(name, str):
                raise invalid("to.name")
            if r.get("phoneNumber") in (None, ""):
                raise mandatory("to.phoneNumber")
            number = normalize_number(r["phoneNumber"])
            if number is None:
                raise invalid("to.phoneNumber")
            if number in seen:
                raise send_error(400, "CMN-406", "Duplicate value for parameter to: %s found "
                                 "in request" % number, "to")
            seen.add(number)
            out.append({"phoneNumber": number, "name": name} if name else {"phoneNumber": number})
        return out

    # ----------------------------------------------------------------- SMS
    def json_body(self, req, what):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if what == "sms" and ctype.startswith("multipart/"):
            raise ApiError(501, "CMN-202", "Operation is not supported: rcemu does not emulate "
                           "MMS (multipart SMS)")
        if ctype != "application/json":
            raise ApiError(415, "CMN-415", "Unsupported Media Type: the body must be "
                           "application/json")
        try:
            data = json.loads(req.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise send_error(400, "CMN-103", "JSON can't be parsed.")
        if not isinstance(data, dict):
            raise send_error(400, "CMN-103", "JSON can't be parsed.")
        return data

    def sms(self, req, ext):
        data = self.json_body(req, "sms")
        frm = data.get("from")
        if not isinstance(frm, dict) or frm.get("phoneNumber") in (None, ""):
            raise mandatory("from.phoneNumber")
        to_raw = data.get("to")
        if not isinstance(to_raw, list) or not to_raw:
            raise mandatory("to")
        text = data.get("text")
        if text is None:
            raise mandatory("text")
        if not isinstance(text, str) or text == "" or utf16_units(text) > SMS_TEXT_MAX:
            raise invalid("text")
        if is_short_number(frm["phoneNumber"]):
            raise send_error(400, "MSG-246", "Sending SMS from/to extension numbers is not "
                             "available")
        sender = normalize_number(frm["phoneNumber"])
        if sender is None:
            raise invalid("from.phoneNumber")
        self.check_sms_sender(ext, sender)
        to, seen = [], set()
        for r in to_raw:
            raw = r.get("phoneNumber") if isinstance(r, dict) else None
            if raw in (None, ""):
                raise mandatory("to.phoneNumber")
            if is_short_number(raw):
                raise send_error(400, "MSG-246", "Sending SMS from/to extension numbers is not "
                                 "available")
            number = normalize_number(raw)
            if number is None:
                raise invalid("to.phoneNumber")
            if not number.startswith("+1"):
                raise send_error(403, "MSG-240", "Specified recipient [%s] isn't an US phone "
                                 "number" % number, "to.phoneNumber")
            if number in seen:
                raise send_error(400, "CMN-406", "Duplicate value for parameter to: %s found "
                                 "in request" % number, "to")
            seen.add(number)
            to.append({"phoneNumber": number})
        if len(to) > SMS_RECIPIENTS_MAX:
            raise send_error(400, "MSG-381", "Exceeded maximum number of recipients for a Group "
                             "MMS: [%d]" % SMS_RECIPIENTS_MAX, "to")
        spec = {"from": {"phoneNumber": sender}, "to": to, "status": "Queued", "text": text}
        mb = self.mailbox
        i = mb.add_sent(ext, "SMS", "Outbound", mb.peer_for(ext, phone=to[0]["phoneNumber"]),
                        "Read", spec)
        self.remember(ext, i, spec, {"type": "SMS", "from": sender,
                                     "to": [t["phoneNumber"] for t in to], "text": text})

        def finish():
            if all(self.unreachable(t["phoneNumber"]) for t in to):
                mb.set_sent_status(ext, i, "SendingFailed", delivery_error="SMS-UP-410")
            else:
                mb.set_sent_status(ext, i, "Sent")
        self.schedule(time.time(), finish)
        return json_response(200, mb.record(ext, i))

    def check_sms_sender(self, ext, number):
        for e in self.numbers(ext):
            if e["phoneNumber"] != number:
                continue
            if "SmsSender" in e["features"]:
                return
            if e["type"] == "FaxOnly":
                raise send_error(403, "MSG-241", "Cannot send SMS from Fax number")
            raise send_error(403, "MSG-242", "Sending SMS is not available from the number "
                             "specified.")
        for other in self.mailbox.exts:
            if other is not ext and any(e["phoneNumber"] == number for e in self.numbers(other)):
                raise send_error(403, "MSG-304", "Phone number doesn't belong to extension")
        raise send_error(400, "MSG-245", "Parameter [from] value [%s] is invalid [Cannot find the "
                         "phone number which belongs to user]" % number, "from")

    # --------------------------------------------------------------- pager
    def find_extension(self, ref, param):
        """An account extension from {extensionNumber} or {extensionId}."""
        mb = self.mailbox
        if not isinstance(ref, dict):
            raise mandatory(param)
        number, eid = ref.get("extensionNumber"), ref.get("extensionId")
        if number in (None, "") and eid in (None, ""):
            raise mandatory(param + ".extensionNumber")
        found = None
        if number not in (None, ""):
            found = mb.by_number.get(str(number))
        elif str(eid).isdigit():
            found = mb.by_id.get(int(str(eid)))
        if found is None:
            raise send_error(400, "CMN-102", "Resource for parameter [%s] is not found" % param,
                             param)
        return found

    def pager(self, req, ext):
        data = self.json_body(req, "pager")
        mb = self.mailbox
        text = data.get("text")
        if text is None:
            raise mandatory("text")
        if not isinstance(text, str) or text == "" or utf16_units(text) > PAGER_TEXT_MAX:
            raise invalid("text")
        frm = data.get("from")
        if frm is not None:
            if not isinstance(frm, dict):
                raise invalid("from")
            num, eid = frm.get("extensionNumber"), frm.get("extensionId")
            if (num not in (None, "") and str(num) != ext.number) or \
                    (eid not in (None, "") and str(eid) != str(ext.id)):
                raise send_error(400, "MSG-331", "Sender extension number does not correspond to "
                                 "logged in extension", "from")
        recipients = []
        if data.get("to") not in (None, []):
            if not isinstance(data["to"], list):
                raise invalid("to")
            for r in data["to"]:
                rec = self.find_extension(r, "to")
                if rec not in recipients:
                    recipients.append(rec)
        elif data.get("replyOn") is not None:
            recipients = [self.reply_target(ext, data["replyOn"])]
        else:
            raise mandatory("to")
        me = {"extensionNumber": ext.number, "extensionId": str(ext.id), "name": ext.name}
        to = [{"extensionNumber": r.number, "extensionId": str(r.id), "name": r.name}
              for r in recipients]
        spec = {"from": me, "to": to, "status": "Queued", "text": text}
        i = mb.add_sent(ext, "Pager", "Outbound", mb.peer_for(ext, number=recipients[0].number),
                        "Read", spec)
        self.remember(ext, i, spec, {"type": "Pager", "from": ext.number,
                                     "to": [r.number for r in recipients], "text": text})
        for r in recipients:  # each other extension receives it at once
            if r is not ext:
                copy = {"from": dict(me), "to": [dict(t) for t in to], "status": "Received",
                        "text": text}
                mb.add_sent(r, "Pager", "Inbound", mb.peer_for(r, number=ext.number), "Unread",
                            copy)
        self.schedule(time.time(), lambda: mb.set_sent_status(ext, i, "Sent"))
        return json_response(200, mb.record(ext, i))

    def reply_target(self, ext, reply_on):
        mb = self.mailbox
        loc = mb.locate(reply_on) if str(reply_on).isdigit() else None
        if loc is None or loc[0] is not ext:
            raise send_error(400, "CMN-102", "Resource for parameter [replyOn] is not found",
                             "replyOn")
        rec = mb.record(ext, loc[1])
        if rec["type"] != "Pager":
            raise invalid("replyOn")
        party = rec.get("from") if rec["direction"] == "Inbound" else (rec.get("to") or [{}])[0]
        return self.find_extension(party or {}, "replyOn")

    # --------------------------------------------------------------- state
    def remember(self, ext, i, spec, entry):
        entry = dict(entry, id=str(self.mailbox.msg_id(ext.index, i)), extension_id=str(ext.id),
                     received_at=mbx.iso_ms(int(time.time() * 1000)))
        with self.lock:
            self.sent.append((entry, spec))

    def snapshot(self):
        with self.lock:
            return [dict(entry, status=spec["status"]) for entry, spec in self.sent]

    def reset(self):
        with self.lock:
            self.sent = []

    def schedule(self, not_before, fn):
        """Run fn once delay_ms after now (or at not_before, if later)."""
        delay = max(self.settings.get()["delay_ms"] / 1000.0, not_before - time.time())
        t = threading.Timer(delay, fn)
        t.daemon = True
        t.start()
