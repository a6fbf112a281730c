"""The REST client (api/) against the emulator, driven through tests/tools/rcapi.

Run: /usr/bin/python3 -m pytest -q tests/api   (after building rcapi, e.g.
`meson setup build && ninja -C build`; RCAPI=path overrides the search).
Each test asserts on what the server saw (the emulator's counts and truth),
not only on what the client printed.
"""

import base64
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.lib.emu import Emulator  # noqa: E402

DAY_MS = 86400 * 1000


def find_rcapi():
    """$RCAPI (scripts/test sets it), else build/api/rcapi: never a guess
    among build folders, which could test a stale binary."""
    path = os.environ.get("RCAPI") or os.path.join(ROOT, "build", "api", "rcapi")
    if not os.access(path, os.X_OK):
        pytest.fail("rcapi not built at %s: meson setup build && ninja -C build (or set RCAPI)"
                    % path)
    return path


RCAPI = None


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Run:
    """One rcapi run: exit code, JSON lines, raw output.  A sanitizer report fails the test."""

    def __init__(self, proc_rc, out, err, elapsed):
        self.rc = proc_rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        for mark in SANITIZER_MARKS:
            assert mark not in err, err[-4000:]
        text = out + "\n" + err
        self.lines = [json.loads(l) for l in text.splitlines() if l.startswith("{")]

    def ops(self, op):
        return [l for l in self.lines if l.get("op") == op]

    def one(self, op):
        found = self.ops(op)
        assert len(found) == 1, (op, self.lines, self.err[-2000:])
        return found[0]


def rcapi(cred, *args, opts=(), timeout=120):
    global RCAPI
    RCAPI = RCAPI or find_rcapi()
    t0 = time.monotonic()
    p = subprocess.run([RCAPI, "-c", cred] + list(opts) + [str(a) for a in args],
                       capture_output=True, timeout=timeout)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def start_emu(tmp, **kw):
    emu = Emulator(workdir=str(tmp), **kw).start()
    cred = emu.write_credentials(os.path.join(str(tmp), "cred"))
    return emu, cred


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    emu, cred = start_emu(tmp_path_factory.mktemp("emu"), messages=80, extensions=2)
    yield emu, cred
    emu.stop()


@pytest.fixture
def emu(env):
    e, cred = env
    e.clear_faults()
    e.config(extension_list_forbidden=False, owner_admin=True, rate_limits=None,
             token_lifetime=3600)
    e.reset_counts()
    e.cred = cred
    return e


def ext_id(emu, n=0):
    return emu.extensions()[n]["id"]


def alive(emu, ext, type_=None, read=None):
    return [m for m in emu.messages(ext) if m["availability"] == "Alive"
            and (type_ is None or m["type"] == type_)
            and (read is None or m["readStatus"] == read)]


def listing(emu, ext, type_):
    r = rcapi(emu.cred, "list", ext, type_)
    assert r.one("list")["rc"] == 0, r.err[-2000:]
    return r.ops("record")


def attachments(emu, ext, types=("Fax", "VoiceMail", "SMS")):
    out = []
    for t in types:
        for rec in listing(emu, ext, t):
            if rec["availability"] == "Alive":
                for a in rec["attachments"]:
                    out.append((rec["id"], a))
    return out


# --------------------------------------------------------------------- login

def test_login_resolves_account(emu):
    r = rcapi(emu.cred, "login", "stats")
    assert r.rc == 0
    assert r.one("login")["account_id"] == emu.info["account_id"]
    c = emu.counts()
    assert c["routes"]["token"] == 1
    assert c["routes"]["extension_get"] == 1


@pytest.mark.parametrize("field", ["RINGCENTRAL_CLIENT_SECRET", "RINGCENTRAL_JWT_TOKEN"])
def test_bad_credentials_refused_clearly(emu, tmp_path, field):
    bad = "wrong-" + field.lower()
    path = str(tmp_path / "badcred")
    emu.write_credentials(path)
    text = open(path).read().splitlines()
    text = [l if not l.startswith(field + "=") else field + "=" + bad for l in text]
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, ("\n".join(text) + "\n").encode())
    os.close(fd)
    r = rcapi(path, "login", opts=["-d"])
    res = r.one("login")
    assert r.rc == 1 and res["errno"] == "EACCES"
    assert "refused the credentials" in res["error"]
    for secret in emu.secrets() + [bad]:
        assert secret not in r.out and secret not in r.err


def test_credentials_file_must_be_private(emu, tmp_path):
    path = str(tmp_path / "opencred")
    emu.write_credentials(path)
    os.chmod(path, 0o644)
    r = rcapi(path, "login")
    assert r.rc == 1
    assert "chmod 600" in r.one("credentials")["error"]
    assert emu.counts()["total"] == 0


def test_plain_http_only_to_loopback(emu, tmp_path):
    path = emu.write_credentials(str(tmp_path / "c"), server_url="http://example.com")
    r = rcapi(path, "login")
    assert r.rc == 1 and "loopback" in r.one("new")["error"]


def test_unreachable_server(emu, tmp_path):
    path = emu.write_credentials(str(tmp_path / "c"), server_url="http://127.0.0.1:1")
    r = rcapi(path, "login", opts=["-t", "2"])
    res = r.one("login")
    assert res["errno"] == "EHOSTUNREACH" and "cannot reach" in res["error"]
    assert r.elapsed < 6


# ---------------------------------------------------------------- extensions

def test_extensions_list(emu):
    r = rcapi(emu.cred, "extensions")
    got = {(e["id"], e["number"], e["name"]) for e in r.ops("extension")}
    want = {(e["id"], e["extensionNumber"], e["name"]) for e in emu.extensions()}
    assert got == want
    assert [e["id"] for e in r.ops("extension") if e["own"]] == [emu.info["owner_extension_id"]]
    c = emu.counts()["routes"]
    assert c["extension_get"] == 1 and c["extension_list"] == 1  # admin? then the list


def test_extensions_after_login_reuse_its_answer(emu):
    r = rcapi(emu.cred, "login", "extensions")
    assert r.one("extensions")["count"] == len(emu.extensions())
    c = emu.counts()["routes"]
    assert c["extension_get"] == 1 and c["extension_list"] == 1


def test_extensions_non_admin_only_own(emu):
    """A non-admin's token is refused every other extension's messages: only
    its own is offered, so nothing above it walks into a 403."""
    emu.config(owner_admin=False)
    try:
        r = rcapi(emu.cred, "extensions")
        assert r.one("extensions")["rc"] == 0
        exts = r.ops("extension")
        assert [(e["id"], e["own"]) for e in exts] == [(emu.info["owner_extension_id"], True)]
        assert exts[0]["number"] == "101"
        c = emu.counts()["routes"]
        assert c["extension_get"] == 1 and c.get("extension_list", 0) == 0
    finally:
        emu.config(owner_admin=True)


def test_ext_reach_tells_403_per_extension(emu):
    own, other = ext_id(emu, 0), ext_id(emu, 1)
    emu.config(owner_admin=False)
    try:
        r = rcapi(emu.cred, "reach", other, "list", own, "Pager", "list", other, "Fax",
                  "reach", own, "reach", other, "reach", "12345")
    finally:
        emu.config(owner_admin=True)
    lists = r.ops("list")
    assert lists[0]["rc"] == 0 and lists[1]["errno"] == "EACCES"
    assert [x["reach"] for x in r.ops("reach")] == ["unknown", "ok", "forbidden", "unknown"]


def test_extensions_forbidden_falls_back_to_own(emu):
    emu.config(extension_list_forbidden=True)
    r = rcapi(emu.cred, "extensions")
    assert r.one("extensions")["rc"] == 0
    exts = r.ops("extension")
    assert [e["id"] for e in exts] == [emu.info["owner_extension_id"]]
    c = emu.counts()["routes"]
    assert c["extension_list"] == 1 and c["extension_get"] == 1


# ------------------------------------------------------------------- listing

@pytest.mark.parametrize("type_", ["Fax", "SMS", "VoiceMail", "Pager", "Text"])
def test_list_matches_server_and_ids_are_exact(emu, type_):
    ext = ext_id(emu)
    recs = listing(emu, ext, type_)
    want = {m["id"] for m in emu.messages(ext)
            if m["type"] == type_ and m["availability"] in ("Alive", "Deleted")}
    assert {r["id"] for r in recs} == want
    assert all(r["type"] == type_ for r in recs)
    assert all(int(r["id"]) > 2 ** 32 for r in recs)
    now = time.time() * 1000
    assert any(r["creation_ms"] < now - DAY_MS for r in recs), "messages older than 24 h"
    assert emu.counts()["routes"]["list"] == 1


def test_conversation_ids_above_2_53_exact(emu):
    ext = ext_id(emu)
    recs = [r for t in ("SMS", "Pager") for r in listing(emu, ext, t) if r["conversationId"]]
    big = [r for r in recs if int(r["conversationId"]) > 2 ** 53]
    assert big, "the emulator promises conversation ids above 2^53"
    for r in recs:
        rec = emu.truth(r["id"])["record"]
        want = rec.get("conversation", {}).get("id") or str(rec["conversationId"])
        assert r["conversationId"] == want


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    emu, cred = start_emu(tmp_path_factory.mktemp("big"), messages=3000, extensions=1)
    emu.cred = cred
    yield emu
    emu.stop()


def test_list_several_pages(big):
    ext = ext_id(big)
    want = {m["id"] for m in big.messages(ext)
            if m["type"] == "SMS" and m["availability"] in ("Alive", "Deleted")}
    assert len(want) > 1000, "needs more than one page of 1000"
    big.reset_counts()
    recs = listing(big, ext, "SMS")
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids))
    assert big.counts()["routes"]["list"] == -(-len(want) // 1000)
    assert set(ids) == want


# ---------------------------------------------------------------- batch get

def test_batch_get_with_missing_id(emu):
    ext = ext_id(emu)
    ids = [m["id"] for m in alive(emu, ext)][:3]
    r = rcapi(emu.cred, "get", ext, ",".join(ids + ["111"]))
    assert r.one("get")["rc"] == 0
    recs = {x["id"]: x for x in r.ops("record")}
    assert set(recs) == set(ids) | {"111"}
    assert recs["111"]["availability"] == "Purged" and recs["111"]["partial"]
    for i in ids:
        assert not recs[i]["partial"] and recs[i]["availability"] == "Alive"
    assert emu.counts()["routes"]["get_batch"] == 1


def test_batch_get_chunks_of_30(emu):
    ext = ext_id(emu)
    ids = [m["id"] for m in emu.messages(ext) if m["availability"] != "Purged"][:45]
    r = rcapi(emu.cred, "get", ext, ",".join(ids))
    assert r.one("get")["count"] == 45
    assert {x["id"] for x in r.ops("record")} == set(ids)
    assert emu.counts()["routes"]["get_batch"] == 2


def test_single_get(emu):
    ext = ext_id(emu)
    mid = alive(emu, ext)[0]["id"]
    r = rcapi(emu.cred, "get", ext, mid, "get", ext, "999999999999")
    recs = r.ops("record")
    assert [x["id"] for x in recs] == [mid, "999999999999"]
    assert recs[1]["availability"] == "Purged"


# ----------------------------------------------------- read status, restore

def test_read_status_round_trip(emu):
    ext = ext_id(emu)
    mid = alive(emu, ext, read="Unread")[0]["id"]
    r = rcapi(emu.cred, "read", ext, mid, "Read")
    assert r.one("read")["readStatus"] == "Read"
    assert emu.truth(mid)["record"]["readStatus"] == "Read"
    r = rcapi(emu.cred, "read", ext, mid, "Unread")
    assert r.one("read")["readStatus"] == "Unread"
    assert emu.truth(mid)["record"]["readStatus"] == "Unread"
    assert emu.counts()["routes"]["put"] == 2


def test_restore(emu):
    ext = ext_id(emu)
    mid = alive(emu, ext)[1]["id"]
    emu.change_message(mid, availability="Deleted")
    r = rcapi(emu.cred, "restore", ext, mid)
    assert r.one("restore")["availability"] == "Alive"
    assert emu.truth(mid)["availability"] == "Alive"
    assert emu.counts()["routes"]["patch"] == 1


# ------------------------------------------------------------------- delete

def fresh_message(emu, ext, type_="Fax"):
    return emu.add_message(ext, type_)["id"]


def test_delete_then_purge_exact_requests(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    r = rcapi(emu.cred, "delete", ext, mid)
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Deleted"
    assert emu.counts()["routes"]["delete"] == 1
    r = rcapi(emu.cred, "delete", ext, mid, "--from", "deleted")
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Purged"
    c = emu.counts()["routes"]
    assert c["delete"] == 2 and c.get("get", 0) == 0


def test_delete_purge_flag(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    r = rcapi(emu.cred, "delete", ext, mid, "--purge")
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Purged"
    assert emu.counts()["routes"]["delete"] == 1


def test_delete_reset_after_acting_is_not_repeated(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    emu.set_faults(script=[{"route": "delete", "action": "reset_after", "count": 1}])
    r = rcapi(emu.cred, "delete", ext, mid)
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Deleted"  # not Purged
    c = emu.counts()["routes"]
    assert c["delete"] == 1
    assert c["get"] == 1  # the state was read instead


def test_delete_reset_before_acting_is_retried(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    emu.set_faults(script=[{"route": "delete", "action": "reset", "count": 1}])
    r = rcapi(emu.cred, "delete", ext, mid)
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Deleted"
    c = emu.counts()["routes"]
    assert c["delete"] == 2 and c["get"] == 1


def test_delete_503_reads_state_then_retries(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    emu.set_faults(script=[{"route": "delete", "action": "status", "status": 503, "count": 1}])
    r = rcapi(emu.cred, "delete", ext, mid)
    assert r.one("delete")["rc"] == 0
    assert emu.truth(mid)["availability"] == "Deleted"
    c = emu.counts()["routes"]
    assert c["delete"] == 2 and c["get"] == 1


def test_delete_persistent_503_fails_cleanly(emu):
    ext = ext_id(emu)
    mid = str(fresh_message(emu, ext))
    emu.set_faults(script=[{"route": "delete", "action": "status", "status": 503, "count": 1000}])
    r = rcapi(emu.cred, "delete", ext, mid, opts=["-t", "3"])
    assert r.one("delete")["errno"] == "EIO"
    assert r.elapsed < 6
    assert emu.truth(mid)["availability"] == "Alive"
    c = emu.counts()["routes"]
    assert c["get"] == c["delete"]  # every DELETE retried only after reading the state


def test_delete_missing_message(emu):
    ext = ext_id(emu)
    r = rcapi(emu.cred, "delete", ext, "999999999999")
    assert r.one("delete")["errno"] == "ENOENT"
    r = rcapi(emu.cred, "delete", ext, "999999999999", "--purge")
    assert r.one("delete")["rc"] == 0  # gone is what a purge wants


# --------------------------------------------------------------------- sync

def test_fsync_isync_and_stale_token(emu):
    ext = ext_id(emu)
    r = rcapi(emu.cred, "sync", ext)
    first = r.one("sync")
    assert first["rc"] == 0 and first["token"] and first["count"] > 0
    assert emu.counts()["routes"]["sync_fsync"] == 1

    mid = alive(emu, ext, read="Unread")[0]["id"]
    gone = alive(emu, ext)[2]["id"]
    emu.change_message(mid, readStatus="Read")
    emu.change_message(gone, availability="Deleted")
    r = rcapi(emu.cred, "sync", ext, first["token"])
    second = r.one("sync")
    assert second["rc"] == 0 and second["token"] != first["token"]
    recs = {x["id"]: x for x in r.ops("record")}
    assert recs[mid]["readStatus"] == "Read"
    assert recs[gone]["availability"] == "Deleted"
    assert emu.counts()["routes"]["sync_isync"] == 1

    emu.invalidate_sync()
    r = rcapi(emu.cred, "sync", ext, second["token"])
    assert r.one("sync")["errno"] == "ESTALE"


# ------------------------------------------------------------------ content

def fetch(emu, tmp_path, uri, ctype, size=-1, extra=(), opts=()):
    out = str(tmp_path / ("c%d" % time.monotonic_ns()))
    r = rcapi(emu.cred, "fetch", uri, ctype or "", size, "--out", out, *extra, opts=opts)
    data = open(out, "rb").read() if os.path.exists(out) else b""
    return r, data


def test_fetch_matches_server_content(emu, tmp_path):
    ext = ext_id(emu)
    atts = attachments(emu, ext, ("Fax", "VoiceMail", "SMS"))
    kinds = {}
    for mid, a in atts:
        kinds.setdefault(a["contentType"], (mid, a))
    assert len(kinds) >= 4
    for ctype, (mid, a) in kinds.items():
        r, data = fetch(emu, tmp_path, a["uri"], ctype, a["size"])
        res = r.one("fetch")
        assert res["rc"] == 0, (ctype, r.err[-1000:])
        want = emu.content(mid, a["id"])
        assert data == want
        assert res["complete"] and res["total_size"] == len(want)
    assert emu.counts()["routes"].get("platform_content", 0) == 0


def test_fetch_wrong_expected_type_is_an_error(emu, tmp_path):
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    r, data = fetch(emu, tmp_path, a["uri"], "audio/mpeg")
    assert r.one("fetch")["errno"] == "EIO"
    assert data == b""


def test_fetch_json_error_200_rejected(emu, tmp_path):
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    emu.set_faults(script=[{"route": "content", "action": "json_error_200", "count": 1}])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], opts=["-t", "5"])
    assert r.one("fetch")["errno"] == "EIO"
    assert b"CMN-301" not in data and data == b""
    # CMN-301 in a 200 is a rate limit: no second request inside the 30 s penalty
    assert emu.counts()["routes"]["content"] == 1
    assert r.elapsed < 4


def test_fetch_truncate_and_reset_are_retried(emu, tmp_path):
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    emu.set_faults(script=[{"route": "content", "action": "truncate", "count": 1},
                           {"route": "content", "action": "reset", "count": 1}])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], extra=(), opts=())
    assert r.one("fetch")["rc"] == 0, r.err[-1000:]
    assert data == emu.content(mid, a["id"])
    assert emu.counts()["routes"]["content"] == 3


def test_fetch_unframed_cut_body_is_not_complete(emu, tmp_path):
    """A voicemail has no size in its record: a 200 without Content-Length
    cut in half must not pass for the whole file."""
    ext = ext_id(emu)
    mid, a = [(m, x) for m, x in attachments(emu, ext, ("VoiceMail",))
              if x["type"] == "AudioRecording"][0]
    assert a["size"] == -1
    want = emu.content(mid, a["id"])
    emu.reset_counts()
    emu.set_faults(script=[{"route": "content", "action": "truncate_no_length", "count": 1}])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], -1)
    res = r.one("fetch")
    assert res["rc"] == 0, r.err[-1000:]
    assert data == want
    assert res["complete"] and res["total_size"] == len(want)
    c = emu.counts()
    assert c["faults"].get("truncate_no_length") == 1
    assert c["routes"]["content"] == 2  # the unframed answer was retried, not kept
    # always unframed: the fetch fails rather than deliver half
    emu.set_faults(script=[{"route": "content", "action": "truncate_no_length", "count": 100}])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], -1, opts=["-t", "3"])
    res = r.one("fetch")
    assert res["errno"] == "EIO" and not res["complete"]


def test_fetch_range_probe_learns_size(emu, tmp_path):
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    want = emu.content(mid, a["id"])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], extra=("--range", "64"))
    res = r.one("fetch")
    assert res["rc"] == 0
    assert res["total_size"] == len(want) and res["received"] == 64 and not res["complete"]
    assert data == want[:64]


def test_fetch_to_another_site_refused(emu, tmp_path):
    r, _ = fetch(emu, tmp_path, "https://evil.example.org/restapi/x", "application/pdf")
    assert r.one("fetch")["errno"] == "EIO"
    assert emu.counts()["total"] == 0 or emu.counts()["routes"].get("content", 0) == 0


def test_media_url_rewrite(emu, tmp_path):
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    uri = a["uri"].replace(emu.info["media_url"], "https://media.ringcentral.com")
    r, data = fetch(emu, tmp_path, uri, a["contentType"], opts=["-m", emu.info["media_url"]])
    assert r.one("fetch")["rc"] == 0
    assert data == emu.content(mid, a["id"])


# ------------------------------------------------------------------- tokens

def test_token_expiry_mid_session(emu):
    ext = ext_id(emu)
    rcapi_path = RCAPI or find_rcapi()
    p = subprocess.Popen([rcapi_path, "-c", emu.cred, "login", "sleep", "1500",
                          "list", ext, "Fax", "stats"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.8)
    emu.expire_tokens()
    out, err = p.communicate(timeout=60)
    r = Run(p.returncode, out.decode(), err.decode(), 0)
    assert r.one("list")["rc"] == 0
    assert r.one("stats")["refreshes"] == 1
    c = emu.counts()
    assert c["routes"]["token"] == 2  # login + one refresh, no second session
    assert c["status"].get("401", 0) == 1


def test_token_refreshed_before_expiry(emu):
    ext = ext_id(emu)
    emu.config(token_lifetime=2)
    r = rcapi(emu.cred, "login", "sleep", "1800", "list", ext, "Fax", "stats")
    assert r.one("list")["rc"] == 0
    c = emu.counts()
    assert c["routes"]["token"] == 2
    assert c["status"].get("401", 0) == 0


@pytest.fixture
def stall_emu(tmp_path):
    """An emulator of its own: a stalled token request lives on in it after
    rcapi is gone, and must not answer into another test's counts."""
    emu, cred = start_emu(tmp_path, messages=40, extensions=1)
    emu.cred = cred
    emu.config(token_lifetime=2)
    # the login goes through; the next token request (a refresh) stalls 25 s
    emu.set_faults(script=[{"route": "token", "action": "delay", "ms": 0, "count": 1},
                           {"route": "token", "action": "delay", "ms": 25000, "count": 1}])
    yield emu
    emu.stop()


def test_stalled_token_request_is_bounded(stall_emu):
    """A call with 30 s to live does not wait 25 s for a stalled refresh: the
    refresh ends at its own bound (min(timeout -t 3, 20 s) = 3 s) and the next
    one brings the token.  (It used to run under the caller's 30 s.)"""
    emu = stall_emu
    ext = ext_id(emu)
    r = rcapi(emu.cred, "login", "sleep", "2300", "list", ext, "Fax", "stats",
              opts=["-t", "3", "-D", "30"])
    res = r.one("list")
    assert res["rc"] == 0, r.err[-2000:]
    assert res["ms"] < 15000  # 3 s bound + a refresh; the stall was 25 s
    c = emu.counts()
    assert c["routes"]["token"] == 3  # login, the stalled refresh, the next one
    assert c["faults"]["delay"] == 2
    assert r.one("stats")["refreshes"] == 1


def test_caller_not_held_by_stalled_token_request(stall_emu):
    """Thread A's refresh stalls; thread B, without a token, waits for it only
    AUTH_STALL_MS (2 s), then sends a JWT grant of its own, which brings the
    token; A's stalled request is then aborted and A goes on with B's token.
    Both finish long before the 10 s bound (-t 10) and the 25 s stall."""
    emu = stall_emu
    ext = ext_id(emu)
    # two threads: one logs in then sleeps 2.3 s (token expired), the other
    # sleeps 3.1 s; then each lists
    r = rcapi(emu.cred, "login", "sleep", "100", "sleep", "2300", "sleep", "3000",
              "list", ext, "Fax", "list", ext, "SMS", "stats",
              opts=["-t", "10", "-D", "40", "-P", "2"])
    lists = r.ops("list")
    assert [x["rc"] for x in lists] == [0, 0], r.err[-2000:]
    assert all(x["ms"] < 8000 for x in lists), lists
    c = emu.counts()
    assert c["routes"]["token"] == 3  # login, the stalled refresh, the JWT grant beside it
    assert r.one("stats")["refreshes"] == 1


def test_waiter_never_waits_past_its_own_deadline(stall_emu):
    """Every token request stalls: a caller with a 3 s deadline fails at it,
    whoever's request it waits for."""
    emu = stall_emu
    emu.set_faults(script=[{"route": "token", "action": "delay", "ms": 0, "count": 1},
                           {"route": "token", "action": "delay", "ms": 25000, "count": 50}])
    ext = ext_id(emu)
    r = rcapi(emu.cred, "login", "sleep", "100", "sleep", "2300", "sleep", "2600",
              "list", ext, "Fax", "list", ext, "SMS",
              opts=["-t", "3", "-P", "2"])
    lists = r.ops("list")
    assert [x["errno"] for x in lists] == ["EIO", "EIO"]
    assert all(x["ms"] < 6000 for x in lists), lists  # each its own 3 s


def test_debug_log_holds_no_secret(emu, tmp_path):
    ext = ext_id(emu)
    mid, a = attachments(emu, ext, ("Fax",))[0]
    emu.config(token_lifetime=2)
    emu.reset_counts()
    out = str(tmp_path / "x")
    r = rcapi(emu.cred, "login", "extensions", "list", ext, "Fax", "sleep", "1800",
              "sync", ext, "fetch", a["uri"], a["contentType"], -1, "--out", out, "stats",
              opts=["-d"])
    assert r.rc == 0, r.err[-2000:]
    assert "debug:" in r.err
    for s in emu.secrets() + ["Bearer", "Authorization", "Basic ", "access_token",
                              "refresh_token", "assertion"]:
        assert s not in r.err, s
        assert s not in r.out, s
    assert emu.counts()["routes"]["token"] == 2


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def secret_hashes(secrets):
    """FNV-1a 64 of every run of 20+ characters of [A-Za-z0-9_+/-], and of
    every substring of 20+ characters of one, in each secret (see
    tests/tools/wipecheck.c: a copy cut short is caught too)."""
    import re
    out = set()
    for sec in secrets:
        for run in re.findall(rb"[A-Za-z0-9_+/-]{20,}", sec.encode()):
            for i in range(len(run)):
                for j in range(i + 20, len(run) + 1):
                    out.add(fnv1a64(run[i:j]))
    return out


def find_wipecheck():
    """A build of rcapi without sanitizers and its libwipecheck.so: next to
    $RCAPI, else in build/ (scripts/test runs these tests with the ASan build,
    whose allocator the shim cannot replace)."""
    for d in (os.path.dirname(RCAPI or find_rcapi()), os.path.join(ROOT, "build", "api")):
        so, exe = os.path.join(d, "libwipecheck.so"), os.path.join(d, "rcapi")
        if os.path.exists(so) and os.access(exe, os.X_OK):
            return exe, so
    return None, None


def test_no_secret_left_in_freed_memory(emu, tmp_path):
    """Tokens, the client secret and the JWT are wiped before any memory
    that held them goes back to the allocator: the token answers (their
    buffer, json-c's copies), grant forms, Authorization values, refreshed
    and replaced tokens, and everything at the end."""
    exe, so = find_wipecheck()
    if not so:
        pytest.skip("libwipecheck.so is built only without sanitizers: build/ has none")
    ext = ext_id(emu)
    mid, a = attachments(emu, ext, ("Fax",))[0]
    emu.config(token_lifetime=2)
    emu.reset_counts()
    issued_before = len(emu.issued_tokens())
    report = str(tmp_path / "freed-hashes")
    env = dict(os.environ, LD_PRELOAD=so, WIPECHECK_OUT=report)
    p = subprocess.run([exe, "-c", emu.cred, "login", "extensions", "list", ext, "Fax",
                        "sleep", "2300", "sync", ext,
                        "fetch", a["uri"], a["contentType"], "-1", "--out", str(tmp_path / "f"),
                        "sleep", "2300", "get", ext, mid, "stats"],
                       capture_output=True, env=env, timeout=120)
    r = Run(p.returncode, p.stdout.decode(), p.stderr.decode(), 0)
    assert r.rc == 0, r.err[-2000:]
    assert r.one("stats")["refreshes"] == 2  # two refreshes: tokens were replaced twice
    with open(report) as f:
        freed = {}
        for line in f:
            h, where = line.split()
            freed.setdefault(int(h, 16), set()).add(where)
    assert len(freed) > 100, "the shim saw the frees"
    info = emu.info
    basic = base64.b64encode(("%s:%s" % (info["client_id"], info["client_secret"])).encode())
    tokens = emu.issued_tokens()
    issued = len(tokens) - issued_before
    assert issued == 6  # a login and two refreshes, each an access and a refresh token
    hashes = secret_hashes(tokens + [info["client_secret"], info["jwt"], basic.decode()])
    del tokens  # never in a test's output
    leaks = sorted(w for h in hashes & set(freed) for w in freed[h])
    assert not leaks, "secrets left in memory freed at: %s" % ", ".join(leaks)


# ------------------------------------------------------- deadlines, limits

def test_deadline_bounds_a_slow_answer(emu):
    ext = ext_id(emu)
    rcapi(emu.cred, "login")
    emu.set_faults(script=[{"route": "list", "action": "delay", "ms": 8000, "count": 5}])
    r = rcapi(emu.cred, "list", ext, "Fax", opts=["-t", "2"])
    assert r.one("list")["errno"] == "EIO"
    assert 1.5 < r.elapsed < 4.5


def test_scripted_429_waits_out_the_penalty_once(emu, tmp_path):
    emu.config(rate_limits={"Medium": 1000}, rate_window=60, penalty=2)
    mid, a = attachments(emu, ext_id(emu), ("Fax",))[0]
    emu.reset_counts()
    emu.set_faults(script=[{"route": "content", "action": "status", "status": 429, "count": 1}])
    r, data = fetch(emu, tmp_path, a["uri"], a["contentType"], extra=(), opts=["-t", "10"])
    assert r.one("fetch")["rc"] == 0
    assert data == emu.content(mid, a["id"])
    assert emu.counts()["routes"]["content"] == 2  # nothing sent during the penalty
    assert r.elapsed >= 2


def test_rate_limits_short_window(tmp_path):
    emu, cred = start_emu(tmp_path, messages=80, extensions=1,
                          extra_args=["--rate-limits", '{"Medium": 5}', "--rate-window", "3"])
    try:
        emu.cred = cred
        atts = attachments(emu, ext_id(emu), ("Fax", "VoiceMail", "SMS"))[:20]
        assert len(atts) == 20
        emu.reset_counts()
        args = []
        for i, (mid, a) in enumerate(atts):
            args += ["fetch", a["uri"], a["contentType"], -1, "--out", str(tmp_path / str(i))]
        r = rcapi(cred, *args, "stats", opts=["-P", "4", "-t", "60"])
        assert [x["rc"] for x in r.ops("fetch")] == [0] * 20, r.err[-2000:]
        c = emu.counts()
        limited = c["rate_limited"].get("Medium", 0)
        windows = r.elapsed / 3.0
        print("\nrate limit Medium 5/3s: 20 fetches in %.1f s (%.1f per 3 s window), %d x 429, "
              "stats %s" % (r.elapsed, 20 / windows, limited, r.one("stats")))
        assert limited <= 1
        assert c["routes"]["content"] == 20 + limited
        assert r.elapsed >= 9  # 20 at 5 per 3 s cannot be faster
        assert r.elapsed < 25
    finally:
        emu.stop()
