"""Push notifications over WebSocket: WS tokens, the WebSocket listener, sessions, events.

This module owns everything docs/api-notes.md "Push notifications over WebSocket"
describes, as rcemu plays it (README "WebSocket listener"):

- WS tokens (POST /restapi/oauth/wstoken): single use, short-lived, bound to the
  OAuth session of the access token that asked; refused (403 CMN-401) when the
  app lacks the WebSocketsSubscription permission (config switch).
- The listener (127.0.0.1, python3-websockets on an asyncio loop in its own
  thread): the upgrade needs an unused, unexpired token (else HTTP 401); then
  ConnectionDetails with a wsc {token, sequence}; ClientRequest for the
  subscription calls (one subscription per session: a second POST replaces the
  first); Heartbeat answers; server pings and dropping a client whose pong does
  not come within ping_timeout; the idle (WSG-902) and absolute (WSG-903)
  timeouts; recovery with wsc within recovery_timeout, replaying at most
  recovery_buffer notifications that could not be sent while disconnected.
- Events: the mailbox calls change() for every new or changed message (control
  API or REST API).  Changes are coalesced for coalesce_ms per extension, then
  each subscription whose filters match gets one message-store notification
  (changes[] per type) and one instant notification per new inbound SMS.  A
  change covered by a subscription stays invisible to ISync until coalesce_ms
  + sync_lag_ms after it happened, so an event can arrive before message-sync
  shows the change, as on the real server.

Threads: HTTP handler threads call issue_token, change, hidden and the control
entry points; session state lives on the loop thread only (control reads it
through run_coroutine_threadsafe).  self.lock guards tokens, the hidden map,
the watched-extension counts and the config; it is never held while calling
into the mailbox, and the mailbox lock may be held while taking it.
"""

import asyncio
import base64
import collections
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from http import HTTPStatus

import websockets
import websockets.exceptions
import websockets.legacy.server

import emu_mailbox as mbx

DEFAULTS = {"permission": True, "token_lifetime": 30.0, "idle_timeout": 1800.0,
            "absolute_timeout": 86400.0, "recovery_timeout": 180.0, "recovery_buffer": 100,
            "ping_interval": 30.0, "ping_timeout": 10.0, "sync_lag_ms": 400.0,
            "coalesce_ms": 100.0, "advertised_uri": None}
SUBSCRIPTION_LIFETIME = 86400
# Event types as the "Message Event" page spells them.
EVENT_TYPE = {"Fax": "Fax", "SMS": "SMS", "VoiceMail": "Voicemail", "Pager": "Pager",
              "Text": "Text"}
_FILTER_RE = re.compile(r"^(?:/restapi/v1\.0)?/account/([^/?]+)/extension/([^/?]+)"
                        r"/message-store(/instant)?(?:\?(.*))?$")
_INSTANT_KEYS = ("id", "to", "from", "type", "creationTime", "lastModifiedTime", "readStatus",
                 "priority", "attachments", "direction", "availability", "subject",
                 "messageStatus", "conversationId")


def iso_plus0000(ms):
    """ConnectionDetails' creationTime style: 2020-09-07T21:50:02.737+0000."""
    return mbx.iso_ms(ms)[:-1] + "+0000"


def frame(meta, body=None):
    return json.dumps([meta] if body is None else [meta, body], ensure_ascii=False)


def api_error(code, message, parameter=None):
    item = {"errorCode": code, "message": message}
    if parameter:
        item["parameterName"] = parameter
    body = {"errorCode": code, "message": message, "errors": [item]}
    if parameter:
        body["parameterName"] = parameter
    return body


class FilterError(Exception):
    pass


class Filter:
    """One accepted event filter: extension, instant or not, type/direction."""

    __slots__ = ("ext", "instant", "types", "directions", "event")

    def __init__(self, ext, instant, types, directions, event):
        self.ext = ext
        self.instant = instant
        self.types = types
        self.directions = directions
        self.event = event


class Session:
    """A WebSocket session: survives its connection for recovery_timeout."""

    def __init__(self, sid, owner, oauth_sid):
        self.id = sid
        self.owner = owner
        self.oauth_sid = oauth_sid
        self.seq = 0
        self.sub_id = None
        self.filters = []
        self.raw_filters = []
        self.sub_created = None
        self.conn = None            # the live websocket, or None
        self.disconnected_at = None  # monotonic time of the drop
        self.buffer = collections.deque()
        self.buffer_dropped = 0


class WsHub:
    def __init__(self, mailbox, auth, counts):
        self.mailbox = mailbox
        self.auth = auth
        self.counts = counts
        self.lock = threading.Lock()
        self.cfg = dict(DEFAULTS)
        self.key = secrets.token_bytes(32)
        self.tokens = {}            # ws token -> [owner, oauth session id, expires (time.time)]
        self.used = set()
        self.issued = []            # every WS token and wsc token (for secret checks in logs)
        self.hidden = {}            # (ext index, msg index) -> ms until ISync shows it
        self.watched = collections.Counter()   # extension id -> subscriptions covering it
        self.sessions = {}          # loop thread only
        self.stats = collections.Counter()
        self.loop = None
        self.server = None
        self.port = 0
        self.accepting = True
        self.pending = {}           # loop thread: ext id -> list of changes
        self.flush_handle = None

    # ------------------------------------------------------------ config
    def config(self):
        with self.lock:
            return {"ws_" + k: v for k, v in self.cfg.items()}

    def set_config(self, body):
        """Validate then apply ws_* keys; ValueError names the bad one."""
        new = {}
        for k, v in body.items():
            name = k[3:]
            if name == "permission":
                if not isinstance(v, bool):
                    raise ValueError("ws_permission must be a boolean")
            elif name == "advertised_uri":
                if v is not None and not isinstance(v, str):
                    raise ValueError("ws_advertised_uri must be a string or null")
            elif name == "recovery_buffer":
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError("ws_recovery_buffer must be an integer >= 0")
            elif name in DEFAULTS:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError("%s must be a number >= 0" % k)
                v = float(v)
            else:
                raise ValueError("unknown config key %s" % k)
            new[name] = v
        with self.lock:
            self.cfg.update(new)

    def c(self, name):
        with self.lock:
            return self.cfg[name]

    # ------------------------------------------------------------ tokens
    def issue_token(self, owner, oauth_sid, ws_url):
        """The wstoken answer, or None when the app lacks the permission."""
        with self.lock:
            if not self.cfg["permission"]:
                return None
            token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
            life = self.cfg["token_lifetime"]
            self.tokens[token] = [owner, oauth_sid, time.time() + life]
            self.issued.append(token)
            self.stats["wstoken_issued"] += 1
            uri = self.cfg["advertised_uri"] or ws_url
        return {"uri": uri, "ws_access_token": token, "expires_in": int(life)}

    def take_token(self, token):
        """(owner, oauth sid) for a valid token, now used; else (None, code, message)."""
        with self.lock:
            entry = self.tokens.pop(token, None)
            if entry is None:
                if token in self.used:
                    return None, "OAU-149", "Token is already used"
                return None, "OAU-149", "Invalid token"
            self.used.add(token)
            if time.time() >= entry[2]:
                return None, "OAU-128", "Token expired"
            return (entry[0], entry[1]), None, None

    def wsc_token(self, sid):
        payload = sid.encode()
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()[:12]
        tok = base64.urlsafe_b64encode(payload + b"|" + mac).decode().rstrip("=")
        with self.lock:
            if tok not in self.issued:
                self.issued.append(tok)
        return tok

    def wsc_session(self, tok):
        try:
            raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
            payload, _, mac = raw.partition(b"|")
            want = hmac.new(self.key, payload, hashlib.sha256).digest()[:12]
            if len(mac) == 12 and hmac.compare_digest(mac, want):
                return payload.decode()
        except (ValueError, UnicodeDecodeError):
            pass
        return None

    # ------------------------------------------------------------ events in
    def change(self, ext, i, new):
        """A message was added (new) or changed.  Any thread; mailbox lock may be held."""
        loop = self.loop
        if loop is None:
            return
        mid = self.mailbox.msg_id(ext.index, i)
        k = ext.kind[i]
        typ = mbx.TYPES[mbx.KIND_TYPE[k]]
        direction = mbx.DIRECTIONS[mbx.KIND_DIR[k]]
        instant = None
        if new and typ == "SMS" and direction == "Inbound":
            rec = self.mailbox.record(ext, i)
            instant = {key: rec[key] for key in _INSTANT_KEYS if key in rec}
            instant["id"] = str(rec["id"])
            if "conversationId" in rec:
                instant["conversationId"] = str(rec["conversationId"])
            instant["attachments"] = [
                {k2: (str(v) if k2 == "id" else v) for k2, v in a.items()
                 if k2 in ("id", "uri", "type", "contentType", "size")}
                for a in rec.get("attachments", [])]
        now_ms = time.time() * 1000
        with self.lock:
            if self.watched.get(ext.id):
                until = now_ms + self.cfg["coalesce_ms"] + self.cfg["sync_lag_ms"]
                self.hidden[(ext.index, i)] = until
        loop.call_soon_threadsafe(self._on_change, ext.id, mid, typ, direction, new, instant)

    def is_hidden(self, ext, i, now_ms):
        """True while a change of (ext, i) must not show in ISync yet."""
        with self.lock:
            until = self.hidden.get((ext.index, i))
            if until is None:
                return False
            if now_ms >= until:
                del self.hidden[(ext.index, i)]
                return False
            return True

    # ------------------------------------------------------------ loop thread
    def start(self, port):
        ready = threading.Event()
        errors = []

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen(port))
            except OSError as e:
                errors.append(e)
                ready.set()
                return
            self.loop = loop
            loop.create_task(self._sweeper())
            ready.set()
            loop.run_forever()

        self.thread = threading.Thread(target=run, name="rcemu-ws", daemon=True)
        self.thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self.port

    def url(self):
        return "ws://127.0.0.1:%d/ws" % self.port

    async def _listen(self, port):
        hub = self

        class Protocol(websockets.legacy.server.WebSocketServerProtocol):
            async def process_request(self, path, headers):
                return hub._upgrade(self, path)

        self.server = await websockets.serve(self._handler, "127.0.0.1", port,
                                             create_protocol=Protocol, ping_interval=None,
                                             max_size=1 << 20, close_timeout=2)
        self.port = self.server.sockets[0].getsockname()[1]

    def call(self, coro, timeout=10):
        """Run a coroutine on the loop from another thread; its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        if self.loop is not None:
            async def close():
                if self.server is not None:
                    self.server.close()
            try:
                self.call(close(), 5)
            except Exception:  # noqa: BLE001  (shutting down anyway)
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)

    def _upgrade(self, proto, path):
        split = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(split.query)

        def refuse(status, code, message):
            self.counts.ws("refused")
            body = json.dumps(api_error(code, message)).encode()
            return (status, [("Content-Type", "application/json;charset=UTF-8")], body)

        if split.path != "/ws":
            return refuse(HTTPStatus.NOT_FOUND, "CMN-102", "Resource for parameter [path] is "
                          "not found")
        token = (query.get("access_token") or [""])[0]
        if not token:
            return refuse(HTTPStatus.UNAUTHORIZED, "AGW-401", "access_token is not specified")
        who, code, message = self.take_token(token)
        if who is None:
            return refuse(HTTPStatus.UNAUTHORIZED, code, message)
        proto.rc_who = who
        proto.rc_wsc = (query.get("wsc") or [None])[0]
        return None

    async def _sweeper(self):
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            limit = self.c("recovery_timeout")
            for s in list(self.sessions.values()):
                if s.conn is None and s.disconnected_at is not None and \
                        now - s.disconnected_at > limit:
                    self._forget(s)

    def _forget(self, s):
        self.sessions.pop(s.id, None)
        self._set_filters(s, [])

    def _set_filters(self, s, filters):
        with self.lock:
            for f in s.filters:
                self.watched[f.ext.id] -= 1
                if self.watched[f.ext.id] <= 0:
                    del self.watched[f.ext.id]
            s.filters = filters
            for f in filters:
                self.watched[f.ext.id] += 1

    # ------------------------------------------------------------ connections
    def _attach(self, ws, who, wsc):
        """The session for a new connection: (session, recoveryState or None, error code)."""
        owner, oauth_sid = who
        if wsc is not None:
            sid = self.wsc_session(wsc)
            old = self.sessions.get(sid) if sid else None
            if old is not None and old.conn is None and old.oauth_sid == oauth_sid and old.sub_id:
                old.conn = ws
                old.disconnected_at = None
                return old, "Successful", None
            if old is not None and old.oauth_sid != oauth_sid:
                code = "WSG-1003"
            elif old is not None and not old.sub_id:
                code = "WSG-1005"
            else:
                code = None  # unknown, expired or in use: no code is documented
            state = "Failed"
        else:
            state, code = None, None
        s = Session(uuid.uuid4().hex, owner, oauth_sid)
        s.conn = ws
        self.sessions[s.id] = s
        return s, state, code

    async def _send(self, s, meta, body=None, wsc=False):
        if wsc:
            s.seq += 1
            meta["wsc"] = {"token": self.wsc_token(s.id), "sequence": s.seq}
        self.counts.ws(meta["type"])
        await s.conn.send(frame(meta, body))

    async def _handler(self, ws):
        self.counts.ws("connect")
        s, state, code = self._attach(ws, ws.rc_who, ws.rc_wsc)
        cd = {"creationTime": iso_plus0000(time.time() * 1000),
              "maxConnectionsPerSession": 50, "recoveryBufferSize": int(self.c("recovery_buffer")),
              "recoveryTimeout": int(self.c("recovery_timeout")),
              "idleTimeout": int(self.c("idle_timeout")),
              "absoluteTimeout": int(self.c("absolute_timeout")), "maxActiveRequests": 10}
        if state is not None:
            cd["recoveryState"] = state
            self.counts.ws("recovery_" + state.lower())
        if code:
            cd["recoveryErrorCode"] = code
        rid = str(uuid.uuid4())
        tasks = []
        ws.rc_last_activity = time.monotonic()
        try:
            await self._send(s, {"type": "ConnectionDetails", "messageId": rid, "status": 200,
                                 "headers": {"RCRequestId": rid}}, cd, wsc=True)
            while s.buffer and s.conn is ws:
                await self._send(s, *s.buffer.popleft(), wsc=True)
                self.counts.ws("replayed")
            tasks = [asyncio.ensure_future(self._pinger(ws)),
                     asyncio.ensure_future(self._watchdog(s, ws))]
            async for raw in ws:
                ws.rc_last_activity = time.monotonic()
                await self._on_message(s, raw)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            for t in tasks:
                t.cancel()
            if s.conn is ws:
                s.conn = None
                s.disconnected_at = time.monotonic()
                if getattr(ws, "rc_forget", False):
                    self._forget(s)
            self.counts.ws("disconnect")

    async def _pinger(self, ws):
        while True:
            interval = self.c("ping_interval")
            await asyncio.sleep(interval if interval > 0 else 1.0)
            if interval <= 0:
                continue
            waiter = await ws.ping()
            self.counts.ws("ping")
            try:
                await asyncio.wait_for(waiter, self.c("ping_timeout"))
                self.counts.ws("pong")
            except asyncio.TimeoutError:
                self.counts.ws("ping_timeout")
                ws.transport.abort()
                return

    async def _watchdog(self, s, ws):
        started = time.monotonic()
        while True:
            now = time.monotonic()
            idle = self.c("idle_timeout")
            absolute = self.c("absolute_timeout")
            if now - ws.rc_last_activity >= idle:
                code, message = "WSG-902", "Idle timeout expired"
            elif now - started >= absolute:
                code, message = "WSG-903", "Absolute timeout expired"
            else:
                await asyncio.sleep(min(0.1, max(0.01, min(idle - (now - ws.rc_last_activity),
                                                           absolute - (now - started)))))
                continue
            rid = str(uuid.uuid4())
            self.counts.ws(code)
            try:
                await self._send(s, {"type": "Error", "messageId": rid, "status": 400,
                                     "headers": {"RCRequestId": rid}},
                                 {"errorCode": code, "message": message})
                await ws.close(1000, message)
            except websockets.exceptions.ConnectionClosed:
                pass
            return

    async def _on_message(self, s, raw):
        try:
            msg = json.loads(raw)
            meta = msg[0] if isinstance(msg, list) and msg and isinstance(msg[0], dict) else None
        except (ValueError, TypeError):
            meta = None
        if meta is None or not isinstance(meta.get("messageId"), str) or not meta["messageId"]:
            self.counts.ws("bad_message")
            rid = str(uuid.uuid4())
            await self._send(s, {"type": "Error", "messageId": rid, "status": 400,
                                 "headers": {"RCRequestId": rid}},
                             api_error("CMN-101", "A message must be a JSON array [meta, body] "
                                       "whose meta has a type and a messageId"))
            return
        mid = meta["messageId"]
        typ = meta.get("type")
        if typ == "Heartbeat":
            self.counts.ws("heartbeat_received")
            await self._send(s, {"type": "Heartbeat", "messageId": mid, "status": 200})
            return
        if typ != "ClientRequest":
            self.counts.ws("bad_message")
            await self._send(s, {"type": "Error", "messageId": mid, "status": 400},
                             api_error("CMN-101", "Unsupported message type"))
            return
        self.counts.ws("client_request")
        body = msg[1] if len(msg) > 1 else None
        status, answer = self._client_request(s, meta, body)
        rid = str(uuid.uuid4())
        out = {"type": "ClientRequest", "messageId": mid, "status": status,
               "headers": {"RCRequestId": rid, "Content-Type": "application/json;charset=UTF-8"}}
        await self._send(s, out, answer)

    # ------------------------------------------------------------ subscriptions
    def _client_request(self, s, meta, body):
        method = meta.get("method")
        path = urllib.parse.urlsplit(meta.get("path") or "").path.rstrip("/")
        segs = [p for p in path.split("/") if p]
        if segs[:3] != ["restapi", "v1.0", "subscription"] or len(segs) > 4:
            return 404, api_error("CMN-102", "Resource for parameter [path] is not found "
                                  "(rcemu serves only the subscription calls over WebSocket)")
        if len(segs) == 3:
            if method != "POST":
                return 405, api_error("AGW-405", "Method [%s] is not allowed" % method)
            try:
                filters = self._parse_body(s, body)
            except FilterError as e:
                return 400, api_error("CMN-101", str(e), "eventFilters")
            s.sub_id = str(uuid.uuid4())
            s.sub_created = time.time() * 1000
            s.raw_filters = [f.event for f in filters]
            self._set_filters(s, filters)
            self.counts.ws("subscribed")
            return 200, self._sub_info(s)
        if not s.sub_id or segs[3] != s.sub_id:
            return 404, api_error("CMN-102", "Resource for parameter [subscriptionId] is not "
                                  "found", "subscriptionId")
        if method == "GET":
            return 200, self._sub_info(s)
        if method == "DELETE":
            s.sub_id = None
            self._set_filters(s, [])
            return 204, None
        return 405, api_error("AGW-405", "Method [%s] is not allowed" % method)

    def _sub_info(self, s):
        now = time.time() * 1000
        return {"uri": "%s/restapi/v1.0/subscription/%s" % (self.mailbox.server_url, s.sub_id),
                "id": s.sub_id, "creationTime": mbx.iso_ms(s.sub_created), "status": "Active",
                "eventFilters": list(s.raw_filters),
                "expirationTime": mbx.iso_ms(now + SUBSCRIPTION_LIFETIME * 1000),
                "expiresIn": SUBSCRIPTION_LIFETIME,
                "deliveryMode": {"transportType": "WebSocket"}}

    def _parse_body(self, s, body):
        if not isinstance(body, dict):
            raise FilterError("The request body must be a JSON object")
        mode = body.get("deliveryMode")
        if not isinstance(mode, dict) or mode.get("transportType") != "WebSocket":
            raise FilterError("Parameter [deliveryMode.transportType] value is invalid")
        raw = body.get("eventFilters")
        if not isinstance(raw, list) or not raw:
            raise FilterError("Parameter [eventFilters] value is invalid")
        return [self._parse_filter(s, f) for f in raw]

    def _parse_filter(self, s, text):
        bad = FilterError("Parameter [eventFilters] value is invalid")
        if not isinstance(text, str):
            raise bad
        m = _FILTER_RE.match(text)
        if not m:
            raise bad
        acc, ext_key, instant, query = m.groups()
        mb = self.mailbox
        if acc not in ("~", mb.account_id):
            raise bad
        if ext_key == "~":
            ext = mb.extension(s.owner)
        elif ext_key.isascii() and ext_key.isdigit():
            ext = mb.by_id.get(int(ext_key))
        else:
            ext = None
        if ext is None:
            raise bad
        params = urllib.parse.parse_qs(query or "", keep_blank_values=True, strict_parsing=False)
        types = directions = None
        if instant:
            if params != {"type": ["SMS"]}:
                raise bad
        else:
            if set(params) - {"type", "direction"}:
                raise bad
            if "type" in params:
                types = set(params["type"])
                if not types <= {"Fax", "SMS", "VoiceMail", "Pager", "Text"}:
                    raise bad
            if "direction" in params:
                directions = set(params["direction"])
                if not directions <= set(mbx.DIRECTIONS):
                    raise bad
        event = "/restapi/v1.0/account/%s/extension/%d/message-store%s%s" % (
            mb.account_id, ext.id, "/instant" if instant else "", "?" + query if query else "")
        return Filter(ext, bool(instant), types, directions, event)

    # ------------------------------------------------------------ events out
    def _on_change(self, ext_id, mid, typ, direction, new, instant):
        self.pending.setdefault(ext_id, []).append((mid, typ, direction, new, instant))
        if self.flush_handle is None:
            self.flush_handle = self.loop.call_later(self.c("coalesce_ms") / 1000.0,
                                                     lambda: asyncio.ensure_future(self._flush()))

    async def _flush(self):
        self.flush_handle = None
        pending, self.pending = self.pending, {}
        now = time.time() * 1000
        for s in list(self.sessions.values()):
            if not s.sub_id:
                continue
            for f in s.filters:
                changes = pending.get(f.ext.id)
                if changes:
                    for body in self._bodies(f, changes, now):
                        await self._deliver(s, f, body, now)

    def _bodies(self, f, changes, now):
        if f.instant:
            return [inst for (_, _, _, new, inst) in changes if inst is not None]
        by_type = collections.OrderedDict()
        for mid, typ, direction, new, _ in changes:
            if f.types is not None and typ not in f.types:
                continue
            if f.directions is not None and direction not in f.directions:
                continue
            entry = by_type.setdefault(EVENT_TYPE[typ], ([], set()))
            if new:
                if mid not in entry[0]:
                    entry[0].append(mid)
            else:
                entry[1].add(mid)
        out = []
        if by_type:
            ch = [{"type": t, "newCount": len(n), "updatedCount": len(u - set(n)),
                   "newMessageIds": n} for t, (n, u) in by_type.items()]
            out.append({"accountId": int(self.mailbox.account_id), "extensionId": f.ext.id,
                        "lastUpdated": mbx.iso_ms(now), "changes": ch})
        return out

    async def _deliver(self, s, f, body, now):
        uid = str(uuid.uuid4())
        meta = {"type": "ServerNotification", "messageId": uid, "status": 200,
                "headers": {"RCRequestId": str(uuid.uuid4())}}
        note = {"uuid": uid, "event": f.event, "timestamp": mbx.iso_ms(now),
                "subscriptionId": s.sub_id, "ownerId": str(s.owner), "body": body}
        if s.conn is not None:
            try:
                await self._send(s, meta, note, wsc=True)
                self.stats["events_sent"] += 1
                return
            except websockets.exceptions.ConnectionClosed:
                pass
        limit = int(self.c("recovery_buffer"))
        s.buffer.append((meta, note))
        self.counts.ws("buffered")
        while len(s.buffer) > limit:
            s.buffer.popleft()
            s.buffer_dropped += 1
            self.counts.ws("buffer_overflow")

    # ------------------------------------------------------------ control
    async def drop(self, recoverable=True):
        n = 0
        for s in list(self.sessions.values()):
            ws = s.conn
            if ws is None:
                if not recoverable:
                    self._forget(s)
                continue
            if not recoverable:
                ws.rc_forget = True
            ws.transport.abort()
            n += 1
        self.counts.ws("control_drop")
        return n

    async def set_accepting(self, accept):
        if accept == self.accepting:
            return
        if not accept:
            self.server.close()
            await self.server.wait_closed()
            self.accepting = False
        else:
            await self._listen(self.port)
            self.accepting = True

    async def state(self):
        sessions = []
        for s in self.sessions.values():
            sessions.append({"id": s.id, "connected": s.conn is not None, "sequence": s.seq,
                             "subscription": ({"id": s.sub_id, "eventFilters": s.raw_filters}
                                              if s.sub_id else None),
                             "buffered": len(s.buffer), "buffer_dropped": s.buffer_dropped})
        with self.lock:
            stats = dict(self.stats)
        return {"accepting": self.accepting, "url": self.url(),
                "connections": sum(1 for s in self.sessions.values() if s.conn is not None),
                "sessions": sessions, "events_sent": stats.get("events_sent", 0),
                "wstoken_issued": stats.get("wstoken_issued", 0)}

    def tokens_issued(self):
        with self.lock:
            return list(self.issued)
