"""Push notifications (api/api_ws.c) against the emulator, driven through tests/tools/rcws.

Run: /usr/bin/python3 -m pytest -q tests/api/test_api_ws.py (after building; RCWS=path
overrides build/api/rcws, and with RCAPI set, rcws is taken from beside it, so
scripts/test runs the sanitizer build).  Each test asserts on what the
emulator saw (its counts and WebSocket state) as well as on what rcws printed.
Waits are for conditions with generous deadlines; the only bounds on counts are
far from what a correct client does and far below what a broken one would.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.lib.emu import Emulator  # noqa: E402

DEADLINE = 30.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
WS_DEFAULTS = {"ws_permission": True, "ws_token_lifetime": 30, "ws_idle_timeout": 1800,
               "ws_absolute_timeout": 86400, "ws_recovery_timeout": 180,
               "ws_recovery_buffer": 100, "ws_ping_interval": 30, "ws_ping_timeout": 10,
               "ws_sync_lag_ms": 400, "ws_coalesce_ms": 100, "ws_advertised_uri": None}


def find_rcws():
    path = os.environ.get("RCWS")
    if not path and os.environ.get("RCAPI"):
        path = os.path.join(os.path.dirname(os.environ["RCAPI"]), "rcws")
    path = path or os.path.join(ROOT, "build", "api", "rcws")
    if not os.access(path, os.X_OK):
        pytest.fail("rcws not built at %s: meson setup build && ninja -C build (or set RCWS)"
                    % path)
    return path


class Rcws:
    """A running rcws: its JSON lines arrive on a queue; stderr is kept for checks."""

    def __init__(self, emu, *args, exts=None):
        exts = exts or [emu.extensions()[0]["id"]]
        self.err_path = os.path.join(emu.workdir, "rcws-%d.err" % time.monotonic_ns())
        self.err = open(self.err_path, "w")
        self.p = subprocess.Popen([find_rcws(), "-c", emu.cred, "-d"] + [str(a) for a in args]
                                  + [str(e) for e in exts], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("{"):
                self.q.put(json.loads(line))
        self.q.put(None)

    def next(self, pred=lambda o: True, timeout=DEADLINE):
        """The next line matching pred (lines skipped are kept in self.lines)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching line; got %r; log: %s"
                                     % (self.lines[-10:], self.log()[-3000:]))
            try:
                o = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if o is None:
                raise AssertionError("rcws ended; got %r; log: %s"
                                     % (self.lines[-10:], self.log()[-3000:]))
            self.lines.append(o)
            if pred(o):
                return o

    def state(self, name, timeout=DEADLINE):
        return self.next(lambda o: o["op"] == "state" and o["state"] == name, timeout)

    def events_until(self, ids, timeout=DEADLINE):
        """Events until every id in ids was announced as new; returns them."""
        want, got = {str(i) for i in ids}, []
        while want - {i for e in got for i in e["new"]}:
            got.append(self.next(lambda o: o["op"] == "event", timeout))
        return got

    def stop(self):
        """Close stdin (rcws stops); returns the remaining lines.  Fails on sanitizer reports."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait(60)
        rest = []
        while True:
            o = self.q.get(timeout=10)
            if o is None:
                break
            rest.append(o)
        self.err.close()
        log = self.log()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log[-4000:]
        assert self.p.returncode == 0, log[-3000:]
        self.lines += rest
        return rest

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    emu = Emulator(workdir=str(tmp_path_factory.mktemp("emuws")), messages=40, extensions=2)
    emu.start()
    emu.cred = emu.write_credentials(os.path.join(emu.workdir, "cred"))
    yield emu
    emu.stop()


@pytest.fixture
def emu(env):
    env.config(rate_limits=None, **WS_DEFAULTS)
    env.ws_listener(True)
    env.ws_drop(recoverable=False)
    env.reset_counts()
    return env


def ext(emu, k=0):
    return emu.extensions()[k]["id"]


def wait_for(cond, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, what
        time.sleep(0.05)


def ws_counts(emu):
    return emu.counts().get("ws", {})


def test_events_for_new_and_changed_messages(emu):
    r = Rcws(emu, exts=[ext(emu, 0), ext(emu, 1)])
    r.state("SUBSCRIBED")
    sub = [s["subscription"] for s in emu.ws_state()["sessions"] if s["subscription"]]
    assert len(sub) == 1 and len(sub[0]["eventFilters"]) == 4
    fax = emu.add_message(ext(emu, 1), "Fax")
    got = r.events_until([fax["id"]])
    assert got[-1]["ext"] == ext(emu, 1) and not got[-1]["instant"]
    sms = emu.add_message(ext(emu, 0), "SMS")
    got = r.events_until([sms["id"]])
    inst = r.next(lambda o: o["op"] == "event" and o["instant"]) if not any(
        e["instant"] for e in got) else [e for e in got if e["instant"]][0]
    assert inst["new"] == [str(sms["id"])] and inst["ext"] == ext(emu, 0)
    emu.change_message(fax["id"], readStatus="Read")
    upd = r.next(lambda o: o["op"] == "event" and o["updated"] >= 1)
    assert upd["ext"] == ext(emu, 1) and upd["new"] == []
    r.stop()
    assert r.lines[-1]["op"] == "stats" and r.lines[-1]["events"] >= 4
    assert emu.route_count("wstoken") == 1


def test_drop_is_recovered_and_nothing_is_lost(emu):
    r = Rcws(emu, "-m", "1500", "-M", "3000")
    r.state("SUBSCRIBED")
    emu.ws_drop(recoverable=True)
    r.state("DOWN")
    missed = emu.add_message(ext(emu), "Pager")  # while no connection is up
    wait_for(lambda: ws_counts(emu).get("buffered", 0) >= 1, "the event was not buffered")
    r.state("RECOVERED")
    r.events_until([missed["id"]])
    after = emu.add_message(ext(emu), "Fax")
    r.events_until([after["id"]])
    r.stop()
    c = ws_counts(emu)
    assert c["recovery_successful"] == 1 and c["replayed"] == 1 and c["subscribed"] == 1
    assert emu.route_count("wstoken") == 2  # a fresh WS token for each connection
    assert not [l for l in r.lines if l["op"] == "state" and l["state"] == "SUBSCRIBED"][1:]


def test_drop_without_session_subscribes_again(emu):
    r = Rcws(emu, "-m", "200")
    r.state("SUBSCRIBED")
    emu.ws_drop(recoverable=False)
    r.state("DOWN")
    r.state("SUBSCRIBED")  # the caller must catch up
    c = ws_counts(emu)
    assert c["recovery_failed"] == 1 and c["subscribed"] == 2
    m = emu.add_message(ext(emu), "Fax")
    r.events_until([m["id"]])
    r.stop()


def test_no_permission_is_unavailable_and_retried_rarely(emu):
    emu.config(ws_permission=False)
    r = Rcws(emu, "-u", "2", "-m", "100")
    r.state("UNAVAILABLE")
    assert emu.route_count("wstoken") == 1
    emu.config(ws_permission=True)
    r.state("SUBSCRIBED")
    assert emu.route_count("wstoken") == 2
    r.stop()
    assert "no WebSocket token (HTTP 403 CMN-401)" in r.log()


def test_refused_subscription_is_unavailable(emu):
    r = Rcws(emu, "-u", "-1", exts=["1234567"])  # no such extension: 400 CMN-101
    r.state("UNAVAILABLE")
    assert ws_counts(emu).get("subscribed", 0) == 0
    r.stop()
    assert "subscription refused (HTTP 400 CMN-101)" in r.log()


def test_backoff_while_the_listener_refuses(emu):
    r = Rcws(emu, "-m", "300", "-M", "2000")
    r.state("SUBSCRIBED")
    emu.reset_counts()
    emu.ws_listener(False)
    r.state("DOWN")
    t0 = time.monotonic()
    wait_for(lambda: emu.route_count("wstoken") >= 4, "the client stopped trying")
    elapsed = time.monotonic() - t0
    # 4 attempts with caps 300, 600, 1200, 2000 ms: without backoff there would be hundreds
    time.sleep(2.0)
    n = emu.route_count("wstoken")
    assert n <= 4 + int((time.monotonic() - t0) / 0.3) and n < 40, (n, elapsed)
    emu.ws_listener(True)
    r.state("RECOVERED")
    r.stop()


def test_heartbeats_keep_an_idle_connection(emu):
    emu.config(ws_idle_timeout=1)
    r = Rcws(emu)
    r.state("SUBSCRIBED")
    wait_for(lambda: ws_counts(emu).get("heartbeat_received", 0) >= 8, "no heartbeats")
    c = ws_counts(emu)
    assert c.get("WSG-902", 0) == 0 and c["connect"] == 1
    r.stop()
    assert r.lines[-1]["heartbeats"] >= 8


def test_absolute_timeout_is_recovered(emu):
    emu.config(ws_absolute_timeout=1)
    r = Rcws(emu, "-m", "100")
    r.state("SUBSCRIBED")
    r.state("RECOVERED")
    r.state("RECOVERED")
    m = emu.add_message(ext(emu), "Fax")
    r.events_until([m["id"]])
    r.stop()
    assert ws_counts(emu)["WSG-903"] >= 2
    assert "server error WSG-903" in r.log()


def test_server_pings_are_answered(emu):
    emu.config(ws_ping_interval=0.2, ws_ping_timeout=1)
    r = Rcws(emu)
    r.state("SUBSCRIBED")
    wait_for(lambda: ws_counts(emu).get("pong", 0) >= 5, "no pongs")
    assert ws_counts(emu).get("ping_timeout", 0) == 0 and ws_counts(emu)["connect"] == 1
    r.stop()


def test_stop_is_prompt_while_backing_off_and_waiting_for_a_token(emu):
    r = Rcws(emu, "-m", "30000", "-M", "60000")
    r.state("SUBSCRIBED")
    emu.ws_listener(False)
    r.state("DOWN")  # the next attempt is planned (up to 30 s away)
    rest = r.stop()
    assert [l for l in rest if l["op"] == "stopped"][0]["stop_ms"] < 5000  # a broken stop takes 30-60 s
    # waiting in the pacer for an Auth slot (limit 1 a minute) before a token request
    emu.ws_listener(True)
    r = Rcws(emu, "-m", "100", "-M", "200")
    r.state("SUBSCRIBED")
    emu.config(rate_limits={"Auth": 1}, rate_window=60)
    emu.reset_counts()
    emu.ws_listener(False)
    r.state("DOWN")
    wait_for(lambda: emu.route_count("wstoken") >= 1, "no token request")
    time.sleep(1.0)  # the next attempt now waits for a slot (about a minute away)
    assert emu.route_count("wstoken") == 1
    rest = r.stop()
    assert [l for l in rest if l["op"] == "stopped"][0]["stop_ms"] < 5000  # a broken stop takes 30-60 s


def test_no_secret_reaches_the_log(emu):
    r = Rcws(emu, "-m", "100")
    r.state("SUBSCRIBED")
    emu.ws_drop(recoverable=True)
    r.state("RECOVERED")
    r.stop()
    log = r.log() + json.dumps(r.lines)
    issued = emu.issued_tokens()
    assert len(issued) >= 4
    for secret in issued + emu.secrets():
        assert secret not in log
    assert "access_token=" not in log and "wsc=" not in log


def test_only_wss_or_loopback_ws_is_used(emu):
    port = emu.info["ws_url"].split(":")[2].split("/")[0]
    try:
        # ws:// to another host: refused before any connection
        emu.config(ws_advertised_uri="ws://192.0.2.1:%s/ws" % port)
        r = Rcws(emu, "-m", "100", "-M", "300")
        r.state("DOWN")
        wait_for(lambda: emu.route_count("wstoken") >= 2, "no second attempt")
        r.stop()
        assert "the WebSocket token answer is unusable" in r.log()
        # wss:// to the plain listener: TLS is used (and verified), so it cannot connect
        emu.reset_counts()
        emu.config(ws_advertised_uri="wss://127.0.0.1:%s/ws" % port)
        r = Rcws(emu, "-m", "100", "-M", "300")
        r.state("DOWN")
        wait_for(lambda: emu.route_count("wstoken") >= 2, "no second attempt")
        r.stop()
        assert ws_counts(emu).get("connect", 0) == 0
        assert not [l for l in r.lines if l["op"] == "state" and l["state"] != "DOWN"]
    finally:
        emu.config(ws_advertised_uri=None)
