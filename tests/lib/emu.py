"""Start, stop and steer the rcemu emulator from tests and scripts.

This is the one place tests talk to the emulator's process and control API
(see tests/emulator/README.md for the contract).  Standard library only.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RCEMU = os.path.join(ROOT, "tests", "emulator", "rcemu.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def _tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def start_rcemu(args, ready_path, log_path, timeout=60):
    """Start rcemu.py with args (the ready file is added) and wait for its
    ready file, never for a fixed time.  Returns (process, ready-file facts);
    raises RuntimeError (with the log's end) if it exits or is not ready."""
    if os.path.exists(ready_path):
        os.unlink(ready_path)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([PYTHON, RCEMU, "--ready-file", ready_path] + list(args),
                                stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(ready_path):
            with open(ready_path) as f:
                try:
                    return proc, json.load(f)
                except ValueError:
                    pass  # written atomically, but be safe
        if proc.poll() is not None:
            raise RuntimeError("emulator exited with %s; log: %s" %
                               (proc.returncode, _tail(log_path)))
        time.sleep(0.02)
    stop_process(proc)
    raise RuntimeError("emulator not ready after %ss" % timeout)


def stop_process(proc):
    """SIGTERM a process group started by start_rcemu, SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)


class Emulator:
    """A running emulator: its ready-file facts and its control API."""

    def __init__(self, workdir=None, messages=60, extensions=2, seed=1, extra_args=(),
                 log_path=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="rcemu-")
        self.ready_path = os.path.join(self.workdir, "rcemu-ready.json")
        self.log_path = log_path or os.path.join(self.workdir, "rcemu.log")
        # Fixed credentials and time anchor: a restarted emulator (start()
        # after stop()) serves the same mailbox to the same client.
        now_ms = int(time.time() * 1000)
        self.args = ["--seed", str(seed),
                     "--messages", str(messages), "--extensions", str(extensions),
                     "--credentials", os.path.join(self.workdir, "rcemu-credentials.json"),
                     "--anchor-ms", str(now_ms - now_ms % 3600000)]
        self.args += list(extra_args)
        self.proc = None
        self.info = None

    # -- process -----------------------------------------------------------
    def start(self, timeout=60, ports=None):
        """Start and wait for the ready file.  ports: optional dict of
        {"port": n, "media_port": n, "control_port": n} to reuse (restart)."""
        if os.path.exists(self.ready_path):
            os.unlink(self.ready_path)
        args = list(self.args)
        if ports:
            args += ["--port", str(ports["port"]), "--media-port", str(ports["media_port"]),
                     "--control-port", str(ports["control_port"])]
            if "ws_port" in ports:
                args += ["--ws-port", str(ports["ws_port"])]
        self.proc, self.info = start_rcemu(args, self.ready_path, self.log_path, timeout)
        return self

    def ports(self):
        def port(url):
            return int(url.rsplit(":", 1)[1].split("/")[0])
        return {"port": port(self.info["server_url"]),
                "media_port": port(self.info["media_url"]),
                "control_port": port(self.info["control_url"]),
                "ws_port": port(self.info["ws_url"])}

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def tail_log(self, n=4000):
        return _tail(self.log_path, n)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- credentials -------------------------------------------------------
    def write_credentials(self, path, server_url=None):
        """Write a 0600 KEY=VALUE credentials file for rcfs."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("RINGCENTRAL_SERVER_URL=%s\n" % (server_url or self.info["server_url"]))
            f.write("RINGCENTRAL_CLIENT_ID=%s\n" % self.info["client_id"])
            f.write("RINGCENTRAL_CLIENT_SECRET=%s\n" % self.info["client_secret"])
            f.write("RINGCENTRAL_JWT_TOKEN=%s\n" % self.info["jwt"])
        os.chmod(path, 0o600)
        return path

    def secrets(self):
        """Every secret string a log must never contain."""
        return [self.info["client_secret"], self.info["jwt"]]

    # -- control API -------------------------------------------------------
    def _call(self, method, path, body=None, raw=False):
        url = self.info["control_url"] + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            payload = resp.read()
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def counts(self):
        return self._call("GET", "/control/counts")

    def reset_counts(self):
        return self._call("POST", "/control/counts/reset", {})

    BACKGROUND_ROUTES = ("list", "sync_fsync", "sync_isync", "token", "wstoken")

    def foreground_routes(self):
        """Counted routes other than what rcfs's background work sends
        (listing, sync, token refresh): what a user's action caused."""
        return {r: n for r, n in self.counts()["routes"].items()
                if r not in self.BACKGROUND_ROUTES}

    def route_count(self, route):
        return self.counts()["routes"].get(route, 0)

    def set_faults(self, **faults):
        return self._call("POST", "/control/faults", faults)

    def clear_faults(self):
        return self._call("POST", "/control/faults", {})

    def add_message(self, extension, type_, **fields):
        body = {"extension": str(extension), "type": type_}
        body.update(fields)
        return self._call("POST", "/control/messages", body)

    def change_message(self, msg_id, **fields):
        return self._call("POST", "/control/messages/%s" % msg_id, fields)

    def truth(self, msg_id):
        """Server truth of a message, or None if it never existed."""
        try:
            return self._call("GET", "/control/messages/%s" % msg_id)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def content(self, msg_id, att_id):
        return self._call("GET", "/control/messages/%s/content/%s" % (msg_id, att_id), raw=True)

    def replace_content(self, msg_id, att_id, data):
        """Serve data as that attachment's bytes from now on (a hostile document)."""
        url = self.info["control_url"] + "/control/messages/%s/content/%s" % (msg_id, att_id)
        req = urllib.request.Request(url, data=bytes(data), method="PUT")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def messages(self, ext):
        return self._call("GET", "/control/extensions/%s/messages" % ext)

    def issued_tokens(self):
        """Every access and refresh token the emulator has issued."""
        return self._call("GET", "/control/tokens")["issued"]

    def expire_tokens(self):
        return self._call("POST", "/control/tokens/expire", {})

    def invalidate_sync(self):
        return self._call("POST", "/control/sync/invalidate", {})

    def config(self, **cfg):
        return self._call("POST", "/control/config", cfg)

    def sent(self):
        """What the send endpoints accepted so far (README "Sending")."""
        return self._call("GET", "/control/sent")

    def send_config(self, **cfg):
        return self._call("POST", "/control/send-config", cfg)

    def extensions(self):
        return self.info["extensions"]

    # -- WebSocket (push notifications) -------------------------------------
    def ws_state(self):
        """Connections, sessions, subscriptions, events sent (GET /control/ws)."""
        return self._call("GET", "/control/ws")

    def ws_drop(self, recoverable=True):
        """Drop every WebSocket now; recoverable=False forgets their sessions too."""
        return self._call("POST", "/control/ws/drop", {"recoverable": recoverable})

    def ws_listener(self, accept):
        """accept=False: the WebSocket port refuses connections (and drops the open ones)."""
        return self._call("POST", "/control/ws/listener", {"accept": accept})
