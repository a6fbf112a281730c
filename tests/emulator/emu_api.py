"""The platform and media listeners: routes, auth, rate limits, message-store API.

This module owns the request pipeline of the two API listeners:

    route -> count -> fault decision -> auth -> rate limit -> handler -> fault

and every API handler: OAuth token/revoke/wstoken, extension list/get, message list,
single and batch GET/PUT/PATCH/DELETE, delete by conversation, message-sync
and attachment content (media listener only).  The state it works on lives in
emu_mailbox, emu_auth, emu_ratelimit, emu_faults, emu_sync and emu_counts;
the App object ties them together and is shared with the control listener.
"""

import base64
import calendar
import email.parser
import email.policy
import json
import math
import re
import secrets
import threading
import time
import urllib.parse

import emu_auth
import emu_counts
import emu_mailbox as mbx
import emu_send
import emu_sync
from emu_http import (JSON_TYPE, REASONS, ApiError, BaseHandler, Response, bad_param,
                      dumps, error_body, json_response)

MULTIPART_JSON = "application/vnd.ringcentral.multipart+json"
MAX_BATCH = 50          # ids in a path, for GET, PUT, PATCH and DELETE
MAX_BODY_BATCH = 1000   # entries in a "*" PUT/PATCH body
MAX_BODY_DELETE = 100   # ids in a "*" DELETE body
MAX_PER_PAGE = 1000
GROUP = {"token": "Auth", "revoke": "Auth", "wstoken": "Auth", "extension_list": "Medium",
         "extension_get": "Light", "list": "Light", "get": "Light", "get_batch": "Light",
         "put": "Medium", "patch": "Medium", "delete": "Medium", "sync_fsync": "Light",
         "sync_isync": "Light", "content": "Medium", "platform_content": "Medium",
         "other": "Light",
         # sending (emu_send): the spec's x-throttling-group of each operation
         "fax": "Heavy", "sms": "Medium", "pager": "Medium", "phone_numbers": "Light",
         "cover_pages": "Light"}
SEND_PATHS = {"fax": ("fax", "POST"), "sms": ("sms", "POST"), "company-pager": ("pager", "POST"),
              "phone-number": ("phone_numbers", "GET")}
JSON_ERROR_200 = b'{"errorCode":"CMN-301","message":"Request rate exceeded"}'
# Routes on an extension's messages: a non-admin user may use them on its own only.
MESSAGE_ROUTES = ("list", "get", "get_batch", "put", "patch", "delete", "sync_fsync",
                  "sync_isync", "content")
STATUS_FAULT_CODES = {400: ("CMN-101", "Parameter value is invalid"),
                      401: ("OAU-149", "Invalid token"),
                      403: ("CMN-401", "Insufficient permissions"),
                      404: ("CMN-102", "Resource is not found"),
                      429: ("CMN-301", "Request rate exceeded"),
                      500: ("CMN-201", "Internal Server Error"),
                      502: ("CMN-202", "Bad Gateway"),
                      503: ("CMN-203", "Service Temporary Unavailable"),
                      504: ("CMN-204", "Gateway Timeout")}
_ISO_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})"
                     r"(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$")


def is_id(s):
    """ASCII digits only (str.isdigit() also takes other scripts' digits)."""
    return bool(s) and s.isascii() and s.isdigit()


def parse_iso(value, name):
    """ISO 8601 date-time (or date) -> epoch ms; CMN-101 when invalid."""
    m = _ISO_RE.match(value or "")
    if not m:
        raise bad_param(name)
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    try:
        secs = calendar.timegm((int(y), int(mo), int(d), int(hh or 0), int(mm or 0),
                                int(ss or 0), 0, 0, 0))
        if not (1 <= int(mo) <= 12 and 1 <= int(d) <= 31 and int(hh or 0) < 24
                and int(mm or 0) < 60 and int(ss or 0) < 61):
            raise ValueError
    except (ValueError, OverflowError):
        raise bad_param(name)
    ms = secs * 1000 + (int((frac or "0")[:3].ljust(3, "0")))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
    return ms


def parse_int(value, name, minimum=1):
    try:
        if value is None or not re.fullmatch(r"[+-]?[0-9]+", value):
            raise ValueError
        n = int(value)
    except ValueError:
        raise bad_param(name)
    if n < minimum:
        raise bad_param(name)
    return n


def parse_bool(value, name):
    if value is None:
        return False
    v = value.lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise bad_param(name)


def enum_set(req, name, allowed):
    vals = req.many(name)
    if not vals:
        return None
    out = set()
    for v in vals:  # arrays repeat the name; "Fax,SMS" is one invalid value
        if v not in allowed:
            raise bad_param(name)
        out.add(v)
    return out


def not_found(param):
    return ApiError(404, "CMN-102", "Resource for parameter [%s] is not found" % param, param)


class RouteInfo:
    __slots__ = ("acc", "ext", "ids", "msg", "att", "allowed")

    def __init__(self, acc=None, ext=None, ids=None, msg=None, att=None, allowed=None):
        self.acc = acc
        self.ext = ext
        self.ids = ids
        self.msg = msg
        self.att = att
        self.allowed = allowed


class App:
    """All state of one emulator run, shared by the three listeners."""

    def __init__(self, mailbox, auth, limiter, faults, extension_list_forbidden=False):
        self.mailbox = mailbox
        self.auth = auth
        self.limiter = limiter
        self.faults = faults
        self.counts = emu_counts.Counts()
        self.sync = emu_sync.SyncService(mailbox)
        self.extension_list_forbidden = bool(extension_list_forbidden)
        # The JWT's user is an admin (may read and change every extension's
        # messages); when not, other extensions' messages answer 403 CMN-419.
        self.owner_admin = True
        self.penalty_given = False  # --penalty or control "penalty" set it apart from the window
        self.boundary_lock = threading.Lock()
        self.boundary_seq = 0
        self.sender = emu_send.Sender(self)
        self.ws = None  # emu_ws.WsHub, set by rcemu once the WebSocket listener is bound

    # ------------------------------------------------------------- routing
    @staticmethod
    def route(listener, method, segs):
        """(route name, RouteInfo) from the path; 'other' when unknown."""
        m = "GET" if method == "HEAD" else method
        if listener == "platform" and segs[:2] == ["restapi", "oauth"] and len(segs) == 3:
            if segs[2] == "token":
                return "token", RouteInfo(allowed=("POST",))
            if segs[2] == "revoke":
                return "revoke", RouteInfo(allowed=("POST",))
            if segs[2] == "wstoken":
                return "wstoken", RouteInfo(allowed=("POST",))
        if listener == "platform" and segs == ["restapi", "v1.0", "dictionary", "fax-cover-page"]:
            return "cover_pages", RouteInfo(allowed=("GET",))
        if len(segs) < 5 or segs[:3] != ["restapi", "v1.0", "account"] or segs[4] != "extension":
            return "other", RouteInfo()
        acc = segs[3]
        rest = segs[5:]
        if listener == "media":
            if len(rest) == 5 and rest[1] == "message-store" and rest[3] == "content":
                return "content", RouteInfo(acc, rest[0], msg=rest[2], att=rest[4], allowed=("GET",))
            return "other", RouteInfo()
        if not rest:
            return "extension_list", RouteInfo(acc, allowed=("GET",))
        ext = rest[0]
        if len(rest) == 1:
            return "extension_get", RouteInfo(acc, ext, allowed=("GET",))
        if rest[1] == "message-sync" and len(rest) == 2:
            return "sync_fsync", RouteInfo(acc, ext, allowed=("GET",))
        if rest[1] in SEND_PATHS and len(rest) == 2:
            name, method = SEND_PATHS[rest[1]]
            return name, RouteInfo(acc, ext, allowed=(method,))
        if rest[1] != "message-store":
            return "other", RouteInfo()
        if len(rest) == 2:
            if m == "DELETE":
                return "delete", RouteInfo(acc, ext, allowed=("GET", "DELETE"))
            return "list", RouteInfo(acc, ext, allowed=("GET", "DELETE"))
        if len(rest) == 3:
            ids = [s.strip() for s in rest[2].split(",")]
            allowed = ("GET", "PUT", "PATCH", "DELETE")
            if m == "PUT":
                return "put", RouteInfo(acc, ext, ids, allowed=allowed)
            if m == "PATCH":
                return "patch", RouteInfo(acc, ext, ids, allowed=allowed)
            if m == "DELETE":
                return "delete", RouteInfo(acc, ext, ids, allowed=allowed)
            if len(ids) > 1 or ids == ["*"]:
                return "get_batch", RouteInfo(acc, ext, ids, allowed=allowed)
            return "get", RouteInfo(acc, ext, ids, allowed=allowed)
        if len(rest) == 5 and rest[3] == "content":
            return "platform_content", RouteInfo(acc, ext, msg=rest[2], att=rest[4], allowed=("GET",))
        return "other", RouteInfo()

    # ------------------------------------------------------------ helpers
    def boundary(self):
        with self.boundary_lock:
            self.boundary_seq += 1
            return "Boundary_%d_%d_%d" % (self.boundary_seq, secrets.randbelow(10 ** 8),
                                          int(time.time() * 1000))

    def resolve(self, info, owner):
        if info.acc not in ("~", self.mailbox.account_id):
            raise not_found("accountId")
        if info.ext is None:
            return None
        if info.ext == "~":
            return self.mailbox.extension(owner)
        if not is_id(info.ext):
            raise not_found("extensionId")
        ext = self.mailbox.by_id.get(int(info.ext))
        if ext is None:
            raise not_found("extensionId")
        return ext

    def store_uri(self, ext):
        return "%s/restapi/v1.0/account/%s/extension/%s/message-store" % (
            self.mailbox.server_url, self.mailbox.account_id, ext.id)

    def find(self, ext, mid):
        """Message index of id string mid in ext, or None."""
        if not is_id(mid):
            return None
        loc = self.mailbox.locate(int(mid))
        if loc is None or loc[0] is not ext:
            return None
        return loc[1]

    # ---------------------------------------------------------------- OAuth
    def handle_token(self, req, revoke=False):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if req.body and ctype != "application/x-www-form-urlencoded":
            raise ApiError(415, "CMN-415", "Unsupported Media Type", body={
                "error": "invalid_request", "errors": [{"errorCode": "OAU-100",
                                                        "message": "Unsupported Media Type"}],
                "error_description": "Unsupported Media Type"})
        try:
            form = urllib.parse.parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        try:
            self.auth.check_client(req.headers.get("Authorization"))
            if revoke:
                token = (form.get("token") or req.query.get("token") or [""])[0]
                if not token:
                    raise emu_auth.OAuthError(400, "invalid_request", "OAU-101",
                                              "Parameter [token] is not specified", "token")
                self.auth.revoke(token)
                return Response(200, b"", None, [("Cache-Control", "no-store")])
            info = self.auth.grant(form)
        except emu_auth.OAuthError as e:
            return json_response(e.status, e.body, [("Cache-Control", "no-store")])
        return json_response(200, info, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def handle_wstoken(self, owner, session_id):
        """POST /restapi/oauth/wstoken: a single-use WebSocket token (emu_ws)."""
        answer = self.ws.issue_token(owner, session_id, self.ws.url())
        if answer is None:
            raise ApiError(403, "CMN-401", "In order to call this API endpoint, application "
                           "needs to have [WebSocketsSubscription] permission")
        return json_response(200, answer, [("Cache-Control", "no-store")])

    # ----------------------------------------------------------- extensions
    def ext_record(self, ext, full=False):
        uri = "%s/restapi/v1.0/account/%s/extension/%d" % (
            self.mailbox.server_url, self.mailbox.account_id, ext.id)
        first, _, last = ext.name.partition(" ")
        rec = {"uri": uri, "id": ext.id, "extensionNumber": ext.number, "name": ext.name,
               "type": "User", "status": "Enabled",
               "contact": {"firstName": first, "lastName": last,
                           "email": "ext%s@example.com" % ext.number}}
        if full:
            # ExtensionInfo.permissions: only the JWT's user can be an admin here
            admin = self.owner_admin and ext is self.mailbox.extension(self.auth.owner_id)
            rec["permissions"] = {"admin": {"enabled": admin},
                                  "internationalCalling": {"enabled": False}}
            rec["account"] = {"id": self.mailbox.account_id,
                              "uri": "%s/restapi/v1.0/account/%s" % (self.mailbox.server_url,
                                                                     self.mailbox.account_id)}
        else:
            rec["hidden"] = False
        return rec

    def handle_extension_list(self, req, info, owner):
        self.resolve(info, owner)
        if self.extension_list_forbidden:
            raise ApiError(403, "CMN-401", "In order to call this API endpoint, application "
                           "needs to have [ReadAccounts] permission")
        per_page = min(parse_int(req.one("perPage") or "100", "perPage"), MAX_PER_PAGE)
        page = parse_int(req.one("page") or "1", "page")
        exts = self.mailbox.exts
        base = "%s/restapi/v1.0/account/%s/extension" % (self.mailbox.server_url,
                                                         self.mailbox.account_id)
        return json_response(200, self.paged(base, [], exts, page, per_page,
                                             lambda x: self.ext_record(x)))

    def paged(self, base, params, items, page, per_page, render):
        total = len(items)
        pages = -(-total // per_page)
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]

        def uri(p):
            q = list(params) + [("page", str(p)), ("perPage", str(per_page))]
            return base + "?" + urllib.parse.urlencode(q, safe=":")

        paging = {"page": page, "totalPages": pages, "perPage": per_page, "totalElements": total}
        if chunk:
            paging["pageStart"] = start
            paging["pageEnd"] = start + len(chunk) - 1
        nav = {"firstPage": {"uri": uri(1)}}
        if page < pages:
            nav["nextPage"] = {"uri": uri(page + 1)}
        if page > 1:
            nav["previousPage"] = {"uri": uri(min(page - 1, max(1, pages)))}
        nav["lastPage"] = {"uri": uri(max(1, pages))}
        return {"uri": uri(page), "records": [render(x) for x in chunk], "paging": paging,
                "navigation": nav}

    # -------------------------------------------------------------- listing
    def handle_list(self, req, ext):
        mb = self.mailbox
        per_page = min(parse_int(req.one("perPage") or "100", "perPage"), MAX_PER_PAGE)
        page = parse_int(req.one("page") or "1", "page")
        now = int(time.time() * 1000)
        date_to = parse_iso(req.one("dateTo"), "dateTo") if req.one("dateTo") is not None else None
        date_from = parse_iso(req.one("dateFrom"), "dateFrom") if req.one("dateFrom") is not None \
            else (date_to if date_to is not None else now) - mbx.DAY_MS
        if date_to is not None and date_from > date_to:
            raise bad_param("dateFrom")
        types = enum_set(req, "messageType", mbx.TYPES)
        avail = enum_set(req, "availability", mbx.AVAILABILITIES) or {"Alive"}
        read = enum_set(req, "readStatus", mbx.READ_STATUSES)
        direction = enum_set(req, "direction", mbx.DIRECTIONS)
        conv = req.one("conversationId")
        conv = parse_int(conv, "conversationId", 0) if conv is not None else None
        distinct = parse_bool(req.one("distinctConversations"), "distinctConversations")
        phone = req.one("phoneNumber") or None
        idx = mb.select(ext, date_from, date_to if date_to is not None else now + 1, types,
                        avail, read, direction, conv, phone, distinct)
        # the canonical query the real server echoes: filters, then the defaults it applied
        params = []
        for k, vals in req.query.items():
            if k not in ("page", "perPage", "availability", "dateFrom"):
                params += [(k, v) for v in vals]
        params += [("availability", a) for a in (req.many("availability") or ["Alive"])]
        params.append(("dateFrom", mbx.iso_ms(date_from)))
        return json_response(200, self.paged(self.store_uri(ext), params, idx, page, per_page,
                                             lambda i: mb.record(ext, i)))

    # ---------------------------------------------------------- single/batch
    def parse_ids(self, info):
        ids = info.ids
        if ids == ["*"]:
            return None
        if any(not i for i in ids):
            raise bad_param("messageId")
        if any(not is_id(i) for i in ids):
            raise bad_param("messageId")
        if len(ids) > MAX_BATCH:
            raise ApiError(400, "CMN-106", "Too many resources in a batch request: at most %d "
                           "ids are allowed" % MAX_BATCH, "messageId")
        return ids

    def wants_multipart_json(self, req, body_too=False):
        accept = (req.headers.get("Accept") or "").lower()
        if MULTIPART_JSON in accept:
            return True
        if body_too:
            ctype = (req.headers.get("Content-Type") or "").lower()
            return MULTIPART_JSON in ctype
        return False

    def batch_response(self, req, ext, results, body_too=False):
        """results: [(id string, status, body or None)] -> 207 response."""
        if self.wants_multipart_json(req, body_too):
            out = []
            for rid, status, body in results:
                item = {"resourceId": rid, "status": status}
                if body is not None:
                    item["body"] = body
                out.append(item)
            return Response(207, dumps(out), MULTIPART_JSON)
        boundary = self.boundary()
        base = self.store_uri(ext)
        summary = {"response": [{"href": "%s/%s" % (base, rid), "status": status,
                                 "responseDescription": REASONS.get(status, "")}
                                for rid, status, _ in results]}
        parts = [dumps(summary)] + [dumps(body) if body is not None else b""
                                    for _, _, body in results]
        chunks = []
        for p in parts:
            chunks.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/json\r\n\r\n"
                          + p + b"\r\n")
        chunks.append(b"--" + boundary.encode() + b"--\r\n")
        return Response(207, b"".join(chunks), "multipart/mixed;boundary=" + boundary)

    def handle_get(self, req, info, ext, batch):
        mb = self.mailbox
        ids = self.parse_ids(info)
        if ids is None:
            raise bad_param("messageId")
        if not batch:
            i = self.find(ext, ids[0])
            if i is None:
                raise not_found("messageId")
            return json_response(200, mb.record(ext, i))
        results = []
        for rid in ids:
            i = self.find(ext, rid)
            if i is None:
                results.append((rid, 404, not_found("messageId").body))
            else:
                results.append((rid, 200, mb.record(ext, i)))
        return self.batch_response(req, ext, results)

    def apply_update(self, ext, i, body, method):
        """PUT/PATCH one message; returns the new record or raises ApiError."""
        if not isinstance(body, dict):
            raise bad_param("body")
        mb = self.mailbox
        read = body.get("readStatus")
        avail = body.get("availability")
        if method == "PUT" and read is None:
            raise bad_param("readStatus")
        if method == "PUT" and avail is not None:
            raise bad_param("availability")
        if read is None and avail is None:
            raise bad_param("readStatus")
        if read is not None and read not in mbx.READ_STATUSES:
            raise bad_param("readStatus")
        if avail is not None and avail != "Alive":
            raise bad_param("availability")
        with mb.lock:
            if ext.avail[i] == mbx.PURGED:
                raise not_found("messageId")
            if avail == "Alive":
                mb.set_availability(ext, i, "Alive")
            if read is not None:
                mb.set_read(ext, i, read)
            return mb.record(ext, i)

    def parse_json_body(self, req):
        try:
            return json.loads(req.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "CMN-103", "JSON can't be parsed.")

    def batch_bodies(self, req, ids):
        """[(id string, body)] for a batch PUT/PATCH; ids None for the '*' form."""
        ctype = (req.headers.get("Content-Type") or "").lower()
        if ctype.startswith("multipart/mixed"):
            if ids is None:
                raise bad_param("messageId")
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + req.headers.get("Content-Type").encode("latin-1") +
                b"\r\n\r\n" + req.body)
            if not msg.is_multipart():
                raise ApiError(400, "CMN-103", "JSON can't be parsed.")
            bodies = []
            for part in msg.iter_parts():
                payload = part.get_payload(decode=True) or b""
                try:
                    bodies.append(json.loads(payload.decode("utf-8")))
                except (ValueError, UnicodeDecodeError):
                    raise ApiError(400, "CMN-103", "JSON can't be parsed.")
            if len(bodies) != len(ids):
                raise bad_param("body", "The number of body parts [%d] does not match the number "
                                "of ids [%d]" % (len(bodies), len(ids)))
            return list(zip(ids, bodies))
        if MULTIPART_JSON in ctype:
            data = self.parse_json_body(req)
            if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
                raise bad_param("body")
            if ids is None:
                if len(data) > MAX_BODY_BATCH:
                    raise ApiError(400, "CMN-106", "Too many resources in a batch request: at "
                                   "most %d are allowed" % MAX_BODY_BATCH, "messageId")
                out = []
                for x in data:
                    rid = str(x.get("resourceId", ""))
                    if not is_id(rid):
                        raise bad_param("resourceId")
                    out.append((rid, x.get("body")))
                return out
            if len(data) != len(ids):
                raise bad_param("body", "The number of body parts [%d] does not match the number "
                                "of ids [%d]" % (len(data), len(ids)))
            out = []
            for rid, x in zip(ids, data):
                if "resourceId" in x and str(x["resourceId"]) != rid:
                    raise bad_param("resourceId")
                out.append((rid, x.get("body")))
            return out
        raise ApiError(400, "CMN-101", "A batch update needs one body per id "
                       "(multipart/mixed or %s)" % MULTIPART_JSON, "body")

    def handle_update(self, req, info, ext, method):
        ids = self.parse_ids(info)
        if ids is not None and len(ids) == 1:
            ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise ApiError(415, "CMN-415", "Unsupported Media Type: the body must be "
                               "application/json")
            i = self.find(ext, ids[0])
            body = self.parse_json_body(req)
            if i is None:
                raise not_found("messageId")
            return json_response(200, self.apply_update(ext, i, body, method))
        results = []
        for rid, body in self.batch_bodies(req, ids):
            i = self.find(ext, rid)
            if i is None:
                results.append((rid, 404, not_found("messageId").body))
                continue
            try:
                results.append((rid, 200, self.apply_update(ext, i, body, method)))
            except ApiError as e:
                results.append((rid, e.status, e.body))
        return self.batch_response(req, ext, results, body_too=True)

    def delete_one(self, ext, i, purge):
        mb = self.mailbox
        with mb.lock:
            av = ext.avail[i]
            if av == mbx.PURGED:
                raise not_found("messageId")
            mb.set_availability(ext, i, "Purged" if (purge or av == mbx.DELETED) else "Deleted")

    def handle_delete(self, req, info, ext):
        purge = parse_bool(req.one("purge"), "purge")
        if info.ids is None:
            return self.handle_delete_conversations(req, ext, purge)
        ids = self.parse_ids(info)
        if ids is None:
            data = self.parse_json_body(req)
            if not isinstance(data, list) or not all(isinstance(x, (str, int)) for x in data):
                raise bad_param("body")
            ids = [str(x) for x in data]
            if not all(is_id(x) for x in ids):
                raise bad_param("messageId")
            if len(ids) > MAX_BODY_DELETE:
                raise ApiError(400, "CMN-106", "Too many resources in a batch request: at most "
                               "%d are allowed" % MAX_BODY_DELETE, "messageId")
        elif len(ids) == 1:
            i = self.find(ext, ids[0])
            if i is None:
                raise not_found("messageId")
            self.delete_one(ext, i, purge)
            return Response(204)
        results = []
        for rid in ids:
            i = self.find(ext, rid)
            try:
                if i is None:
                    raise not_found("messageId")
                self.delete_one(ext, i, purge)
                results.append((rid, 204, None))
            except ApiError as e:
                results.append((rid, e.status, e.body))
        if all(st == 204 for _, st, _ in results):
            return Response(204)
        return self.batch_response(req, ext, results)

    def handle_delete_conversations(self, req, ext, purge):
        mb = self.mailbox
        convs = req.many("conversationId")
        typ = req.one("type")
        if convs and typ is not None:
            raise ApiError(400, "MSG-390", "[conversationId] and [type] query parameters cannot "
                           "be specified simultaneously")
        if len(convs) > MAX_BATCH:
            raise ApiError(400, "CMN-106", "Too many resources in a batch request: at most %d "
                           "ids are allowed" % MAX_BATCH, "conversationId")
        conv_ids = {parse_int(c, "conversationId", 0) for c in convs}
        if typ is not None and typ not in mbx.TYPES + ("All",):
            raise bad_param("type")
        date_to = parse_iso(req.one("dateTo"), "dateTo") if req.one("dateTo") is not None \
            else int(time.time() * 1000) + 1
        types = None if typ in (None, "All") else {typ}
        with mb.lock:
            if conv_ids:
                idx = []
                for c in conv_ids:
                    idx += mb.select(ext, None, date_to, None, {"Alive", "Deleted"},
                                     conversation_id=c)
            else:
                idx = mb.select(ext, None, date_to, types, {"Alive", "Deleted"})
            for i in idx:
                av = ext.avail[i]
                mb.set_availability(ext, i, "Purged" if (purge or av == mbx.DELETED) else "Deleted")
        return Response(204)

    # ---------------------------------------------------------------- sync
    def handle_sync(self, req, ext, route):
        mb = self.mailbox
        base = "%s/restapi/v1.0/account/%s/extension/%s/message-sync" % (
            mb.server_url, mb.account_id, ext.id)
        uri = base + ("?" + urllib.parse.urlencode([(k, v) for k, vals in req.query.items()
                                                    for v in vals]) if req.query else "")
        if route == "sync_isync":
            token = req.one("syncToken")
            if not token:
                raise bad_param("syncToken", "Parameter [syncToken] is not specified")
            try:
                records, info = self.sync.isync(ext, token)
            except emu_sync.SyncTokenError:
                raise ApiError(400, "MSG-333", "Parameter [syncToken] value is invalid",
                               "syncToken")
            return json_response(200, {"uri": uri, "records": records, "syncInfo": info})
        now = int(time.time() * 1000)
        date_to = parse_iso(req.one("dateTo"), "dateTo") if req.one("dateTo") is not None else None
        date_from = parse_iso(req.one("dateFrom"), "dateFrom") if req.one("dateFrom") is not None \
            else (date_to if date_to is not None else now) - mbx.DAY_MS
        if date_to is not None and date_from > date_to:
            raise bad_param("dateFrom")
        count = req.one("recordCount")
        count = parse_int(count, "recordCount") if count is not None else emu_sync.MAX_RECORDS
        conv = req.one("conversationId")
        frame = emu_sync.Frame(ext.index, date_from, date_to,
                               enum_set(req, "messageType", mbx.TYPES),
                               enum_set(req, "direction", mbx.DIRECTIONS),
                               parse_int(conv, "conversationId", 0) if conv is not None else None,
                               parse_bool(req.one("distinctConversations"),
                                          "distinctConversations"))
        records, info = self.sync.fsync(ext, frame, count)
        return json_response(200, {"uri": uri, "records": records, "syncInfo": info})

    # -------------------------------------------------------------- content
    def handle_content(self, req, info, ext):
        mb = self.mailbox
        i = self.find(ext, info.msg)
        if i is None:
            raise not_found("messageId")
        if ext.avail[i] == mbx.PURGED or not is_id(info.att):
            raise not_found("attachmentId")
        found = mb.attachment(ext, i, int(info.att))
        if found is None:
            raise not_found("attachmentId")
        data, ctype = found
        headers = [("Accept-Ranges", "bytes")]
        disp = req.one("contentDisposition")
        if disp is not None:
            if disp not in ("Inline", "Attachment"):
                raise bad_param("contentDisposition")
            ext_name = {"application/pdf": "pdf", "image/tiff": "tiff", "audio/x-wav": "wav",
                        "audio/mpeg": "mp3", "text/plain": "txt", "image/png": "png",
                        "image/jpeg": "jpg", "image/gif": "gif"}.get(ctype, "bin")
            headers.append(("Content-Disposition", "%s;filename=%s.%s" % (
                disp.lower(), info.att, ext_name)))
        rng = req.headers.get("Range")
        if rng:
            m = re.fullmatch(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                size = len(data)
                a, b = m.group(1), m.group(2)
                if a:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                    ok = start < size and (not b or int(b) >= start)
                else:
                    n = int(b)
                    start = max(0, size - n)
                    end = size - 1
                    ok = n > 0 and size > 0
                if not ok:
                    raise ApiError(416, "CMN-107", "Requested range not satisfiable",
                                   headers=[("Content-Range", "bytes */%d" % size)])
                headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
                return Response(206, data[start:end + 1], ctype, headers)
        return Response(200, data, ctype, headers)

    # ------------------------------------------------------------- dispatch
    def handle(self, listener, req, route, info, handler):
        """Run one API request after faults were decided; returns a Response."""
        method = req.method
        if route == "other":
            if listener == "media":
                return json_response(404, error_body(
                    "CMN-102", "Resource for parameter [path] is not found: the media entry point "
                    "serves attachment content only"))
            return json_response(404, error_body("CMN-102", "Resource for parameter [path] "
                                                 "is not found"))
        m = "GET" if method == "HEAD" else method
        if m not in info.allowed:
            return json_response(405, error_body("AGW-405", "Method [%s] is not allowed" % method),
                                 [("Allow", ", ".join(info.allowed))])
        group = GROUP[route]
        if route in ("token", "revoke"):
            key = "client:" + self._basic_user(req)
            decision = self.limiter.check(key, group)
            if not decision.allowed:
                self.counts.limited(group)
                return self.rate_limited(decision)
            try:
                resp = self.handle_token(req, revoke=route == "revoke")
            except ApiError as e:
                resp = e.response()
            resp.headers += decision.headers()
            return resp
        try:
            owner, session_id = self.auth.authenticate(req.headers.get("Authorization"),
                                                       with_session=True)
        except emu_auth.ApiAuthError as e:
            return json_response(401, e.body, self.limiter.check("anonymous", group,
                                                                 count=False).headers())
        decision = self.limiter.check(owner, group)
        if not decision.allowed:
            self.counts.limited(group)
            return self.rate_limited(decision)
        try:
            if route == "wstoken":
                resp = self.handle_wstoken(owner, session_id)
            else:
                resp = self.dispatch_api(req, route, info, owner)
        except ApiError as e:
            resp = e.response()
        resp.headers += decision.headers()
        return resp

    def check_extension_permission(self, req, route, ext, owner):
        """A non-admin user may read and change only its own extension's
        messages: anything else is 403 CMN-419, worded as the real server's
        (ReadMessages for reads, EditMessages for changes)."""
        if self.owner_admin or route not in MESSAGE_ROUTES:
            return
        if ext is self.mailbox.extension(owner):
            return
        perm = "ReadMessages" if req.method in ("GET", "HEAD") else "EditMessages"
        raise ApiError(403, "CMN-419", "In order to call this API endpoint for another extension, "
                       "user needs to have [%s] permission granted with extended scope" % perm)

    def dispatch_api(self, req, route, info, owner):
        if route == "cover_pages":
            return self.sender.handle(route, req, None, owner)
        ext = self.resolve(info, owner)
        self.check_extension_permission(req, route, ext, owner)
        if route in emu_send.ROUTES:
            return self.sender.handle(route, req, ext, owner)
        if route == "extension_list":
            return self.handle_extension_list(req, info, owner)
        if route == "extension_get":
            return json_response(200, self.ext_record(ext, full=True))
        if route == "list":
            return self.handle_list(req, ext)
        if route in ("get", "get_batch"):
            return self.handle_get(req, info, ext, route == "get_batch")
        if route in ("put", "patch"):
            return self.handle_update(req, info, ext, req.method)
        if route == "delete":
            return self.handle_delete(req, info, ext)
        if route in ("sync_fsync", "sync_isync"):
            st = req.one("syncType")
            if st not in ("FSync", "ISync"):
                raise bad_param("syncType")
            return self.handle_sync(req, ext, route)
        if route == "content":
            return self.handle_content(req, info, ext)
        if route == "platform_content":
            raise ApiError(404, "CMN-102", "Resource for parameter [attachmentId] is not found: "
                           "content is served by the media entry point only", "attachmentId")
        raise not_found("path")

    @staticmethod
    def _basic_user(req):
        h = req.headers.get("Authorization") or ""
        if h.lower().startswith("basic "):
            try:
                return base64.b64decode(h[6:].strip()).decode("utf-8", "replace").partition(":")[0]
            except ValueError:
                pass
        return "anonymous"

    def rate_limited(self, decision):
        return json_response(429, error_body("CMN-301", "Request rate exceeded"),
                             decision.headers())

    def fault_status(self, status, route):
        code, message = STATUS_FAULT_CODES.get(status, ("CMN-201", REASONS.get(status, "Error")))
        headers = self.limiter.check("fault", GROUP[route], count=False).headers()
        if status == 429:
            headers.append(("Retry-After", str(max(1, math.ceil(self.limiter.penalty)))))
        if status in (204, 304) or status < 200:
            return Response(status, b"", None, headers)
        return json_response(status, error_body(code, message), headers)


class ApiHandler(BaseHandler):
    """Platform or media listener (class attribute `listener`)."""

    listener = "platform"

    def body_limit(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        if self.listener == "platform" and path.endswith("/fax"):
            return emu_send.fp.FAX_BODY_MAX
        if self.listener == "platform" and path.endswith("/sms"):
            return emu_send.SMS_BODY_MAX
        return super().body_limit()

    def on_answer(self, status):
        self.app.counts.answered(status)

    def decorate(self, resp):
        # every answer of the platform and media listeners carries the rate-limit headers
        if resp.header("X-Rate-Limit-Group") is None:
            resp.headers += self.app.limiter.check("anonymous", "Light", count=False).headers()

    def dispatch(self, req):
        app = self.app
        route, info = app.route(self.listener, req.method, req.segments)
        if route == "sync_fsync" and req.one("syncType") == "ISync":
            route = "sync_isync"
        msg_ids = []
        att = None
        if info.ids and route in ("get", "get_batch", "put", "patch", "delete"):
            msg_ids = [i for i in info.ids if is_id(i)]
        if info.msg is not None:
            msg_ids = [info.msg]
            if route == "content":
                att = (info.msg, info.att)
        app.counts.request(route, msg_ids, att)
        fault, delay_ms = app.faults.decide(route)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        if fault is not None:
            app.counts.fault(fault.action)
            if fault.action == "delay":
                time.sleep(fault.ms / 1000.0)
            elif fault.action == "reset":
                self.abort()
                return
            elif fault.action == "status":
                self.send(app.fault_status(fault.status, route))
                return
            elif fault.action == "json_error_200":
                self.send(Response(200, JSON_ERROR_200, "application/json",
                                   app.limiter.check("fault", GROUP[route], count=False).headers()))
                return
        resp = app.handle(self.listener, req, route, info, self)
        if fault is not None:
            if fault.action == "reset_after":
                self.abort()
                return
            if fault.action == "truncate":
                self.send_truncated(resp)
                return
            if fault.action == "truncate_no_length":
                self.send_truncated_no_length(resp)
                return
            if fault.action == "malformed_json":
                body = resp.body if resp.body and JSON_TYPE.split(";")[0] in (
                    resp.header("Content-Type") or "") else dumps(
                        {"records": [{"id": 1, "uri": "x"}], "paging": {}})
                cut = body[:max(1, len(body) // 2)]
                headers = [(k, v) for k, v in resp.headers if k.lower() != "content-type"]
                resp = Response(200, cut, JSON_TYPE, headers)
        self.send(resp)


class MediaHandler(ApiHandler):
    listener = "media"
