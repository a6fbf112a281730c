"""The control listener: how tests steer and inspect a running emulator.

This module owns the control API of README "Control listener": counts,
faults, adding and changing messages "from another device", server truth,
attachment bytes (read, or replaced by a hostile sender's), token expiry, sync-token invalidation, run-time config,
what the send endpoints received and how they behave (emu_send), and the
WebSocket switches (drop every connection, refuse connections, read the
WebSocket state; emu_ws does the work on its loop).
It is never rate-limited, faulted or counted.  JSON in, JSON out; a bad
request is 400 {"error": "..."}, an unknown path or id 404 {"error": "..."}.
"""

import json

import emu_mailbox as mbx
import emu_ratelimit
from emu_api import is_id
from emu_http import BaseHandler, Response, dumps

JSON = "application/json"
# Query strings POST /control/messages/{id} may put on a message's content
# URIs: ones the content endpoint accepts (the spec's contentDisposition).
CONTENT_QUERIES = (None, "contentDisposition=Inline", "contentDisposition=Attachment")


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _body(req):
    if not req.body.strip():
        return {}
    try:
        data = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ControlError(400, "body is not valid JSON")
    return data


def _object(req):
    data = _body(req)
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _number(v, name, minimum=0):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum:
        raise ControlError(400, "%s must be a number >= %s" % (name, minimum))
    return v


class ControlHandler(BaseHandler):
    listener = "control"

    def dispatch(self, req):
        try:
            resp = self.route(req)
        except ControlError as e:
            resp = Response(e.status, dumps({"error": str(e)}), JSON)
        self.send(resp)

    def ok(self, obj):
        return Response(200, dumps(obj), JSON)

    def route(self, req):
        app = self.app
        mb = app.mailbox
        s = req.segments
        m = "GET" if req.method == "HEAD" else req.method
        if not s or s[0] != "control":
            raise ControlError(404, "unknown path")
        s = s[1:]
        if s == ["counts"] and m == "GET":
            return self.ok(app.counts.snapshot())
        if s == ["counts", "reset"] and m == "POST":
            app.counts.reset()
            return self.ok(app.counts.snapshot())
        if s == ["faults"] and m == "GET":
            return self.ok(app.faults.get())
        if s == ["faults"] and m == "POST":
            try:
                app.faults.set(_object(req))
            except ValueError as e:
                raise ControlError(400, str(e))
            return self.ok(app.faults.get())
        if s == ["messages"] and m == "POST":
            return self.add_message(_object(req))
        if len(s) == 2 and s[0] == "messages":
            loc = mb.locate(s[1]) if is_id(s[1]) else None
            if loc is None:
                raise ControlError(404, "no such message")
            ext, i = loc
            if m == "GET":
                return self.ok(mb.truth(ext, i))
            if m == "POST":
                return self.change_message(ext, i, _object(req))
        if len(s) == 4 and s[0] == "messages" and s[2] == "content" and m in ("GET", "PUT"):
            loc = mb.locate(s[1]) if is_id(s[1]) else None
            if loc is None or not is_id(s[3]):
                raise ControlError(404, "no such message")
            if m == "PUT":
                if not mb.replace_content(loc[0], loc[1], int(s[3]), bytes(req.body)):
                    raise ControlError(404, "no such attachment")
                return self.ok({"size": len(req.body)})
            found = mb.attachment(loc[0], loc[1], int(s[3]))
            if found is None:
                raise ControlError(404, "no such attachment")
            return Response(200, found[0], found[1])
        if len(s) == 3 and s[0] == "extensions" and s[2] == "messages" and m == "GET":
            ext = mb.extension(s[1])
            if ext is None:
                raise ControlError(404, "no such extension")
            return self.ok(mb.all_messages(ext))
        if s == ["tokens"] and m == "GET":
            with app.auth.lock:
                issued = list(app.auth.issued)
            return self.ok({"issued": issued + app.ws.tokens_issued()})
        if s == ["ws"] and m == "GET":
            return self.ok(app.ws.call(app.ws.state()))
        if s == ["ws", "drop"] and m == "POST":
            body = _object(req)
            keep = body.get("recoverable", True)
            if not isinstance(keep, bool) or set(body) - {"recoverable"}:
                raise ControlError(400, "give {\"recoverable\": true|false}")
            return self.ok({"dropped": app.ws.call(app.ws.drop(keep))})
        if s == ["ws", "listener"] and m == "POST":
            body = _object(req)
            if not isinstance(body.get("accept"), bool) or set(body) != {"accept"}:
                raise ControlError(400, "give {\"accept\": true|false}")
            app.ws.call(app.ws.set_accepting(body["accept"]))
            return self.ok(app.ws.call(app.ws.state()))
        if s == ["tokens", "expire"] and m == "POST":
            app.auth.expire_all()
            return self.ok({"expired": True})
        if s == ["sync", "invalidate"] and m == "POST":
            app.sync.invalidate()
            return self.ok({"generation": app.sync.generation})
        if s == ["sent"] and m == "GET":
            return self.ok(app.sender.snapshot())
        if s == ["sent", "reset"] and m == "POST":
            app.sender.reset()
            return self.ok([])
        if s == ["send-config"] and m in ("GET", "POST"):
            if m == "POST":
                try:
                    app.sender.settings.update(_object(req), mb)
                except ValueError as e:
                    raise ControlError(400, str(e))
            return self.ok(app.sender.settings.get())
        if s == ["config"] and m in ("GET", "POST"):
            if m == "POST":
                self.set_config(_object(req))
            return self.ok(self.config())
        raise ControlError(404, "unknown control call %s %s" % (req.method, req.path))

    # ------------------------------------------------------------------ calls
    def add_message(self, body):
        mb = self.app.mailbox
        ext = mb.extension(body.get("extension", ""))
        if ext is None:
            raise ControlError(400, "extension must be an extension number or id")
        typ = body.get("type")
        if typ not in mbx.TYPES:
            raise ControlError(400, "type must be one of %s" % ", ".join(mbx.TYPES))
        direction = body.get("direction", "Inbound")
        if direction not in mbx.DIRECTIONS:
            raise ControlError(400, "direction must be Inbound or Outbound")
        read = body.get("readStatus", "Unread")
        if read not in mbx.READ_STATUSES:
            raise ControlError(400, "readStatus must be Read or Unread")
        frm = body.get("from")
        if isinstance(frm, str):
            frm = {"phoneNumber": frm}
        if frm is not None and not isinstance(frm, dict):
            raise ControlError(400, "from must be a phone number or an object")
        subject = body.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise ControlError(400, "subject must be a string")
        unknown = set(body) - {"extension", "type", "direction", "readStatus", "from", "subject"}
        if unknown:
            raise ControlError(400, "unknown fields: %s" % ", ".join(sorted(unknown)))
        try:
            i = mb.add_message(ext, typ, direction, read, frm, subject)
        except ValueError as e:
            raise ControlError(400, str(e))
        return self.ok(mb.record(ext, i))

    def change_message(self, ext, i, body):
        mb = self.app.mailbox
        unknown = set(body) - {"readStatus", "availability", "contentQuery"}
        if unknown or not body:
            raise ControlError(400, "give readStatus, availability and/or contentQuery")
        read = body.get("readStatus")
        avail = body.get("availability")
        if read is not None and read not in mbx.READ_STATUSES:
            raise ControlError(400, "readStatus must be Read or Unread")
        if avail is not None and avail not in mbx.AVAILABILITIES:
            raise ControlError(400, "availability must be Alive, Deleted or Purged")
        if body.get("contentQuery") not in CONTENT_QUERIES:
            raise ControlError(400, "contentQuery must be null or one of %s"
                               % ", ".join(q for q in CONTENT_QUERIES if q))
        with mb.lock:
            if "contentQuery" in body:
                mb.set_content_query(ext, i, body["contentQuery"])
            if avail is not None:
                mb.set_availability(ext, i, avail)
            if read is not None:
                mb.set_read(ext, i, read)
            # a change from another device always touches the message
            ext.lastmod[i] = mb.tick()
            mb.touched(ext, i)
            return self.ok(mb.truth(ext, i))

    def config(self):
        app = self.app
        lim = app.limiter
        out = {"extension_list_forbidden": app.extension_list_forbidden,
               "owner_admin": app.owner_admin,
               "token_lifetime": app.auth.token_lifetime,
               "refresh_lifetime": app.auth.refresh_lifetime,
               "rate_limits": lim.limits, "rate_window": lim.window, "penalty": lim.penalty}
        out.update(app.ws.config())
        return out

    def set_config(self, body):
        app = self.app
        unknown = set(body) - {"extension_list_forbidden", "owner_admin", "token_lifetime",
                               "refresh_lifetime", "rate_limits", "rate_window", "penalty"}
        ws = {k: body[k] for k in unknown if k.startswith("ws_")}
        unknown -= set(ws)
        if unknown:
            raise ControlError(400, "unknown config keys: %s" % ", ".join(sorted(unknown)))
        for key in ("extension_list_forbidden", "owner_admin"):
            if key in body and not isinstance(body[key], bool):
                raise ControlError(400, "%s must be a boolean" % key)
        try:
            app.ws.set_config(ws)  # validates every ws_ key before applying any
        except ValueError as e:
            raise ControlError(400, str(e))
        if "token_lifetime" in body:
            _number(body["token_lifetime"], "token_lifetime", 0)
        if "refresh_lifetime" in body:
            _number(body["refresh_lifetime"], "refresh_lifetime", 0)
        limits = False
        if "rate_limits" in body:
            try:
                limits = emu_ratelimit.parse_limits(body["rate_limits"])
            except ValueError as e:
                raise ControlError(400, str(e))
        window = body.get("rate_window")
        if window is not None:
            _number(window, "rate_window", 0.001)
        penalty = body.get("penalty")
        if penalty is not None:
            _number(penalty, "penalty", 0)
        if "extension_list_forbidden" in body:
            app.extension_list_forbidden = body["extension_list_forbidden"]
        if "owner_admin" in body:
            app.owner_admin = body["owner_admin"]
        if "token_lifetime" in body:
            app.auth.token_lifetime = float(body["token_lifetime"])
        if "refresh_lifetime" in body:
            app.auth.refresh_lifetime = float(body["refresh_lifetime"])
        if limits is not False or window is not None or penalty is not None:
            if window is not None and penalty is None and "penalty" not in body and \
                    app.limiter.penalty == app.limiter.window and not app.penalty_given:
                penalty = window  # the penalty follows the window unless set on its own
            app.limiter.configure(limits, window, penalty)
            if penalty is not None and "penalty" in body:
                app.penalty_given = True
