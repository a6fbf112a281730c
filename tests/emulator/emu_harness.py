"""Test-side harness for the emulator's own tests (imported by conftest and tests).

Owns Emu, which starts rcemu.py as a subprocess with a ready file in a given
directory (waiting for the file, never for a fixed time) and always kills it,
plus small HTTP helpers for the platform, media and control listeners.
A uniquely named module, so `pytest tests/` with other suites' conftest.py
files cannot shadow it.  Standard library only.
"""

import base64
import http.client
import json
import os
import sys
import time
import urllib.parse


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from tests.lib.emu import _tail, start_rcemu, stop_process  # noqa: E402  (one way to run rcemu)
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MULTIPART_JSON = "application/vnd.ringcentral.multipart+json"


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Resp %d %r>" % (self.status, self.body[:200])


def http_request(url, method="GET", body=None, headers=None, timeout=30):
    """One request on a fresh connection; returns Resp (errors are not raised)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class Emu:
    """A running emulator (see README).  Use as a context manager or call stop()."""

    def __init__(self, tmp_path, *args):
        self.dir = str(tmp_path)
        os.makedirs(self.dir, exist_ok=True)
        self.ready = os.path.join(self.dir, "ready.json")
        self.log = os.path.join(self.dir, "rcemu.log")
        self.args = [str(a) for a in args]
        self.proc = None
        self.info = None
        self.started_in = None

    def start(self, timeout=30):
        t0 = time.monotonic()
        self.proc, self.info = start_rcemu(self.args, self.ready, self.log, timeout)
        self.started_in = time.monotonic() - t0
        return self

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def tail(self):
        return _tail(self.log, 3000)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- URLs and credentials ---------------------------------------------
    @property
    def server(self):
        return self.info["server_url"]

    @property
    def media(self):
        return self.info["media_url"]

    def ext_id(self, k=0):
        return self.info["extensions"][k]["id"]

    def store(self, ext="~", suffix=""):
        return "%s/restapi/v1.0/account/~/extension/%s/message-store%s" % (self.server, ext, suffix)

    def basic(self, client_id=None, secret=None):
        raw = "%s:%s" % (client_id or self.info["client_id"], secret or self.info["client_secret"])
        return "Basic " + base64.b64encode(raw.encode()).decode()

    def token_request(self, form, authorization=None):
        return http_request(self.server + "/restapi/oauth/token", "POST",
                            urllib.parse.urlencode(form).encode(),
                            {"Authorization": authorization or self.basic(),
                             "Content-Type": "application/x-www-form-urlencoded"})

    def login(self):
        r = self.token_request({"grant_type": JWT_GRANT, "assertion": self.info["jwt"]})
        assert r.status == 200, r
        return r.json()

    # -- API ----------------------------------------------------------------
    def api(self, method, url, token, body=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if not url.startswith("http"):
            url = self.server + url
        return http_request(url, method, body, h)

    # -- control --------------------------------------------------------------
    def control(self, method, path, body=None, raw=False):
        r = http_request(self.info["control_url"] + path, method,
                         body if body is not None else (b"{}" if method == "POST" else None),
                         {"Content-Type": "application/json"} if method == "POST" else {})
        if raw:
            return r
        assert r.status == 200, r
        return r.json()

    def truth(self, mid):
        return self.control("GET", "/control/messages/%s" % mid)

    def add(self, ext, typ, **fields):
        body = {"extension": ext, "type": typ}
        body.update(fields)
        return self.control("POST", "/control/messages", body)
