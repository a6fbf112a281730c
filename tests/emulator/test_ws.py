"""The emulator's WebSocket side: README "WebSocket listener", api-notes "Push notifications".

Black-box: a real rcemu subprocess; the test's own WebSocket client is Debian's
python3-websockets (asyncio), except where a client must misbehave (no pong),
which takes a raw socket.  Every wait is for a condition with a generous
deadline, never a fixed sleep that the assertion depends on.
"""

import asyncio
import base64
import json
import os
import socket
import time
import urllib.parse
import uuid

import pytest
import websockets
import websockets.exceptions

from emu_harness import Emu, http_request

DEADLINE = 20.0
FILTER = "/restapi/v1.0/account/~/extension/%s/message-store"
INSTANT = "/restapi/v1.0/account/~/extension/%s/message-store/instant?type=SMS"
DEFAULT_CFG = {"ws_permission": True, "ws_token_lifetime": 30, "ws_idle_timeout": 1800,
               "ws_absolute_timeout": 86400, "ws_recovery_timeout": 180,
               "ws_recovery_buffer": 100, "ws_ping_interval": 30, "ws_ping_timeout": 10,
               "ws_sync_lag_ms": 400, "ws_coalesce_ms": 100, "ws_advertised_uri": None}


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    e = Emu(tmp_path_factory.mktemp("emuws"), "--messages", 40, "--extensions", 2, "--seed", 3)
    e.start()
    yield e
    e.stop()


@pytest.fixture
def ws(emu):
    emu.control("POST", "/control/config", DEFAULT_CFG)
    emu.control("POST", "/control/ws/listener", {"accept": True})
    emu.control("POST", "/control/ws/drop", {"recoverable": False})
    emu.control("POST", "/control/counts/reset")
    return Ws(emu)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class Ws:
    """Test-side helpers: tokens, connections, requests."""

    def __init__(self, emu):
        self.emu = emu
        self.token = emu.login()["access_token"]

    def wstoken(self, token=None):
        return self.emu.api("POST", "/restapi/oauth/wstoken", token or self.token)

    def url(self, wsc=None, token=None):
        r = self.wstoken(token)
        assert r.status == 200, r
        d = r.json()
        q = {"access_token": d["ws_access_token"]}
        if wsc:
            q["wsc"] = wsc
        return d["uri"] + "?" + urllib.parse.urlencode(q)

    async def connect(self, wsc=None, token=None):
        conn = await websockets.connect(self.url(wsc, token))
        meta, body = await recv(conn)
        assert meta["type"] == "ConnectionDetails", meta
        return conn, meta, body

    async def subscribe(self, conn, filters, mode="WebSocket"):
        mid = str(uuid.uuid4())
        await conn.send(json.dumps([
            {"type": "ClientRequest", "messageId": mid, "method": "POST",
             "path": "/restapi/v1.0/subscription/"},
            {"eventFilters": filters, "deliveryMode": {"transportType": mode}}]))
        while True:
            meta, body = await recv(conn)
            if meta.get("messageId") == mid:
                assert meta["type"] == "ClientRequest"
                return meta, body


async def recv(conn, timeout=DEADLINE):
    msg = json.loads(await asyncio.wait_for(conn.recv(), timeout))
    assert isinstance(msg, list) and 1 <= len(msg) <= 2, msg
    return msg[0], (msg[1] if len(msg) > 1 else None)


async def next_of(conn, typ, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while True:
        meta, body = await recv(conn, max(0.1, end - time.monotonic()))
        if meta["type"] == typ:
            return meta, body


async def notes_until(conn, pred, timeout=DEADLINE):
    """ServerNotifications until pred(list so far) holds."""
    got = []
    end = time.monotonic() + timeout
    while not pred(got):
        meta, body = await next_of(conn, "ServerNotification", max(0.1, end - time.monotonic()))
        got.append((meta, body))
    return got


def new_ids(notes):
    return {i for _, b in notes for ch in b["body"].get("changes", [])
            for i in ch["newMessageIds"]}


# ------------------------------------------------------------------ wstoken
def test_wstoken_answer_group_count_and_auth(emu, ws):
    r = ws.wstoken()
    assert r.status == 200, r
    d = r.json()
    assert set(d) == {"uri", "ws_access_token", "expires_in"}
    assert d["uri"] == emu.info["ws_url"] and d["uri"].startswith("ws://127.0.0.1:")
    assert d["expires_in"] == 30 and len(d["ws_access_token"]) >= 20
    assert r.header("X-Rate-Limit-Group") == "Auth"
    assert emu.control("GET", "/control/counts")["routes"]["wstoken"] == 1
    assert emu.api("POST", "/restapi/oauth/wstoken", None).json()["errorCode"] == "AGW-401"
    assert ws.wstoken("nonsense").status == 401
    assert emu.api("GET", "/restapi/oauth/wstoken", ws.token).status == 405


def test_wstoken_refused_without_permission(emu, ws):
    emu.control("POST", "/control/config", {"ws_permission": False})
    r = ws.wstoken()
    assert r.status == 403 and r.json()["errorCode"] == "CMN-401", r
    assert "WebSocketsSubscription" in r.json()["message"]


def test_wstoken_rate_limited_in_auth_group(emu, ws):
    emu.control("POST", "/control/config", {"rate_limits": {"Auth": 2}, "rate_window": 60})
    try:
        codes = [ws.wstoken().status for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        emu.control("POST", "/control/config", {"rate_limits": None})


def test_upgrade_refuses_bad_reused_and_expired_tokens(emu, ws):
    async def go():
        good = ws.url()
        conn = await websockets.connect(good)
        await conn.close()
        for bad in (good, good.split("?")[0] + "?access_token=nope", good.split("?")[0]):
            with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
                await websockets.connect(bad)
            assert e.value.status_code == 401
        emu.control("POST", "/control/config", {"ws_token_lifetime": 0})
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            await websockets.connect(ws.url())
        assert e.value.status_code == 401
    run(go())
    assert emu.control("GET", "/control/counts")["ws"]["refused"] == 4


# ------------------------------------------------------------------ connection
def test_connection_details(emu, ws):
    async def go():
        conn, meta, body = await ws.connect()
        assert meta["status"] == 200 and meta["wsc"]["sequence"] == 1
        assert meta["wsc"]["token"] and meta["headers"]["RCRequestId"]
        assert body["recoveryTimeout"] == 180 and body["idleTimeout"] == 1800
        assert body["absoluteTimeout"] == 86400 and body["recoveryBufferSize"] == 100
        assert body["creationTime"].endswith("+0000") and "recoveryState" not in body
        await conn.close()
    run(go())


def test_heartbeat_is_answered(emu, ws):
    async def go():
        conn, _, _ = await ws.connect()
        await conn.send(json.dumps([{"type": "Heartbeat", "messageId": "hb-1"}]))
        meta, body = await next_of(conn, "Heartbeat")
        assert meta["messageId"] == "hb-1" and meta["status"] == 200 and body is None
        await conn.send("not json")
        meta, body = await next_of(conn, "Error")
        assert body["errorCode"] == "CMN-101"
        await conn.close()
    run(go())
    assert emu.control("GET", "/control/counts")["ws"]["heartbeat_received"] == 1


# ------------------------------------------------------------------ subscriptions
def test_subscription_create_validate_and_replace(emu, ws):
    e0, e1 = emu.ext_id(0), emu.ext_id(1)

    async def go():
        conn, _, _ = await ws.connect()
        meta, info = await ws.subscribe(conn, [FILTER % "~", INSTANT % e1])
        assert meta["status"] == 200, info
        assert info["status"] == "Active" and info["deliveryMode"] == {"transportType": "WebSocket"}
        assert info["eventFilters"] == [
            "/restapi/v1.0/account/37439510/extension/%s/message-store" % e0,
            "/restapi/v1.0/account/37439510/extension/%s/message-store/instant?type=SMS" % e1]
        assert info["expiresIn"] > 0 and info["id"]
        for bad in ([], ["/restapi/v1.0/account/~/extension/~/presence"],
                    [FILTER % "999"], [FILTER % "~" + "?messageType=SMS"],
                    [INSTANT.replace("SMS", "Fax") % "~"], [FILTER % "~", 7]):
            m, b = await ws.subscribe(conn, bad)
            assert m["status"] == 400 and b["errorCode"] == "CMN-101", (bad, b)
        m, b = await ws.subscribe(conn, [FILTER % "~"], mode="WebHook")
        assert m["status"] == 400
        # a refused request leaves the subscription as it was; a new one replaces it
        m2, info2 = await ws.subscribe(conn, [FILTER % e1])
        assert m2["status"] == 200 and info2["id"] != info["id"]
        added = emu.add(e0, "Fax")  # the first subscription watched e0: nothing comes now
        added1 = emu.add(e1, "Fax")
        notes = await notes_until(conn, lambda g: len(g) >= 1)
        assert notes[0][1]["subscriptionId"] == info2["id"]
        assert new_ids(notes) == {added1["id"]} and added["id"] not in new_ids(notes)
        await conn.close()
    run(go())
    st = emu.control("GET", "/control/ws")
    assert all(s["subscription"] is None or len(s["subscription"]["eventFilters"]) == 1
               for s in st["sessions"])


def test_events_for_control_and_rest_changes(emu, ws):
    e0 = emu.ext_id(0)

    async def go():
        conn, _, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~", INSTANT % "~"])
        sms = emu.add(e0, "SMS", subject="hello push")
        notes = await notes_until(conn, lambda g: len(g) >= 2)
        kinds = {n[1]["event"].endswith("instant?type=SMS"): n for n in notes}
        store = kinds[False][1]
        assert store["event"] == FILTER.replace("~", "37439510", 1) % e0
        assert store["body"]["changes"] == [{"type": "SMS", "newCount": 1, "updatedCount": 0,
                                             "newMessageIds": [sms["id"]]}]
        assert store["ownerId"] == emu.info["owner_extension_id"]
        inst = kinds[True][1]["body"]
        assert inst["id"] == str(sms["id"]) and inst["subject"] == "hello push"
        assert inst["direction"] == "Inbound" and isinstance(inst["conversationId"], str)
        # a change by a REST client is an update
        r = emu.api("PUT", emu.store("~", "/%s" % sms["id"]), ws.token, {"readStatus": "Read"})
        assert r.status == 200, r
        notes = await notes_until(conn, lambda g: len(g) >= 1)
        ch = notes[0][1]["body"]["changes"]
        assert ch == [{"type": "SMS", "newCount": 0, "updatedCount": 1, "newMessageIds": []}]
        # a burst is coalesced into one event; outbound SMS has no instant event
        a = emu.add(e0, "Fax")
        b = emu.add(e0, "SMS", direction="Outbound")
        notes = await notes_until(conn, lambda g: new_ids(g) >= {a["id"], b["id"]})
        assert len(notes) == 1
        assert sorted(c["type"] for c in notes[0][1]["body"]["changes"]) == ["Fax", "SMS"]
        seqs = []
        emu.add(e0, "Pager")
        notes = await notes_until(conn, lambda g: len(g) >= 1)
        seqs = [n[0]["wsc"]["sequence"] for n in notes]
        assert seqs[0] > 1
        await conn.close()
    run(go())


def test_type_and_direction_filters(emu, ws):
    e0 = emu.ext_id(0)

    async def go():
        conn, _, _ = await ws.connect()
        m, _ = await ws.subscribe(conn, [FILTER % "~" + "?type=Fax&direction=Inbound"])
        assert m["status"] == 200
        emu.add(e0, "SMS")
        emu.add(e0, "Fax", direction="Outbound")
        fax = emu.add(e0, "Fax")
        notes = await notes_until(conn, lambda g: fax["id"] in new_ids(g))
        assert new_ids(notes) == {fax["id"]}
        await conn.close()
    run(go())


def test_event_comes_before_isync_shows_the_change(emu, ws):
    e0 = emu.ext_id(0)
    emu.control("POST", "/control/config", {"ws_sync_lag_ms": 1500})
    sync = emu.api("GET", emu.store("~", "").replace("message-store", "message-sync") +
                   "?syncType=FSync&recordCount=1", ws.token).json()["syncInfo"]["syncToken"]

    def isync_ids(tok):
        r = emu.api("GET", "/restapi/v1.0/account/~/extension/~/message-sync?syncType=ISync"
                    "&syncToken=" + urllib.parse.quote(tok), ws.token)
        assert r.status == 200, r
        return {x["id"] for x in r.json()["records"]}, r.json()["syncInfo"]["syncToken"]

    async def go():
        conn, _, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        msg = emu.add(e0, "Fax")
        await notes_until(conn, lambda g: msg["id"] in new_ids(g))
        seen, tok2 = isync_ids(sync)
        assert msg["id"] not in seen  # the event came first
        end = time.monotonic() + DEADLINE
        while msg["id"] not in seen:
            assert time.monotonic() < end
            await asyncio.sleep(0.2)
            seen, _ = isync_ids(tok2)  # the token taken before it showed still brings it
        await conn.close()
    run(go())


# ------------------------------------------------------------------ recovery
def test_recovery_replays_what_was_missed(emu, ws):
    e0 = emu.ext_id(0)

    async def go():
        conn, meta, _ = await ws.connect()
        _, info = await ws.subscribe(conn, [FILTER % "~"])
        wsc = meta["wsc"]["token"]
        emu.control("POST", "/control/ws/drop", {"recoverable": True})
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(conn.recv(), DEADLINE)
        missed = emu.add(e0, "Fax")
        end = time.monotonic() + DEADLINE
        while not any(s["buffered"] for s in emu.control("GET", "/control/ws")["sessions"]):
            assert time.monotonic() < end
            await asyncio.sleep(0.05)
        conn2, meta2, body2 = await ws.connect(wsc=wsc)
        assert body2["recoveryState"] == "Successful" and "recoveryErrorCode" not in body2
        assert meta2["wsc"]["sequence"] > meta["wsc"]["sequence"]
        notes = await notes_until(conn2, lambda g: missed["id"] in new_ids(g))
        assert notes[0][1]["subscriptionId"] == info["id"]
        assert notes[0][0]["wsc"]["sequence"] == meta2["wsc"]["sequence"] + 1
        later = emu.add(e0, "Fax")
        await notes_until(conn2, lambda g: later["id"] in new_ids(g))
        await conn2.close()
    run(go())
    assert emu.control("GET", "/control/counts")["ws"]["replayed"] == 1


def test_recovery_buffer_keeps_the_most_recent(emu, ws):
    e0 = emu.ext_id(0)
    emu.control("POST", "/control/config", {"ws_recovery_buffer": 2, "ws_coalesce_ms": 20})

    async def go():
        conn, meta, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        emu.control("POST", "/control/ws/drop", {"recoverable": True})
        ids = []
        for k in range(4):
            ids.append(emu.add(e0, "Pager")["id"])
            end = time.monotonic() + DEADLINE
            while emu.control("GET", "/control/counts")["ws"].get("buffered", 0) < k + 1:
                assert time.monotonic() < end
                await asyncio.sleep(0.02)
        conn2, _, body = await ws.connect(wsc=meta["wsc"]["token"])
        assert body["recoveryState"] == "Successful"
        notes = await notes_until(conn2, lambda g: len(g) >= 2)
        assert new_ids(notes) == set(ids[2:])
        await conn2.close()
    run(go())


def test_recovery_failures(emu, ws):
    async def go():
        # no subscription in the session: WSG-1005
        conn, meta, _ = await ws.connect()
        await conn.close()
        _, _, body = await ws.connect(wsc=meta["wsc"]["token"])
        assert body["recoveryState"] == "Failed" and body["recoveryErrorCode"] == "WSG-1005"
        # another OAuth session: WSG-1003
        conn, meta, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        await conn.close()
        other = ws.emu.login()["access_token"]
        _, _, body = await ws.connect(wsc=meta["wsc"]["token"], token=other)
        assert body["recoveryState"] == "Failed" and body["recoveryErrorCode"] == "WSG-1003"
        # dropped without keeping the session, a forged wsc, an expired session
        conn, meta, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        ws.emu.control("POST", "/control/ws/drop", {"recoverable": False})
        c2, meta2, body = await ws.connect(wsc=meta["wsc"]["token"])
        assert body["recoveryState"] == "Failed" and "recoveryErrorCode" not in body
        _, _, body = await ws.connect(wsc=base64.urlsafe_b64encode(b"x|" + bytes(12)).decode())
        assert body["recoveryState"] == "Failed"
        ws.emu.control("POST", "/control/config", {"ws_recovery_timeout": 0.3})
        assert (await ws.subscribe(c2, [FILTER % "~"]))[0]["status"] == 200
        await c2.close()
        end = time.monotonic() + DEADLINE
        while any(s["subscription"] for s in ws.emu.control("GET", "/control/ws")["sessions"]):
            assert time.monotonic() < end
            await asyncio.sleep(0.1)
        _, _, body = await ws.connect(wsc=meta2["wsc"]["token"])  # too late
        assert body["recoveryState"] == "Failed"
    run(go())


# ------------------------------------------------------------------ keeping alive
def test_idle_timeout_and_heartbeats(emu, ws):
    emu.control("POST", "/control/config", {"ws_idle_timeout": 1})

    async def go():
        conn, _, body = await ws.connect()
        assert body["idleTimeout"] == 1
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:  # heartbeats keep it open past the timeout
            await conn.send(json.dumps([{"type": "Heartbeat", "messageId": str(uuid.uuid4())}]))
            await next_of(conn, "Heartbeat")
            await asyncio.sleep(0.3)
        meta, err = await next_of(conn, "Error")
        assert err == {"errorCode": "WSG-902", "message": "Idle timeout expired"}
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(conn.recv(), DEADLINE)
    run(go())


def test_absolute_timeout_keeps_the_session_recoverable(emu, ws):
    emu.control("POST", "/control/config", {"ws_absolute_timeout": 1})

    async def go():
        conn, meta, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        _, err = await next_of(conn, "Error")
        assert err["errorCode"] == "WSG-903"
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(conn.recv(), DEADLINE)
        _, _, body = await ws.connect(wsc=meta["wsc"]["token"])
        assert body["recoveryState"] == "Successful"
    run(go())


def test_pings_answered_keep_it_open_unanswered_drop_it(emu, ws):
    emu.control("POST", "/control/config", {"ws_ping_interval": 0.2, "ws_ping_timeout": 0.5})

    async def go():
        conn, _, _ = await ws.connect()  # the library answers pings
        end = time.monotonic() + DEADLINE
        while emu.control("GET", "/control/counts")["ws"].get("pong", 0) < 3:
            assert time.monotonic() < end
            await asyncio.sleep(0.1)
        assert conn.open
        await conn.close()
    run(go())
    # a client that never reads (so never answers a ping) is dropped
    u = urllib.parse.urlsplit(ws.url())
    s = socket.create_connection((u.hostname, u.port), timeout=DEADLINE)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (u.path, u.query, u.netloc, key)).encode())
    end = time.monotonic() + DEADLINE
    while emu.control("GET", "/control/counts")["ws"].get("ping_timeout", 0) < 1:
        assert time.monotonic() < end
        time.sleep(0.1)
    s.settimeout(DEADLINE)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 101")


def test_listener_refuses_then_accepts(emu, ws):
    async def go():
        conn, meta, _ = await ws.connect()
        await ws.subscribe(conn, [FILTER % "~"])
        st = emu.control("POST", "/control/ws/listener", {"accept": False})
        assert st["accepting"] is False
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(conn.recv(), DEADLINE)
        with pytest.raises(OSError):
            await websockets.connect(ws.url())
        emu.control("POST", "/control/ws/listener", {"accept": True})
        _, _, body = await ws.connect(wsc=meta["wsc"]["token"])
        assert body["recoveryState"] == "Successful"
    run(go())


def test_control_state_and_bad_control_calls(emu, ws):
    st = emu.control("GET", "/control/ws")
    assert st["accepting"] is True and st["url"] == emu.info["ws_url"]
    assert {"connections", "sessions", "events_sent", "wstoken_issued"} <= set(st)
    for path, body in (("/control/ws/drop", {"recoverable": "yes"}),
                       ("/control/ws/listener", {}),
                       ("/control/config", {"ws_idle_timeout": -1}),
                       ("/control/config", {"ws_nonsense": 1}),
                       ("/control/config", {"ws_advertised_uri": 5})):
        r = emu.control("POST", path, body, raw=True)
        assert r.status == 400, (path, r)
    cfg = emu.control("GET", "/control/config")
    assert cfg["ws_idle_timeout"] == 1800 and cfg["ws_permission"] is True
    emu.control("POST", "/control/config", {"ws_advertised_uri": "wss://elsewhere.example/ws"})
    try:
        assert ws.wstoken().json()["uri"] == "wss://elsewhere.example/ws"
    finally:
        emu.control("POST", "/control/config", {"ws_advertised_uri": None})
