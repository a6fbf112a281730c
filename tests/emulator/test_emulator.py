"""The emulator's own tests: every bullet of tests/emulator/README.md.

Black-box: each test talks HTTP to a real rcemu subprocess (emu_harness.py, conftest.py).
The shared `emu` fixture (2 extensions x 60 messages) is mutated only through
messages the tests add themselves, so the generated specials stay as made.
"""

import email.parser
import email.policy
import http.client
import json
import os
import re
import socket
import struct
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from emu_harness import JWT_GRANT, MULTIPART_JSON, Emu, http_request

ISO_SEC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DAY = 86400


def ts(iso):
    """ISO with milliseconds -> epoch seconds (float)."""
    import calendar
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")) + int(iso[20:23]) / 1000


def all_records(emu, token, ext="~", extra=""):
    """Every record (all availabilities) via the list API, following nextPage."""
    url = emu.store(ext, "?dateFrom=2000-01-01T00:00:00.000Z&perPage=1000"
                    "&availability=Alive&availability=Deleted&availability=Purged" + extra)
    out = []
    while url:
        r = emu.api("GET", url, token)
        assert r.status == 200, r
        d = r.json()
        out += d["records"]
        url = d["navigation"].get("nextPage", {}).get("uri")
    return out


def attachment(rec, typ):
    return [a for a in rec.get("attachments", []) if a["type"] == typ]


# ------------------------------------------------------------------ process
def test_ready_file_is_private_and_complete(emu):
    st = os.stat(emu.ready)
    assert st.st_mode & 0o777 == 0o600
    info = emu.info
    for key in ("pid", "server_url", "media_url", "control_url", "client_id", "client_secret",
                "jwt", "account_id", "owner_extension_id", "extensions"):
        assert key in info
    assert info["pid"] == emu.proc.pid
    for key in ("server_url", "media_url", "control_url"):
        assert info[key].startswith("http://127.0.0.1:")
    assert [e["extensionNumber"] for e in info["extensions"]] == ["101", "102"]
    assert info["owner_extension_id"] == info["extensions"][0]["id"]
    assert all(isinstance(e["id"], str) and e["id"].isdigit() for e in info["extensions"])
    assert info["jwt"].count(".") == 2


def test_listeners_bound_to_loopback_only(emu):
    ports = {int(emu.info[k].rsplit(":", 1)[1]) for k in ("server_url", "media_url", "control_url")}
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            addr, port = local.split(":")
            if state == "0A" and int(port, 16) in ports:  # LISTEN
                assert addr == "0100007F", "listener not on 127.0.0.1: %s" % local
                found.add(int(port, 16))
    assert found == ports


def test_bad_command_line_fails_without_ready_file(tmp_path):
    e = Emu(tmp_path, "--faults", '{"bogus_rate": 1}')
    with pytest.raises(RuntimeError):
        e.start(timeout=15)
    assert not os.path.exists(e.ready)


def test_same_seed_same_mailbox_other_seed_differs(emu, token, tmp_path):
    mine = {r["id"]: r for r in all_records(emu, token)}
    with Emu(tmp_path / "a", "--messages", 60, "--extensions", 2, "--seed", 7) as twin, \
            Emu(tmp_path / "b", "--messages", 60, "--extensions", 2, "--seed", 8) as other:
        t = twin.login()["access_token"]
        o = other.login()["access_token"]

        def strip(r):
            r = json.loads(json.dumps(r).replace(twin.server, "S").replace(twin.media, "M")
                           .replace(emu.server, "S").replace(emu.media, "M")
                           .replace(other.server, "S").replace(other.media, "M"))
            r.pop("lastModifiedTime")  # tests before this one may have touched some
            r.pop("creationTime")      # compared below: they may differ by whole hours
            r.pop("readStatus")
            r.pop("availability")
            r.pop("attachments", None)
            return r

        twin_recs = {r["id"]: r for r in all_records(twin, t)}
        generated = {i: r for i, r in mine.items() if i in twin_recs}
        assert len(generated) >= 60
        offsets = set()
        for i, r in generated.items():
            assert strip(r) == strip(twin_recs[i])
            offsets.add(ts(twin_recs[i]["creationTime"]) - ts(r["creationTime"]))
        # times hang off the start of the hour: equal, unless an hour began in between
        assert len(offsets) == 1 and offsets.pop() % 3600 == 0
        other_recs = {r["id"]: r for r in all_records(other, o)}
        assert [strip(r) for r in other_recs.values()] != [strip(twin_recs[i]) for i in other_recs]
        a = twin.control("GET", "/control/extensions/101/messages")[10]["id"]
        assert twin.control("GET", "/control/messages/%s/content/%s" % (a, a), raw=True).body == \
            emu.control("GET", "/control/messages/%s/content/%s" % (a, a), raw=True).body


# --------------------------------------------------------------------- OAuth
def test_jwt_grant_returns_token_info(emu):
    info = emu.login()
    for key in ("access_token", "token_type", "expires_in", "refresh_token",
                "refresh_token_expires_in", "scope", "owner_id", "endpoint_id", "session_id"):
        assert key in info
    assert info["token_type"] == "bearer"
    assert info["expires_in"] == 3600
    assert info["refresh_token_expires_in"] == 604800
    assert info["owner_id"] == emu.info["owner_extension_id"]


def test_token_endpoint_errors_have_oauth_shape(emu):
    good = {"grant_type": JWT_GRANT, "assertion": emu.info["jwt"]}
    cases = [
        (emu.token_request(good, emu.basic(secret="wrong")), "invalid_client", "OAU-153"),
        (emu.token_request(good, emu.basic(client_id="nobody")), "invalid_client", "OAU-153"),
        (emu.token_request(good, "Bearer x"), "invalid_client", "OAU-123"),
        (emu.token_request(dict(good, assertion="a.b.c")), "invalid_grant", None),
        (emu.token_request({"grant_type": "password", "username": "u"}),
         "unsupported_grant_type", None),
        (emu.token_request({"grant_type": "refresh_token", "refresh_token": "nope"}),
         "invalid_grant", "OAU-213"),
        (http_request(emu.server + "/restapi/oauth/token", "POST", b'{"grant_type": "x"}',
                      {"Authorization": emu.basic(), "Content-Type": "application/json"}),
         "invalid_request", None),
    ]
    for r, error, code in cases:
        assert r.status in (400, 415), r
        body = r.json()
        assert set(body) == {"error", "errors", "error_description"}
        assert body["error"] == error
        assert body["errors"][0]["errorCode"].startswith("OAU-")
        if code:
            assert body["errors"][0]["errorCode"] == code
        assert emu.info["client_secret"].encode() not in r.body
        assert emu.info["jwt"].encode() not in r.body


def test_refresh_is_single_use_and_kills_old_access_token(emu):
    first = emu.login()
    assert emu.api("GET", emu.store(), first["access_token"]).status == 200
    r = emu.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert r.status == 200, r
    second = r.json()
    assert second["access_token"] != first["access_token"]
    old = emu.api("GET", emu.store(), first["access_token"])
    assert old.status == 401
    assert old.json()["errors"][0]["errorCode"] == "OAU-149"
    assert emu.api("GET", emu.store(), second["access_token"]).status == 200
    again = emu.token_request({"grant_type": "refresh_token",
                               "refresh_token": first["refresh_token"]})
    assert again.status == 400 and again.json()["error"] == "invalid_grant"
    # the new refresh token still works once
    r = emu.token_request({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert r.status == 200


def test_api_401_codes(emu, token):
    url = emu.store()
    r = emu.api("GET", url, None)
    assert r.status == 401 and r.json()["errors"][0]["errorCode"] == "AGW-401"
    r = emu.api("GET", url, "not-a-token")
    assert r.status == 401 and r.json()["errors"][0]["errorCode"] == "OAU-149"
    assert r.json()["errorCode"] == "TokenInvalid"
    r = emu.api("GET", url, None, headers={"Authorization": emu.basic()})
    assert r.status == 401 and r.json()["errors"][0]["errorCode"] == "OAU-151"
    assert r.header("X-Rate-Limit-Group") == "Light"


def test_control_expires_access_tokens(emu):
    s = emu.login()
    assert emu.api("GET", emu.store(), s["access_token"]).status == 200
    emu.control("POST", "/control/tokens/expire")
    r = emu.api("GET", emu.store(), s["access_token"])
    assert r.status == 401
    assert r.json()["errors"][0]["errorCode"] == "OAU-128"
    assert r.json()["errorCode"] == "TokenExpired"
    r = emu.token_request({"grant_type": "refresh_token", "refresh_token": s["refresh_token"]})
    assert r.status == 200
    assert emu.api("GET", emu.store(), r.json()["access_token"]).status == 200


def test_revoke_ends_the_session(emu):
    s = emu.login()
    r = http_request(emu.server + "/restapi/oauth/revoke", "POST",
                     ("token=" + s["access_token"]).encode(),
                     {"Authorization": emu.basic(),
                      "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    assert emu.api("GET", emu.store(), s["access_token"]).status == 401
    r = emu.token_request({"grant_type": "refresh_token", "refresh_token": s["refresh_token"]})
    assert r.status == 400


def test_token_lifetime_flag_list_forbidden_flag_and_start_faults(tmp_path):
    faults = json.dumps({"script": [{"route": "extension_get", "action": "status",
                                     "status": 500, "count": 1}]})
    with Emu(tmp_path, "--messages", 40, "--extensions", 1, "--token-lifetime", 1,
             "--extension-list-forbidden", "--faults", faults, "--rate-limits", "default",
             "--penalty", 7) as e:
        s = e.login()
        assert s["expires_in"] == 1
        cfg = e.control("GET", "/control/config")
        assert cfg["rate_limits"] == {"Light": 50, "Medium": 40, "Heavy": 10, "Auth": 5}
        assert cfg["penalty"] == 7 and cfg["rate_window"] == 60
        r = e.api("GET", e.store(), s["access_token"])
        assert (r.header("X-Rate-Limit-Limit"), r.header("X-Rate-Limit-Remaining")) == ("50", "49")
        r = e.api("GET", "/restapi/v1.0/account/~/extension/~", s["access_token"])
        assert r.status == 500 and r.json()["errorCode"] == "CMN-201"
        r = e.api("GET", "/restapi/v1.0/account/~/extension/~", s["access_token"])
        assert r.status == 200
        r = e.api("GET", "/restapi/v1.0/account/~/extension", s["access_token"])
        assert r.status == 403 and r.json()["errorCode"] == "CMN-401"
        time.sleep(1.2)
        r = e.api("GET", e.store(), s["access_token"])
        assert r.status == 401 and r.json()["errors"][0]["errorCode"] == "OAU-128"
        r = e.token_request({"grant_type": "refresh_token", "refresh_token": s["refresh_token"]})
        assert r.status == 200
        assert e.api("GET", e.store(), r.json()["access_token"]).status == 200


# ---------------------------------------------------------------- extensions
def test_extension_list_paged_and_forbidden_switch(emu, token):
    r = emu.api("GET", "/restapi/v1.0/account/~/extension?perPage=1", token)
    assert r.status == 200
    d = r.json()
    assert [x["extensionNumber"] for x in d["records"]] == ["101"]
    assert d["paging"]["totalElements"] == 2 and d["paging"]["totalPages"] == 2
    r2 = emu.api("GET", d["navigation"]["nextPage"]["uri"], token)
    assert [x["extensionNumber"] for x in r2.json()["records"]] == ["102"]
    assert "nextPage" not in r2.json()["navigation"]
    acc = emu.info["account_id"]
    assert emu.api("GET", "/restapi/v1.0/account/%s/extension" % acc, token).status == 200
    assert emu.api("GET", "/restapi/v1.0/account/999/extension", token).status == 404
    emu.control("POST", "/control/config", {"extension_list_forbidden": True})
    try:
        r = emu.api("GET", "/restapi/v1.0/account/~/extension", token)
        assert r.status == 403
        assert r.json()["errorCode"] == "CMN-401"
        assert r.header("X-Rate-Limit-Group") == "Medium"
        assert emu.api("GET", "/restapi/v1.0/account/~/extension/~", token).status == 200
    finally:
        emu.control("POST", "/control/config", {"extension_list_forbidden": False})
    assert emu.api("GET", "/restapi/v1.0/account/~/extension", token).status == 200


def test_extension_get(emu, token):
    r = emu.api("GET", "/restapi/v1.0/account/~/extension/~", token)
    assert r.status == 200
    me = json.loads(r.body)
    assert str(me["id"]) == emu.info["owner_extension_id"]
    assert me["extensionNumber"] == "101"
    assert r.header("X-Rate-Limit-Group") == "Light"
    r = emu.api("GET", "/restapi/v1.0/account/~/extension/%s" % emu.ext_id(1), token)
    assert r.json()["extensionNumber"] == "102"
    r = emu.api("GET", "/restapi/v1.0/account/~/extension/12345", token)
    assert r.status == 404 and r.json()["errorCode"] == "CMN-102"
    assert r.json()["parameterName"] == "extensionId"


def test_extension_permissions_admin(emu, token):
    """ExtensionInfo.permissions.admin.enabled: the owner is an admin unless
    configured otherwise; no other extension is."""
    def admin(ext):
        r = emu.api("GET", "/restapi/v1.0/account/~/extension/%s" % ext, token)
        assert r.status == 200
        return r.json()["permissions"]["admin"]["enabled"]

    assert admin("~") is True
    assert admin(emu.info["owner_extension_id"]) is True
    assert admin(emu.ext_id(1)) is False
    emu.control("POST", "/control/config", {"owner_admin": False})
    try:
        assert admin("~") is False
        assert emu.control("GET", "/control/config")["owner_admin"] is False
    finally:
        emu.control("POST", "/control/config", {"owner_admin": True})
    assert admin("~") is True
    r = emu.control("POST", "/control/config", {"owner_admin": "no"}, raw=True)
    assert r.status == 400


def test_non_admin_reaches_only_its_own_messages(emu, token, catalog):
    """A non-admin's token reads and changes its own extension's messages;
    another extension's message store, sync and content are 403 CMN-419
    (the spec's code for a permission missing on another extension)."""
    other = emu.ext_id(1)
    own_mid = catalog["101"]["unread_sms"]
    other_mid = catalog["102"]["unread_fax"]
    other_att = emu.truth(other_mid)["record"]["attachments"][0]
    emu.control("POST", "/control/config", {"owner_admin": False})
    try:
        emu.control("POST", "/control/counts/reset")
        assert emu.api("GET", emu.store(), token).status == 200
        assert emu.api("GET", emu.store(emu.info["owner_extension_id"]), token).status == 200
        assert emu.api("GET", emu.store("~", "/" + own_mid), token).status == 200
        # the company directory stays readable
        r = emu.api("GET", "/restapi/v1.0/account/~/extension", token)
        assert r.status == 200 and len(r.json()["records"]) == 2
        refused = [
            ("GET", emu.store(other)),
            ("GET", emu.store(other, "/" + other_mid)),
            ("GET", emu.store(other, "/%s,%s" % (other_mid, other_mid))),
            ("GET", "/restapi/v1.0/account/~/extension/%s/message-sync?syncType=FSync" % other),
            ("GET", other_att["uri"]),
        ]
        for method, url in refused:
            r = emu.api(method, url, token)
            assert r.status == 403, (url, r)
            assert r.json()["errorCode"] == "CMN-419"
            assert "[ReadMessages]" in r.json()["message"]
        r = emu.api("PUT", emu.store(other, "/" + other_mid), token, {"readStatus": "Read"})
        assert r.status == 403 and r.json()["errorCode"] == "CMN-419"
        assert "[EditMessages]" in r.json()["message"]
        r = emu.api("DELETE", emu.store(other, "/" + other_mid), token)
        assert r.status == 403 and r.json()["errorCode"] == "CMN-419"
        assert emu.truth(other_mid)["availability"] == "Alive"
        assert emu.truth(other_mid)["record"]["readStatus"] == "Unread"
        # an unknown extension is still 404, not 403
        assert emu.api("GET", emu.store("12345"), token).status == 404
        st = emu.control("GET", "/control/counts")["status"]
        assert st.get("403", 0) == len(refused) + 2
    finally:
        emu.control("POST", "/control/config", {"owner_admin": True})
    assert emu.api("GET", emu.store(other), token).status == 200


def test_non_admin_command_line(tmp_path):
    with Emu(tmp_path, "--messages", 10, "--extensions", 2, "--non-admin") as e:
        assert e.control("GET", "/control/config")["owner_admin"] is False
        tok = e.login()["access_token"]
        me = e.api("GET", "/restapi/v1.0/account/~/extension/~", tok).json()
        assert me["permissions"]["admin"]["enabled"] is False
        assert e.api("GET", e.store(), tok).status == 200
        r = e.api("GET", e.store(e.ext_id(1)), tok)
        assert r.status == 403 and r.json()["errorCode"] == "CMN-419"


# ------------------------------------------------------------------- listing
def test_list_without_datefrom_returns_only_the_last_day(emu, token):
    r = emu.api("GET", emu.store(), token)
    assert r.status == 200
    d = r.json()
    now = time.time()
    assert d["records"], "some messages are from the last day"
    for rec in d["records"]:
        assert now - DAY - 5 <= ts(rec["creationTime"]) <= now + 1
    everything = all_records(emu, token)
    older = [x for x in everything if ts(x["creationTime"]) < now - DAY - 60]
    assert len(older) > len(everything) // 2
    recent_alive = [x for x in everything if ts(x["creationTime"]) >= now - DAY + 60
                    and x["availability"] == "Alive"]
    assert {x["id"] for x in recent_alive} <= {x["id"] for x in d["records"]}
    assert "dateFrom=" in d["uri"] and "availability=Alive" in d["uri"]


def test_list_with_datefrom_pages_through_everything(emu, token):
    r = emu.api("GET", emu.store("~", "?dateFrom=2000-01-01T00:00:00Z&perPage=5000"), token)
    d = r.json()
    assert d["paging"]["perPage"] == 1000
    alive = {m["id"] for m in emu.control("GET", "/control/extensions/101/messages")
             if m["availability"] == "Alive"}
    assert {str(x["id"]) for x in d["records"]} == alive
    # the same set in small pages, following nextPage until it is absent
    url = emu.store("~", "?dateFrom=2000-01-01T00:00:00.000Z&perPage=7")
    seen = []
    pages = 0
    while url:
        page = emu.api("GET", url, token).json()
        pages += 1
        seen += page["records"]
        nav = page["navigation"]
        assert "firstPage" in nav and "lastPage" in nav
        assert ("previousPage" in nav) == (page["paging"]["page"] > 1)
        if page["paging"]["page"] < page["paging"]["totalPages"]:
            assert "nextPage" in nav
        else:
            assert "nextPage" not in nav
        url = nav.get("nextPage", {}).get("uri")
    assert pages == -(-len(alive) // 7)
    assert [str(x["id"]) for x in seen] == [str(x["id"]) for x in d["records"]]
    times = [(x["creationTime"], x["id"]) for x in seen]
    assert times == sorted(times, reverse=True), "newest first"


def test_next_page_keeps_every_filter(emu, token):
    url = emu.store("~", "?dateFrom=2000-01-01T00:00:00.000Z&perPage=3&messageType=SMS"
                    "&messageType=Pager&availability=Alive&availability=Deleted&direction=Inbound")
    got = []
    while url:
        d = emu.api("GET", url, token).json()
        got += d["records"]
        url = d["navigation"].get("nextPage", {}).get("uri")
        if url:
            assert url.count("messageType=") == 2 and url.count("availability=") == 2
    assert len(got) > 3
    assert {x["type"] for x in got} == {"SMS", "Pager"}
    assert {x["direction"] for x in got} == {"Inbound"}
    assert "Deleted" in {x["availability"] for x in got}


def test_list_bad_parameters(emu, token):
    for q, param in (("perPage=abc", "perPage"), ("perPage=0", "perPage"), ("page=0", "page"),
                     ("messageType=Email", "messageType"), ("dateFrom=yesterday", "dateFrom"),
                     ("availability=Gone", "availability"), ("direction=Up", "direction"),
                     ("readStatus=Maybe", "readStatus"), ("conversationId=x", "conversationId"),
                     ("messageType=Fax,SMS", "messageType"), ("distinctConversations=yes",
                                                              "distinctConversations"),
                     ("dateFrom=2020-01-02&dateTo=2020-01-01", "dateFrom")):
        r = emu.api("GET", emu.store("~", "?" + q), token)
        assert r.status == 400, q
        body = r.json()
        assert body["errorCode"] == "CMN-101"
        assert body["errors"][0]["parameterName"] == param


def test_list_filters(emu, token):
    base = "?dateFrom=2000-01-01T00:00:00Z&perPage=1000"
    everything = all_records(emu, token)
    alive = [x for x in everything if x["availability"] == "Alive"]

    def ids(q):
        r = emu.api("GET", emu.store("~", base + q), token)
        assert r.status == 200, r
        return [x["id"] for x in r.json()["records"]]

    def want(pred, pool=alive):
        return [x["id"] for x in pool if pred(x)]

    assert ids("") == want(lambda x: True)
    assert ids("&messageType=Fax&messageType=VoiceMail") == \
        want(lambda x: x["type"] in ("Fax", "VoiceMail"))
    assert ids("&messageType=Pager") == want(lambda x: x["type"] == "Pager")
    assert ids("&readStatus=Unread") == want(lambda x: x["readStatus"] == "Unread")
    assert ids("&direction=Outbound") == want(lambda x: x["direction"] == "Outbound")
    assert ids("&availability=Deleted") == want(lambda x: x["availability"] == "Deleted",
                                                everything)
    assert ids("&availability=Deleted&availability=Alive") == \
        want(lambda x: x["availability"] in ("Alive", "Deleted"), everything)
    conv = next(x for x in alive if x.get("conversation"))["conversation"]["id"]
    got = ids("&conversationId=" + conv)
    assert got and got == want(lambda x: x.get("conversation", {}).get("id") == conv)
    cut = sorted(ts(x["creationTime"]) for x in alive)[len(alive) // 2]
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(cut))
    got = ids("&dateTo=" + iso)
    assert got == want(lambda x: ts(x["creationTime"]) < cut)


def test_new_message_shows_in_default_list(emu, token):
    rec = emu.add("101", "SMS", subject="hello from control ✓")
    r = emu.api("GET", emu.store(), token).json()
    assert r["records"][0]["id"] == rec["id"]
    assert r["records"][0]["subject"] == "hello from control ✓"


# ------------------------------------------------------------------- records
def test_ids_and_conversation_ids_are_exact_integers(emu, token):
    r = emu.api("GET", emu.store("~", "?dateFrom=2000-01-01T00:00:00Z&perPage=1000"), token)
    text = r.body.decode()
    recs = json.loads(text)["records"]
    big = 0
    for rec in recs:
        assert isinstance(rec["id"], int) and rec["id"] > 2 ** 32
        assert '"id": %d' % rec["id"] in text
        for a in rec["attachments"]:
            assert isinstance(a["id"], int)
        if "conversationId" in rec:
            assert isinstance(rec["conversationId"], int)
            assert str(rec["conversationId"]) == rec["conversation"]["id"]
            assert '"conversationId": %s' % rec["conversation"]["id"] in text
            assert rec["conversation"]["uri"].endswith("/conversation/" + rec["conversation"]["id"])
            if rec["conversationId"] > 2 ** 53:
                big += 1
                assert float(rec["conversationId"]) != rec["conversationId"] or \
                    rec["conversationId"] % 2 == 0
    assert big
    assert any(x.get("conversationId") == 2 ** 53 + 1 for x in recs)


def test_record_shapes_by_type(emu, token):
    recs = all_records(emu, token)
    types = {x["type"] for x in recs}
    assert types == {"Fax", "SMS", "VoiceMail", "Pager", "Text"}
    for rec in recs:
        assert rec["uri"].startswith(emu.server + "/restapi/v1.0/account/%s/extension/%s/"
                                     "message-store/%d" % (emu.info["account_id"],
                                                           emu.ext_id(0), rec["id"]))
        assert ISO_SEC.match(rec["creationTime"])
        assert ISO_MS.match(rec["lastModifiedTime"])
        assert ts(rec["lastModifiedTime"]) >= ts(rec["creationTime"])
        assert rec["priority"] == "Normal"
        assert rec["direction"] in ("Inbound", "Outbound")
        assert isinstance(rec["to"], list)
        for a in rec.get("attachments", []):
            assert a["uri"] == "%s/restapi/v1.0/account/%s/extension/%s/message-store/%d/" \
                "content/%d" % (emu.media, emu.info["account_id"], emu.ext_id(0), rec["id"], a["id"])
            if a["type"] in ("RenderedDocument", "SourceDocument", "AudioRecording",
                             "AudioTranscription"):
                assert "size" not in a
            if a["type"] in ("Text", "MmsAttachment"):
                assert isinstance(a["size"], int)
            if a["type"] == "MmsAttachment":
                assert {"fileName", "width", "height", "size"} <= set(a)
        if rec["type"] == "Fax":
            assert rec["faxResolution"] in ("High", "Low") and rec["faxPageCount"] >= 1
            assert attachment(rec, "RenderedDocument")
            if rec["direction"] == "Outbound":
                assert "coverIndex" in rec and "messageStatus" in rec["to"][0]
        if rec["type"] == "VoiceMail":
            assert "vmTranscriptionStatus" in rec
            assert attachment(rec, "AudioRecording")[0]["vmDuration"] > 0
            has_t = bool(attachment(rec, "AudioTranscription"))
            assert has_t == (rec["vmTranscriptionStatus"] in ("Completed", "CompletedPartially"))
        if rec["type"] in ("SMS", "Pager", "Text"):
            assert attachment(rec, "Text")[0]["size"] == len(rec.get("subject", "").encode())
        if rec["type"] == "SMS" and rec["direction"] == "Outbound":
            assert rec["smsSendingAttemptsCount"] == 1
        if rec["type"] in ("SMS", "Pager"):
            assert "conversationId" in rec and "conversation" in rec
        if rec["type"] == "Pager":
            assert rec["pgToDepartment"] is False
            assert "extensionNumber" in rec["to"][0]


@pytest.mark.parametrize("k", [0, 1])
def test_every_extension_has_the_guaranteed_messages(emu, token, k):
    recs = all_records(emu, token, emu.ext_id(k))
    now = time.time()
    alive = [x for x in recs if x["availability"] == "Alive"]
    names = [a.get("fileName") for x in recs for a in x.get("attachments", [])]
    for hostile in ("../../etc/passwd", "a/b.png", "..", "café-Ω.png"):
        assert hostile in names
    assert any("\n" in (n or "") for n in names)
    assert any(len((n or "").encode()) == 300 for n in names)
    assert any([a.get("fileName") for a in x.get("attachments", [])].count("photo.jpg") == 2
               for x in recs)
    assert any(a["contentType"] == "image/tiff" for x in recs for a in attachment(x, "RenderedDocument"))
    assert any(x["type"] == "Fax" and x["direction"] == "Outbound"
               and len(attachment(x, "SourceDocument")) == 2 for x in recs)
    assert any(a["contentType"] == "audio/mpeg" for x in recs for a in attachment(x, "AudioRecording"))
    assert any(x["vmTranscriptionStatus"] == "Completed" and attachment(x, "AudioTranscription")
               and attachment(x, "AudioRecording")[0]["contentType"] == "audio/x-wav"
               for x in recs if x["type"] == "VoiceMail")
    assert any(now - ts(x["creationTime"]) < DAY - 60 for x in alive)
    assert sum(1 for x in recs if now - ts(x["creationTime"]) > DAY + 60) >= 3
    assert any(x["availability"] == "Deleted" for x in recs)
    for typ in ("Fax", "SMS", "VoiceMail", "Pager", "Text"):
        assert any(x["type"] == typ and x["readStatus"] == "Unread" for x in alive), typ
    convs = [x["conversationId"] for x in recs if "conversationId" in x]
    assert any(c > 2 ** 53 for c in convs) and any(c <= 2 ** 53 for c in convs)
    assert {x["type"] for x in recs} == {"Fax", "SMS", "VoiceMail", "Pager", "Text"}
    assert any(set(["MmsAttachment"]) & {a["type"] for a in x.get("attachments", [])}
               and any(c in a.get("fileName", "") for a in x["attachments"] for c in "éΩ")
               for x in recs)
    peers = [x.get("from", {}).get("name", "") for x in recs]
    assert any(not n.isascii() or "'" in n or "/" in n for n in peers if n)


def test_message_ids_unique_across_extensions(emu):
    a = {m["id"] for m in emu.control("GET", "/control/extensions/101/messages")}
    b = {m["id"] for m in emu.control("GET", "/control/extensions/102/messages")}
    assert a and b and not a & b
    assert all(int(i) > 2 ** 32 for i in a | b)


# --------------------------------------------------------------- single/batch
def test_single_get(emu, token, catalog):
    mid = catalog["101"]["tiff_fax"]
    r = emu.api("GET", emu.store("~", "/" + mid), token)
    assert r.status == 200
    assert r.json() == emu.truth(mid)["record"]
    assert r.header("Content-Type").startswith("application/json")
    r = emu.api("GET", emu.store("~", "/111"), token)
    assert r.status == 404 and r.json()["errorCode"] == "CMN-102"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in mid)  # "４００..." is not an id
    r = emu.api("GET", emu.store("~", "/" + urllib.parse.quote(fullwidth)), token)
    assert r.status == 400 and r.json()["errors"][0]["parameterName"] == "messageId"
    # a message of 102 is not found through 101's store
    other = catalog["102"]["tiff_fax"]
    assert emu.api("GET", emu.store("~", "/" + other), token).status == 404
    assert emu.api("GET", emu.store(emu.ext_id(1), "/" + other), token).status == 200


def test_batch_get_multipart_json_matches_the_seed(emu, token, catalog):
    a, b = catalog["101"]["unread_sms"], catalog["101"]["unread_pager"]
    r = emu.api("GET", emu.store("~", "/%s,%s,111" % (a, b)), token,
                headers={"Accept": MULTIPART_JSON})
    assert r.status == 207
    assert r.header("Content-Type") == MULTIPART_JSON
    items = r.json()
    assert isinstance(items, list) and len(items) == 3
    for item in items:
        assert set(item) == {"resourceId", "status", "body"}
        assert isinstance(item["resourceId"], str) and isinstance(item["status"], int)
    assert [i["resourceId"] for i in items] == [a, b, "111"]
    assert items[0]["status"] == 200 and items[0]["body"] == emu.truth(a)["record"]
    assert items[2]["status"] == 404
    assert items[2]["body"] == {
        "errorCode": "CMN-102", "message": "Resource for parameter [messageId] is not found",
        "errors": [{"errorCode": "CMN-102",
                    "message": "Resource for parameter [messageId] is not found",
                    "parameterName": "messageId"}],
        "parameterName": "messageId"}


def test_batch_get_multipart_mixed(emu, token, catalog):
    ids = [catalog["101"]["tiff_fax"], "111", catalog["101"]["mp3_voicemail"]]
    r = emu.api("GET", emu.store("~", "/" + ",".join(ids)), token)
    assert r.status == 207
    ctype = r.header("Content-Type")
    assert ctype.startswith("multipart/mixed") and "boundary=" in ctype
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + r.body)
    parts = [json.loads(p.get_payload(decode=True)) for p in msg.iter_parts()]
    assert len(parts) == 1 + len(ids)
    summary = parts[0]["response"]
    assert [s["status"] for s in summary] == [200, 404, 200]
    assert [s["href"].rsplit("/", 1)[1] for s in summary] == ids
    assert summary[0]["responseDescription"] == "OK"
    assert parts[1]["id"] == int(ids[0]) and parts[3]["id"] == int(ids[2])
    assert parts[2]["errorCode"] == "CMN-102"


def test_batch_limit_cmn_106(emu, token):
    ids = ",".join(str(400000000004 + 1000 * k) for k in range(51))
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        r = emu.api(method, emu.store("~", "/" + ids), token,
                    body={"readStatus": "Read"} if method in ("PUT", "PATCH") else None)
        assert r.status == 400, method
        assert r.json()["errorCode"] == "CMN-106"
    ok = ",".join(str(400000000004 + 1000 * k) for k in range(50))
    assert emu.api("GET", emu.store("~", "/" + ok), token,
                   headers={"Accept": MULTIPART_JSON}).status == 207


# ------------------------------------------------------------------ updates
def test_put_and_patch_read_status(emu, token):
    mid = str(emu.add("101", "Fax")["id"])
    before = emu.truth(mid)["record"]
    r = emu.api("PUT", emu.store("~", "/" + mid), token, {"readStatus": "Read"})
    assert r.status == 200
    rec = r.json()
    assert rec["readStatus"] == "Read"
    assert ts(rec["lastModifiedTime"]) > ts(before["lastModifiedTime"])
    assert rec == emu.truth(mid)["record"]
    assert r.header("X-Rate-Limit-Group") == "Medium"
    r = emu.api("PATCH", emu.store("~", "/" + mid), token, {"readStatus": "Unread"})
    assert r.status == 200 and r.json()["readStatus"] == "Unread"
    assert ts(r.json()["lastModifiedTime"]) > ts(rec["lastModifiedTime"])
    r = emu.api("PUT", emu.store("~", "/" + mid), token, {"readStatus": "Seen"})
    assert r.status == 400 and r.json()["errors"][0]["parameterName"] == "readStatus"
    r = emu.api("PUT", emu.store("~", "/" + mid), token, b"{not json",
                {"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["errorCode"] == "CMN-103"
    r = emu.api("PUT", emu.store("~", "/111"), token, {"readStatus": "Read"})
    assert r.status == 404
    r = emu.api("PUT", emu.store("~", "/" + mid), token, b'{"readStatus": "Read"}',
                {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415, "libcurl's default POSTFIELDS type is refused"


def test_batch_put_multipart_mixed_and_json(emu, token):
    a = str(emu.add("101", "SMS")["id"])
    b = str(emu.add("101", "Pager")["id"])
    boundary = "Boundary_28_61155598_1537368499123"
    part = "--%s\r\nContent-Type: application/json\r\n\r\n{\"readStatus\": \"Read\"}\r\n" % boundary
    body = (part * 3 + "--%s--\r\n" % boundary).encode()
    r = emu.api("PUT", emu.store("~", "/%s,%s,111" % (a, b)), token, body,
                {"Content-Type": "multipart/mixed; boundary=" + boundary})
    assert r.status == 207, r
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + r.header("Content-Type").encode() + b"\r\n\r\n" + r.body)
    parts = [json.loads(p.get_payload(decode=True)) for p in msg.iter_parts()]
    assert [s["status"] for s in parts[0]["response"]] == [200, 200, 404]
    assert parts[1]["readStatus"] == "Read" and parts[2]["readStatus"] == "Read"
    assert emu.truth(a)["record"]["readStatus"] == "Read"
    # the vnd.ringcentral.multipart+json form
    r = emu.api("PUT", emu.store("~", "/%s,%s" % (a, b)), token,
                json.dumps([{"body": {"readStatus": "Unread"}},
                            {"body": {"readStatus": "Unread"}}]).encode(),
                {"Content-Type": MULTIPART_JSON})
    assert r.status == 207 and r.header("Content-Type") == MULTIPART_JSON
    assert [(i["resourceId"], i["status"], i["body"]["readStatus"]) for i in r.json()] == \
        [(a, 200, "Unread"), (b, 200, "Unread")]
    # one body per id, no less
    r = emu.api("PUT", emu.store("~", "/%s,%s" % (a, b)), token,
                json.dumps([{"body": {"readStatus": "Read"}}]).encode(),
                {"Content-Type": MULTIPART_JSON})
    assert r.status == 400


def test_delete_twice_purges_and_restore(emu, token):
    mid = str(emu.add("101", "Fax", readStatus="Read")["id"])
    url = emu.store("~", "/" + mid)
    r = emu.api("DELETE", url, token)
    assert r.status == 204 and r.body == b""
    t = emu.truth(mid)
    assert t["availability"] == "Deleted" and t["record"]["attachments"]
    content = emu.api("GET", t["record"]["attachments"][0]["uri"], token)
    assert content.status == 200 and content.body.startswith(b"%PDF")
    r = emu.api("PATCH", url, token, {"availability": "Alive"})
    assert r.status == 200 and r.json()["availability"] == "Alive"
    assert emu.truth(mid)["availability"] == "Alive"
    assert emu.api("DELETE", url, token).status == 204
    assert emu.api("DELETE", url, token).status == 204
    t = emu.truth(mid)
    assert t["availability"] == "Purged" and "attachments" not in t["record"]
    assert emu.api("GET", content_uri(emu, mid), token, headers={}).status == 404
    r = emu.api("PATCH", url, token, {"availability": "Alive"})
    assert r.status == 404 and r.json()["errorCode"] == "CMN-102"
    assert emu.truth(mid)["availability"] == "Purged"
    assert emu.api("DELETE", url, token).status == 404
    r = emu.api("GET", emu.store("~", "?availability=Purged&dateFrom=2000-01-01"), token)
    assert mid in [str(x["id"]) for x in r.json()["records"]]
    assert mid in [m["id"] for m in emu.control("GET", "/control/extensions/101/messages")
                   if m["availability"] == "Purged"]


def content_uri(emu, mid):
    return "%s/restapi/v1.0/account/~/extension/~/message-store/%s/content/%s" % (
        emu.media, mid, mid)


def test_delete_purge_true_and_bulk(emu, token):
    a = str(emu.add("101", "SMS")["id"])
    r = emu.api("DELETE", emu.store("~", "/%s?purge=true" % a), token)
    assert r.status == 204 and emu.truth(a)["availability"] == "Purged"
    r = emu.api("DELETE", emu.store("~", "/%s?purge=maybe" % a), token)
    assert r.status == 400 and r.json()["errors"][0]["parameterName"] == "purge"
    b, c = str(emu.add("101", "SMS")["id"]), str(emu.add("101", "Text")["id"])
    r = emu.api("DELETE", emu.store("~", "/%s,%s" % (b, c)), token)
    assert r.status == 204
    assert emu.truth(b)["availability"] == emu.truth(c)["availability"] == "Deleted"
    d = str(emu.add("101", "SMS")["id"])
    r = emu.api("DELETE", emu.store("~", "/%s,111" % d), token, headers={"Accept": MULTIPART_JSON})
    assert r.status == 207
    items = r.json()
    assert items[0] == {"resourceId": d, "status": 204}
    assert items[1]["resourceId"] == "111" and items[1]["status"] == 404
    assert items[1]["body"]["errorCode"] == "CMN-102"
    assert emu.truth(d)["availability"] == "Deleted"


def test_delete_conversation(emu, token):
    rec = emu.add("102", "SMS", **{"from": "+16505559999"})
    conv = rec["conversation"]["id"]
    r = emu.api("DELETE", emu.store(emu.ext_id(1), "?conversationId=" + conv), token)
    assert r.status == 204
    assert emu.truth(rec["id"])["availability"] == "Deleted"
    r = emu.api("DELETE", emu.store(emu.ext_id(1), "?conversationId=%s&type=SMS" % conv), token)
    assert r.status == 400 and r.json()["errorCode"] == "MSG-390"


def test_last_modified_strictly_increases(emu, token):
    ids = [str(emu.add("102", "Pager")["id"]) for _ in range(3)]
    stamps = []
    for mid in ids:
        r = emu.api("PUT", emu.store(emu.ext_id(1), "/" + mid), token, {"readStatus": "Read"})
        stamps.append(r.json()["lastModifiedTime"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


# ---------------------------------------------------------------------- sync
def sync(emu, token, query, ext="~"):
    return emu.api("GET", "/restapi/v1.0/account/~/extension/%s/message-sync?%s" % (ext, query),
                   token)


def test_fsync_record_count_and_older_records(emu, token):
    r = sync(emu, token, "syncType=FSync&dateFrom=2000-01-01T00:00:00Z&recordCount=5")
    assert r.status == 200
    d = r.json()
    assert len(d["records"]) == 5
    info = d["syncInfo"]
    assert info["syncType"] == "FSync" and info["olderRecordsExist"] is True
    assert ISO_MS.match(info["syncTime"]) and info["syncToken"]
    times = [x["creationTime"] for x in d["records"]]
    assert times == sorted(times, reverse=True)
    assert all(x["availability"] == "Alive" for x in d["records"])
    r = sync(emu, token, "syncType=FSync&dateFrom=2000-01-01T00:00:00Z&recordCount=1000")
    d = r.json()
    assert d["syncInfo"]["olderRecordsExist"] is False and len(d["records"]) <= 250
    r = sync(emu, token, "syncType=FSync&messageType=Fax&dateFrom=2000-01-01T00:00:00Z")
    assert {x["type"] for x in r.json()["records"]} == {"Fax"}
    r = sync(emu, token, "syncType=FSync")
    assert all(time.time() - ts(x["creationTime"]) < DAY + 5 for x in r.json()["records"])
    assert sync(emu, token, "syncType=Nope").status == 400
    assert sync(emu, token, "syncType=FSync&recordCount=0").status == 400


def test_isync_changes_tombstones_and_overlap(emu, token):
    ext = emu.ext_id(1)
    r = sync(emu, token, "syncType=FSync&dateFrom=2000-01-01T00:00:00Z", ext)
    tok = r.json()["syncInfo"]["syncToken"]
    time.sleep(0.01)
    changed = emu.add("102", "SMS", subject="isync new")
    old = next(m["id"] for m in emu.control("GET", "/control/extensions/102/messages")
               if m["availability"] == "Alive" and m["type"] == "VoiceMail")
    emu.control("POST", "/control/messages/%s" % old, {"readStatus": "Unread"})
    gone = str(emu.add("102", "Fax")["id"])
    emu.api("DELETE", emu.store(ext, "/" + gone), token)
    purged = str(emu.add("102", "Pager")["id"])
    emu.control("POST", "/control/messages/%s" % purged, {"availability": "Purged"})
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok, ext)
    assert r.status == 200
    d = r.json()
    assert d["syncInfo"]["syncType"] == "ISync" and d["syncInfo"]["syncToken"] != tok
    by_id = {str(x["id"]): x for x in d["records"]}
    assert by_id[str(changed["id"])] == emu.truth(changed["id"])["record"]
    assert by_id[old]["readStatus"] == "Unread" and "attachments" in by_id[old]
    assert by_id[gone] == {"id": int(gone), "availability": "Deleted"}
    assert by_id[purged] == {"id": int(purged), "availability": "Purged"}
    # the next ISync repeats what changed in the 5 seconds before its token
    tok2 = d["syncInfo"]["syncToken"]
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok2, ext)
    again = {str(x["id"]) for x in r.json()["records"]}
    assert {old, gone, purged, str(changed["id"])} <= again
    # ... but not what changed more than 5 seconds before it
    tok3 = r.json()["syncInfo"]["syncToken"]
    time.sleep(5.3)
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok3, ext)
    assert {old, gone, purged} <= {str(x["id"]) for x in r.json()["records"]}
    tok4 = r.json()["syncInfo"]["syncToken"]
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok4, ext)
    assert r.json()["records"] == []
    # a change outside the frame's types is not reported
    r = sync(emu, token, "syncType=FSync&messageType=Fax&dateFrom=2000-01-01T00:00:00Z", ext)
    ftok = r.json()["syncInfo"]["syncToken"]
    sms = emu.add("102", "SMS")
    fax = emu.add("102", "Fax")
    got = {x["id"] for x in sync(emu, token, "syncType=ISync&syncToken=" + ftok, ext).json()["records"]}
    assert fax["id"] in got and sms["id"] not in got


def test_sync_token_errors(emu, token):
    r = sync(emu, token, "syncType=FSync")
    tok = r.json()["syncInfo"]["syncToken"]
    assert sync(emu, token, "syncType=ISync&syncToken=" + tok).status == 200
    bad = [tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB"), "garbage", "AQEAAAAAAwAAAVEa8k3Q"]
    for t in bad:
        r = sync(emu, token, "syncType=ISync&syncToken=" + t)
        assert r.status == 400 and r.json()["errorCode"] == "MSG-333"
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok, emu.ext_id(1))
    assert r.status == 400 and r.json()["errorCode"] == "MSG-333"
    r = sync(emu, token, "syncType=ISync")
    assert r.status == 400
    emu.control("POST", "/control/sync/invalidate")
    r = sync(emu, token, "syncType=ISync&syncToken=" + tok)
    assert r.status == 400 and r.json()["errorCode"] == "MSG-333"
    fresh = sync(emu, token, "syncType=FSync").json()["syncInfo"]["syncToken"]
    assert sync(emu, token, "syncType=ISync&syncToken=" + fresh).status == 200


# ------------------------------------------------------------------- content
def fetch(emu, token, att, headers=None, method="GET"):
    return emu.api(method, att["uri"], token, headers=headers)


def test_content_only_on_media(emu, token, catalog):
    rec = emu.truth(catalog["101"]["unread_fax"])["record"]
    att = rec["attachments"][0]
    assert att["uri"].startswith(emu.media)
    emu.control("POST", "/control/counts/reset")
    wrong = emu.api("GET", att["uri"].replace(emu.media, emu.server), token)
    assert wrong.status == 404 and wrong.json()["errorCode"] == "CMN-102"
    assert emu.control("GET", "/control/counts")["routes"] == {"platform_content": 1}
    r = emu.api("GET", emu.media + "/restapi/v1.0/account/~/extension/~/message-store", token)
    assert r.status == 404
    r = fetch(emu, token, att)
    assert r.status == 200 and r.header("X-Rate-Limit-Group") == "Medium"


def test_outbound_fax_pdf_has_a_text_layer(emu, token, catalog):
    """Outbound faxes are made from documents: their PDFs keep grep-able text."""
    t = emu.truth(catalog["101"]["fax_two_sources"])
    for att in attachment(t["record"], "RenderedDocument") + \
            [a for a in attachment(t["record"], "SourceDocument")
             if a["contentType"] == "application/pdf"]:
        r = fetch(emu, token, att)
        assert r.status == 200
        assert r.header("Content-Type") == "application/pdf" == att["contentType"]
        assert int(r.header("Content-Length")) == len(r.body)
        assert r.body.startswith(b"%PDF-1.4") and r.body.rstrip().endswith(b"%%EOF")
        assert t["unique_word"].encode() in r.body
        for word in t["content_words"]:
            assert word.encode() in r.body
        assert r.body.count(b"/Type /Page ") == t["record"]["faxPageCount"]
        assert b" Tj" in r.body and b"/Subtype /Image" not in r.body


def test_inbound_pdf_fax_is_image_only(emu, token, catalog):
    """Received faxes are scans: one G4 image a page at 204 dpi across, no text."""
    t = emu.truth(catalog["101"]["unread_fax"])
    rec = t["record"]
    assert rec["direction"] == "Inbound"
    att = attachment(rec, "RenderedDocument")[0]
    r = fetch(emu, token, att)
    assert r.status == 200 and r.header("Content-Type") == "application/pdf"
    body = r.body
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    pages = rec["faxPageCount"]
    rows = 2200 if rec["faxResolution"] == "High" else 1100
    assert body.count(b"/Type /Page ") == pages
    assert body.count(b"/Filter /CCITTFaxDecode") == pages
    assert body.count(b"/DecodeParms << /K -1 /Columns 1728 /Rows %d " % rows) == pages
    assert body.count(b"/Width 1728 /Height %d " % rows) == pages
    assert body.count(b"/MediaBox [0 0 609.88 808.16]") == pages   # 8.47 x 11.22 inches
    assert b"BT" not in body and b"Tj" not in body and b"/Font" not in body
    for word in t["content_words"]:
        assert word.encode() not in body
    # xref offsets point at their objects
    xref = int(body.rsplit(b"startxref\n", 1)[1].split()[0])
    entries = body[xref:].split(b"\n")[3:3 + body.count(b" 0 obj\n")]
    for num, entry in enumerate(entries, 1):
        off = int(entry.split()[0])
        assert body[off:].startswith(b"%d 0 obj\n" % num)
    assert body == emu.control("GET", "/control/messages/%s/content/%s" % (
        rec["id"], att["id"]), raw=True).body


def tiff_pages(body):
    """[{tag: value}] of a little-endian TIFF's IFD chain (single values only)."""
    assert body[:4] == b"II*\x00"
    out = []
    ifd = struct.unpack_from("<I", body, 4)[0]
    while ifd:
        n = struct.unpack_from("<H", body, ifd)[0]
        tags = {}
        for k in range(n):
            tag, typ, count = struct.unpack_from("<HHI", body, ifd + 2 + 12 * k)
            if typ == 3:
                tags[tag] = struct.unpack_from("<HH", body, ifd + 2 + 12 * k + 8)
                tags[tag] = tags[tag][0] if count == 1 else tags[tag]
            elif typ == 4:
                tags[tag] = struct.unpack_from("<I", body, ifd + 2 + 12 * k + 8)[0]
            elif typ == 5:
                off = struct.unpack_from("<I", body, ifd + 2 + 12 * k + 8)[0]
                tags[tag] = struct.unpack_from("<II", body, off)
        out.append(tags)
        ifd = struct.unpack_from("<I", body, ifd + 2 + 12 * n)[0]
    return out


def test_g4_tiff_fax_structure(emu, token, catalog):
    for ext in ("101", "102"):
        rec = emu.truth(catalog[ext]["tiff_fax"])["record"]
        r = fetch(emu, token, rec["attachments"][0])
        assert r.header("Content-Type") == "image/tiff"
        pages = tiff_pages(r.body)
        assert len(pages) == rec["faxPageCount"]
        high = rec["faxResolution"] == "High"
        for i, tags in enumerate(pages):
            assert tags[256] == 1728 and tags[257] == (2200 if high else 1100)
            assert tags[259] == 4 and tags[262] == 0 and tags[258] == 1  # G4, WhiteIsZero
            assert tags[282] == (204, 1) and tags[283] == ((196 if high else 98), 1)
            assert tags[297] == (i, len(pages))
            assert tags[273] + tags[279] <= len(r.body)
            strip = r.body[tags[273]:tags[273] + tags[279]]
            tail = bin(int.from_bytes(strip[-5:], "big")).rstrip("0")
            assert tail.endswith("000000000001" * 2)   # EOFB, then zero padding
            assert 1000 < len(strip) < 60000   # text on a page, not a blank or a raw bitmap


def test_fax_pages_deterministic_text_skew_and_noise():
    import emu_faxpage
    lines = ["FAX", "Regarding: invoice contract", "Reference: ref400000001004"]
    a = emu_faxpage.draw_page(lines, "1:400000001004:0")
    assert a == emu_faxpage.draw_page(lines, "1:400000001004:0")
    b = emu_faxpage.draw_page(lines, "2:400000001004:0")
    assert a != b
    assert len(a) == emu_faxpage.HIGH_ROWS and all(r >> emu_faxpage.WIDTH == 0 for r in a)
    low = emu_faxpage.draw_page(lines, "1:400000001004:0", high=False)
    assert low == a[::2]
    inked = [y for y, r in enumerate(a) if bin(r).count("1") > 10]
    assert 60 < len(inked) < 400 and inked[0] >= emu_faxpage.TOP - 20
    # specks: isolated black pixels far from the text
    assert sum(1 for r in a[inked[-1] + 100:] if r) >= 20
    # skew: a line's ink starts on different rows at its two ends
    for key in ("3:1:0", "4:1:0", "5:1:0"):
        c = emu_faxpage.draw_page(["M" * 60], key)
        tops = []
        for cols in ((emu_faxpage.LEFT + 30, emu_faxpage.LEFT + 90), (1200, 1260)):
            mask = ((1 << 60) - 1) << (emu_faxpage.WIDTH - cols[1])
            tops.append(next(y for y, r in enumerate(c) if bin(r & mask).count("1") > 8))
        if tops[0] != tops[1]:
            break
    else:
        pytest.fail("no skew in three pages")


def test_g4_known_codes():
    import emu_g4
    # One white row: V0.  Then one black pixel at column 0 under a white
    # row: horizontal mode, white run 0, black run 1, then V0 to the end.
    bits = "1" + "001" + "00110101" + "010" + "1" + "000000000001" * 2
    bits += "0" * (-len(bits) % 8)
    want = int(bits, 2).to_bytes(len(bits) // 8, "big")
    assert emu_g4.g4_encode([0, 1 << 1727], 1728) == want
    # A black row (horizontal: white 0, black 1728 = make-up 1728 + 0), then
    # the same row again: V0 for the change at 0, V0 for the end.
    bits = "001" + "00110101" + "0000001100101" + "0000110111" + "1" * 2
    bits += "000000000001" * 2
    bits += "0" * (-len(bits) % 8)
    full = (1 << 1728) - 1
    assert emu_g4.g4_encode([full, full], 1728) == int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_binary_content_is_valid(emu, token, catalog):
    roles = catalog["101"]
    tiff = emu.truth(roles["tiff_fax"])["record"]
    r = fetch(emu, token, tiff["attachments"][0])
    assert r.header("Content-Type") == "image/tiff" and r.body[:4] == b"II*\x00"
    assert len(tiff_pages(r.body)) == tiff["faxPageCount"]

    vm = emu.truth(roles["wav_transcribed"])["record"]
    audio = attachment(vm, "AudioRecording")[0]
    r = fetch(emu, token, audio)
    assert r.header("Content-Type") == "audio/x-wav"
    assert r.body[:4] == b"RIFF" and r.body[8:12] == b"WAVE"
    assert struct.unpack_from("<I", r.body, 4)[0] == len(r.body) - 8
    channels, rate, bits = (struct.unpack_from("<H", r.body, 22)[0],
                            struct.unpack_from("<I", r.body, 24)[0],
                            struct.unpack_from("<H", r.body, 34)[0])
    assert (channels, rate, bits) == (1, 8000, 8)
    pos = r.body.index(b"data")
    assert struct.unpack_from("<I", r.body, pos + 4)[0] == 8000 * audio["vmDuration"]
    text = fetch(emu, token, attachment(vm, "AudioTranscription")[0])
    assert text.header("Content-Type") == "text/plain" and text.body.decode("utf-8")

    mp3 = attachment(emu.truth(roles["mp3_voicemail"])["record"], "AudioRecording")[0]
    r = fetch(emu, token, mp3)
    assert r.header("Content-Type") == "audio/mpeg"
    assert r.body[:3] == b"ID3"
    tag = 10 + ((r.body[6] << 21) | (r.body[7] << 14) | (r.body[8] << 7) | r.body[9])
    assert r.body[tag] == 0xFF and r.body[tag + 1] & 0xE0 == 0xE0

    magic = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff",
             "image/gif": b"GIF89a"}
    seen = set()
    for role in ("mms_hostile_a", "mms_hostile_b"):
        rec = emu.truth(roles[role])["record"]
        txt = fetch(emu, token, attachment(rec, "Text")[0])
        assert txt.body == rec["subject"].encode("utf-8")
        assert int(txt.header("Content-Length")) == attachment(rec, "Text")[0]["size"]
        for att in attachment(rec, "MmsAttachment"):
            r = fetch(emu, token, att)
            assert r.header("Content-Type") == att["contentType"]
            assert r.body.startswith(magic[att["contentType"]])
            assert len(r.body) == att["size"] == int(r.header("Content-Length"))
            if att["contentType"] == "image/png":
                assert struct.unpack(">II", r.body[16:24]) == (att["width"], att["height"])
            if att["contentType"] == "image/gif":
                assert struct.unpack("<HH", r.body[6:10]) == (att["width"], att["height"])
                assert r.body.endswith(b"\x3b")
            if att["contentType"] == "image/jpeg":
                assert r.body.endswith(b"\xff\xd9")
                sof = r.body.index(b"\xff\xc0")
                assert struct.unpack(">HH", r.body[sof + 5:sof + 9]) == (att["height"], att["width"])
            seen.add(att["contentType"])
    assert seen == set(magic)
    fax = emu.truth(roles["fax_two_sources"])["record"]
    src = attachment(fax, "SourceDocument")
    assert [fetch(emu, token, a).header("Content-Type") for a in src] == \
        [a["contentType"] for a in src]
    sms = emu.truth(roles["unread_sms"])["record"]
    assert fetch(emu, token, sms["attachments"][0]).body.decode() == sms["subject"]


def test_range_requests(emu, token, catalog):
    att = emu.truth(catalog["101"]["unread_fax"])["record"]["attachments"][0]
    full = fetch(emu, token, att).body
    size = len(full)
    r = fetch(emu, token, att, {"Range": "bytes=0-9"})
    assert r.status == 206 and r.body == full[:10]
    assert r.header("Content-Range") == "bytes 0-9/%d" % size
    assert r.header("Content-Length") == "10"
    assert r.header("Content-Type") == "application/pdf"
    r = fetch(emu, token, att, {"Range": "bytes=0-0"})
    assert r.status == 206 and r.body == full[:1]
    r = fetch(emu, token, att, {"Range": "bytes=%d-" % (size - 5)})
    assert r.status == 206 and r.body == full[-5:]
    r = fetch(emu, token, att, {"Range": "bytes=-7"})
    assert r.status == 206 and r.body == full[-7:]
    r = fetch(emu, token, att, {"Range": "bytes=%d-%d" % (size - 3, size + 100)})
    assert r.status == 206 and r.body == full[-3:]
    r = fetch(emu, token, att, {"Range": "bytes=%d-" % size})
    assert r.status == 416 and r.json()["errorCode"] == "CMN-107"
    assert r.header("Content-Range") == "bytes */%d" % size
    r = fetch(emu, token, att, method="HEAD")
    assert r.status == 200 and r.body == b"" and int(r.header("Content-Length")) == size
    r = emu.api("GET", att["uri"] + "?contentDisposition=Attachment", token)
    assert r.header("Content-Disposition") == "attachment;filename=%d.pdf" % att["id"]
    r = emu.api("GET", att["uri"].rsplit("/", 1)[0] + "/1", token)
    assert r.status == 404 and r.json()["errorCode"] == "CMN-102"


# --------------------------------------------------------------- rate limits
def test_rate_limit_headers_when_off(emu, token):
    r = emu.api("GET", emu.store(), token)
    assert r.header("X-Rate-Limit-Group") == "Light"
    assert r.header("X-Rate-Limit-Limit") == "1000000"
    assert r.header("X-Rate-Limit-Window") == "60"
    assert int(r.header("X-Rate-Limit-Remaining")) > 0
    r = emu.token_request({"grant_type": "nope"})
    assert r.header("X-Rate-Limit-Group") == "Auth"


def test_rate_limits_and_penalty(tmp_path):
    with Emu(tmp_path, "--messages", 40, "--extensions", 1, "--rate-limits",
             '{"Light": 3, "Auth": 5}', "--rate-window", 2) as e:
        tok = e.login()["access_token"]
        for k in range(3):
            r = e.api("GET", e.store(), tok)
            assert r.status == 200
            assert r.header("X-Rate-Limit-Limit") == "3"
            assert r.header("X-Rate-Limit-Remaining") == str(2 - k)
            assert r.header("X-Rate-Limit-Window") == "2"
        t0 = time.monotonic()
        r = e.api("GET", e.store(), tok)
        assert r.status == 429
        assert r.json()["errorCode"] == "CMN-301"
        assert r.header("Retry-After") == "2"
        assert r.header("X-Rate-Limit-Group") == "Light"
        assert r.header("X-Rate-Limit-Remaining") == "0"
        # other groups are not affected
        mid = e.control("GET", "/control/extensions/101/messages")[0]["id"]
        assert e.api("PUT", e.store("~", "/" + mid), tok, {"readStatus": "Read"}).status == 200
        time.sleep(max(0, t0 + 1.2 - time.monotonic()))
        assert e.api("GET", e.store(), tok).status == 429      # restarts the penalty
        time.sleep(max(0, t0 + 2.5 - time.monotonic()))
        assert e.api("GET", e.store(), tok).status == 429      # would be free without restart
        time.sleep(2.2)
        r = e.api("GET", e.store(), tok)
        assert r.status == 200, "the penalty is over"
        counts = e.control("GET", "/control/counts")
        assert counts["rate_limited"] == {"Light": 3}
        assert counts["status"]["429"] == 3
        e.control("POST", "/control/config", {"rate_limits": None})
        for _ in range(6):
            assert e.api("GET", e.store(), tok).status == 200
        cfg = e.control("POST", "/control/config", {"rate_limits": {"Medium": 1},
                                                    "rate_window": 3})
        assert cfg["penalty"] == 3, "without --penalty the penalty follows the window"
        assert e.api("PUT", e.store("~", "/" + mid), tok, {"readStatus": "Read"}).status == 200
        r = e.api("PUT", e.store("~", "/" + mid), tok, {"readStatus": "Read"})
        assert r.status == 429 and r.header("Retry-After") == "3"
        assert e.control("POST", "/control/config", {"rate_limits": "x"}, raw=True).status == 400


# -------------------------------------------------------------------- faults
def raw_http(url, method="GET", token=None, body=None):
    """http.client request that lets connection errors propagate."""
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
    r = conn.getresponse()
    return r, r.read()


@pytest.fixture
def faults(emu):
    yield emu
    emu.control("POST", "/control/faults", {})


def test_fault_status_does_not_act(faults, token):
    emu = faults
    mid = str(emu.add("101", "SMS")["id"])
    emu.control("POST", "/control/faults",
                {"script": [{"route": "delete", "action": "status", "status": 503, "count": 1}]})
    r = emu.api("DELETE", emu.store("~", "/" + mid), token)
    assert r.status == 503 and r.json()["errorCode"] == "CMN-203"
    assert r.header("X-Rate-Limit-Group") == "Medium"
    assert emu.truth(mid)["availability"] == "Alive"
    assert emu.api("DELETE", emu.store("~", "/" + mid), token).status == 204
    assert emu.control("GET", "/control/faults")["script"][0]["count"] == 0


def test_fault_reset_and_reset_after(faults, token):
    emu = faults
    mid = str(emu.add("101", "SMS")["id"])
    emu.control("POST", "/control/faults",
                {"script": [{"route": "put", "action": "reset", "count": 1}]})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        raw_http(emu.store("~", "/" + mid), "PUT", token, {"readStatus": "Read"})
    assert emu.truth(mid)["record"]["readStatus"] == "Unread"
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        emu.control("POST", "/control/faults",
                    {"script": [{"route": "get", "action": "reset", "count": 1}]})
        req = urllib.request.Request(emu.store("~", "/" + mid),
                                     headers={"Authorization": "Bearer " + token})
        urllib.request.urlopen(req, timeout=10)
    emu.control("POST", "/control/faults",
                {"script": [{"route": "put", "action": "reset_after", "count": 1}]})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        raw_http(emu.store("~", "/" + mid), "PUT", token, {"readStatus": "Read"})
    assert emu.truth(mid)["record"]["readStatus"] == "Read"
    assert emu.control("GET", "/control/counts")["faults"].get("reset_after", 0) >= 1


def test_fault_truncate_delay_malformed_and_json_error(faults, token, catalog):
    emu = faults
    att = emu.truth(catalog["101"]["unread_fax"])["record"]["attachments"][0]
    emu.control("POST", "/control/faults",
                {"script": [{"route": "content", "action": "truncate", "count": 1}]})
    with pytest.raises(http.client.IncompleteRead):
        raw_http(att["uri"], token=token)
    emu.control("POST", "/control/faults",
                {"script": [{"route": "list", "action": "delay", "ms": 400, "count": 1}]})
    t0 = time.monotonic()
    assert emu.api("GET", emu.store(), token).status == 200
    assert time.monotonic() - t0 >= 0.4
    emu.control("POST", "/control/faults",
                {"script": [{"route": "list", "action": "malformed_json", "count": 1}]})
    r = emu.api("GET", emu.store(), token)
    assert r.status == 200 and r.header("Content-Type").startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(r.body)
    emu.control("POST", "/control/faults",
                {"script": [{"route": "content", "action": "json_error_200", "count": 1}]})
    r = fetch(emu, token, att)
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    assert r.json()["errorCode"] == "CMN-301"
    assert int(r.header("Content-Length")) == len(r.body) < 200
    assert fetch(emu, token, att).body.startswith(b"%PDF")


def test_fault_truncate_no_length(faults, token, catalog):
    """Half the body, no Content-Length, no chunked encoding, then close: on
    the wire it looks like a complete shorter body."""
    emu = faults
    att = emu.truth(catalog["101"]["unread_voicemail"])["record"]["attachments"][0]
    whole = fetch(emu, token, att).body
    emu.control("POST", "/control/faults",
                {"script": [{"route": "content", "action": "truncate_no_length", "count": 1}]})
    u = urllib.parse.urlsplit(att["uri"])
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                      % (u.path, u.netloc, token)).encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the server closed: the only end this answer has
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 200")
    names = {l.split(":", 1)[0].strip().lower() for l in lines[1:]}
    assert "content-length" not in names and "transfer-encoding" not in names
    assert "content-type" in names and "x-rate-limit-group" in names
    assert body == whole[:len(whole) // 2] and 0 < len(body) < len(whole)
    assert emu.control("GET", "/control/counts")["faults"].get("truncate_no_length") == 1
    # used up: the next answer is whole and framed again
    r = fetch(emu, token, att)
    assert r.body == whole and int(r.header("Content-Length")) == len(whole)
    # a script action only: no rate draws it, and an unknown rate is refused
    r = emu.control("POST", "/control/faults", {"truncate_no_length_rate": 1.0}, raw=True)
    assert r.status == 400


def test_fault_rates_are_seeded_and_route_filtered(faults, token):
    emu = faults
    emu.control("POST", "/control/faults", {"error_rate": 1.0, "error_status": 500,
                                            "routes": ["list"]})
    assert emu.api("GET", emu.store(), token).status == 500
    assert emu.api("GET", "/restapi/v1.0/account/~/extension/~", token).status == 200

    def run():
        emu.control("POST", "/control/faults", {"error_rate": 0.5, "seed": 42})
        return [emu.api("GET", emu.store(), token).status for _ in range(12)]

    first = run()
    assert set(first) == {200, 503}
    assert run() == first
    r = emu.control("POST", "/control/faults", {"reset_rate": 3}, raw=True)
    assert r.status == 400
    r = emu.control("POST", "/control/faults", {"script": [{"action": "explode"}]}, raw=True)
    assert r.status == 400
    emu.control("POST", "/control/faults", {"json_error_content_rate": 1.0})
    assert emu.api("GET", emu.store(), token).status == 200   # only content is affected


def test_fault_rates_for_every_action(faults, token, catalog):
    emu = faults
    att = emu.truth(catalog["101"]["unread_fax"])["record"]["attachments"][0]
    emu.control("POST", "/control/faults", {"reset_rate": 1.0, "routes": ["get"]})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        raw_http(emu.store("~", "/" + catalog["101"]["unread_fax"]), token=token)
    emu.control("POST", "/control/faults", {"truncate_rate": 1.0, "routes": ["content"]})
    with pytest.raises(http.client.IncompleteRead):
        raw_http(att["uri"], token=token)
    emu.control("POST", "/control/faults", {"malformed_json_rate": 1.0, "routes": ["list"]})
    r = emu.api("GET", emu.store(), token)
    assert r.status == 200
    with pytest.raises(ValueError):
        json.loads(r.body)
    emu.control("POST", "/control/faults", {"json_error_content_rate": 1.0})
    r = fetch(emu, token, att)
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    emu.control("POST", "/control/faults", {"delay_ms": 300, "routes": ["extension_get"]})
    t0 = time.monotonic()
    assert emu.api("GET", "/restapi/v1.0/account/~/extension/~", token).status == 200
    assert time.monotonic() - t0 >= 0.3
    counts = emu.control("GET", "/control/counts")["faults"]
    assert {"reset", "truncate", "malformed_json", "json_error_200"} <= set(counts)


# --------------------------------------------------------------- counts/control
def test_counts_by_route_message_attachment_status(emu, token, catalog):
    mid = catalog["101"]["wav_transcribed"]
    rec = emu.truth(mid)["record"]
    emu.control("POST", "/control/counts/reset")
    assert emu.control("GET", "/control/counts")["total"] == 0
    emu.api("GET", emu.store(), token)
    emu.api("GET", emu.store("~", "/" + mid), token)
    emu.api("GET", emu.store("~", "/%s,111" % mid), token)
    emu.api("GET", rec["attachments"][0]["uri"], token)
    emu.api("GET", rec["attachments"][0]["uri"], token)
    emu.api("GET", emu.store("~", "/111"), token)
    emu.truth(mid)  # control calls are never counted
    c = emu.control("GET", "/control/counts")
    assert c["total"] == 6
    assert c["routes"] == {"list": 1, "get": 2, "get_batch": 1, "content": 2}
    assert c["messages"][mid] == {"get": 1, "get_batch": 1, "content": 2}
    assert c["attachments"] == {"%s/%s" % (mid, rec["attachments"][0]["id"]): 2}
    assert c["status"] == {"200": 4, "207": 1, "404": 1}


def test_control_add_change_truth(emu, token):
    rec = emu.add("102", "Pager", direction="Outbound", readStatus="Read", subject="ship it 🚀")
    assert rec["type"] == "Pager" and rec["direction"] == "Outbound"
    assert rec["subject"] == "ship it 🚀" and rec["readStatus"] == "Read"
    assert now_ish(rec["creationTime"])
    t = emu.truth(rec["id"])
    assert t["extension_id"] == emu.ext_id(1) and t["availability"] == "Alive"
    assert t["record"] == rec
    changed = emu.control("POST", "/control/messages/%s" % rec["id"],
                          {"readStatus": "Unread", "availability": "Deleted"})
    assert changed["availability"] == "Deleted"
    assert changed["record"]["readStatus"] == "Unread"
    assert changed["record"]["lastModifiedTime"] > rec["lastModifiedTime"]
    assert emu.control("GET", "/control/messages/123", raw=True).status == 404
    assert emu.control("POST", "/control/messages", {"extension": "101", "type": "Email"},
                       raw=True).status == 400
    listed = {m["id"]: m for m in emu.control("GET", "/control/extensions/%s/messages"
                                              % emu.ext_id(1))}
    assert listed[str(rec["id"])] == {"id": str(rec["id"]), "type": "Pager",
                                      "availability": "Deleted", "readStatus": "Unread"}
    cfg = emu.control("POST", "/control/config", {})
    assert cfg["rate_limits"] is None and cfg["extension_list_forbidden"] is False


def test_control_content_query(emu, token):
    rec = emu.add("101", "Fax")
    att = rec["attachments"][0]
    assert "?" not in att["uri"]
    for query in ("contentDisposition=Attachment", None):
        changed = emu.control("POST", "/control/messages/%s" % rec["id"],
                              {"contentQuery": query})["record"]
        uri = changed["attachments"][0]["uri"]
        assert uri == att["uri"] + ("?" + query if query else "")
        assert changed["lastModifiedTime"] > rec["lastModifiedTime"]
        r = emu.api("GET", uri, token)
        want = emu.control("GET", "/control/messages/%s/content/%s" % (rec["id"], att["id"]),
                           raw=True).body
        assert r.status == 200 and r.body == want
        assert (r.header("Content-Disposition") is not None) == (query is not None)
        rec = changed
    assert emu.control("POST", "/control/messages/%s" % rec["id"],
                       {"contentQuery": "x=1"}, raw=True).status == 400


def test_control_replaces_content(emu, token):
    """A hostile document for rcfs's OCR tests: the bytes change, the record does not."""
    rec = emu.add("101", "Fax")
    att = rec["attachments"][0]
    path = "/control/messages/%s/content/%s" % (rec["id"], att["id"])
    before = fetch(emu, token, att).body
    assert before.startswith(b"%PDF") or before.startswith(b"II*")
    bomb = b"II*\x00" + b"\xff" * 60
    r = http_request(emu.info["control_url"] + path, "PUT", bomb, {})
    assert r.status == 200 and r.json() == {"size": len(bomb)}
    got = fetch(emu, token, att)
    assert got.status == 200 and got.body == bomb
    assert got.header("Content-Type") == att["contentType"]
    assert emu.control("GET", path, raw=True).body == bomb
    assert emu.truth(rec["id"])["record"] == rec
    ranged = fetch(emu, token, att, headers={"Range": "bytes=0-3"})
    assert ranged.status == 206 and ranged.body == b"II*\x00"
    missing = http_request(emu.info["control_url"] + path[:-1] + "9", "PUT", b"x", {})
    assert missing.status == 404


def now_ish(iso):
    return abs(time.time() - ts(iso)) < 5


# ---------------------------------------------------------------- robustness
def test_keep_alive_and_http_details(emu, token):
    import urllib.parse
    u = urllib.parse.urlsplit(emu.server)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = {"Authorization": "Bearer " + token}
    sock_ids = set()
    for path in ("/restapi/v1.0/account/~/extension/~/message-store",
                 "/restapi/v1.0/account/~/extension/~",
                 "/restapi/v1.0/account/~/extension/~/message-store/111",
                 "/restapi/v1.0/nothing/here"):
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        body = r.read()
        assert r.getheader("Content-Length") == str(len(body))
        assert r.version == 11
        sock_ids.add(id(conn.sock))
    assert len(sock_ids) == 1, "one connection served them all"
    conn.request("HEAD", "/restapi/v1.0/account/~/extension/~/message-store", headers=h)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"" and int(r.getheader("Content-Length")) > 0
    conn.request("POST", "/restapi/v1.0/account/~/extension/~/message-store/1", body=b"{}",
                 headers=dict(h, **{"Content-Type": "application/json"}))
    r = conn.getresponse()
    r.read()
    assert r.status == 405
    conn.close()
    assert emu.api("GET", "/nothing", token).status == 404


def test_garbage_does_not_kill_the_server(emu, token):
    u = emu.server.rsplit(":", 1)
    for junk in (b"\x00\x01\x02 garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                 b"PUT /restapi/v1.0/account/~/extension/~/message-store/1 HTTP/1.1\r\n"
                 b"Content-Length: nope\r\n\r\n",
                 b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        s = socket.create_connection((u[0][7:], int(u[1])), timeout=5)
        s.sendall(junk)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()
    chunked = http.client.HTTPConnection(u[0][7:], int(u[1]), timeout=5)
    chunked.putrequest("PUT", "/restapi/v1.0/account/~/extension/~/message-store/111")
    chunked.putheader("Authorization", "Bearer " + token)
    chunked.putheader("Transfer-Encoding", "chunked")
    chunked.putheader("Content-Type", "application/json")
    chunked.endheaders()
    chunked.send(b"5\r\n{\"rea\r\n0\r\n\r\n")
    r = chunked.getresponse()
    assert r.status == 400 and json.loads(r.read())["errorCode"] == "CMN-103"
    r = emu.api("PUT", emu.store("~", "/111"), token, b"[1,2", {"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["errorCode"] == "CMN-103"
    assert emu.api("GET", emu.store(), token).status == 200


def test_parallel_clients(emu, token, catalog):
    import threading
    rec = emu.truth(catalog["102"]["wav_transcribed"])["record"]
    want = emu.control("GET", "/control/messages/%s/content/%s" % (
        rec["id"], rec["attachments"][0]["id"]), raw=True).body
    emu.control("POST", "/control/counts/reset")
    errors = []

    def worker():
        try:
            for _ in range(5):
                assert emu.api("GET", emu.store(emu.ext_id(1)), token).status == 200
                assert fetch(emu, token, rec["attachments"][0]).body == want
        except Exception as e:  # collected and re-raised in the test thread
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    c = emu.control("GET", "/control/counts")
    assert c["total"] == 80 and c["routes"] == {"list": 40, "content": 40}


# ------------------------------------------------------------------ big mailbox
def test_hundred_thousand_messages(tmp_path):
    with Emu(tmp_path, "--messages", 100000, "--extensions", 1) as e:
        assert e.started_in < 10
        tok = e.login()["access_token"]
        t0 = time.monotonic()
        r = e.api("GET", e.store("~", "?dateFrom=2000-01-01T00:00:00Z&perPage=1000&page=50"), tok)
        elapsed = time.monotonic() - t0
        d = r.json()
        assert r.status == 200 and len(d["records"]) == 1000
        assert d["paging"]["totalElements"] > 90000 and "nextPage" in d["navigation"]
        assert elapsed < 3, elapsed
        r = e.api("GET", e.store("~", "?dateFrom=2000-01-01T00:00:00Z&perPage=1000"
                                 "&messageType=Fax&readStatus=Unread&page=2"), tok)
        assert all(x["type"] == "Fax" and x["readStatus"] == "Unread" for x in r.json()["records"])
        r = sync(e, tok, "syncType=FSync&dateFrom=2000-01-01T00:00:00Z")
        assert len(r.json()["records"]) == 250 and r.json()["syncInfo"]["olderRecordsExist"]
        with open("/proc/%d/status" % e.proc.pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        assert rss < 300 * 1024, rss


def test_added_messages_from_one_number_are_one_conversation(emu, token):
    """Like the real server: every SMS from a number is one conversation, a new
    number a new one."""
    recs = [emu.add("101", "SMS", **{"from": "+16505550777"}) for _ in range(35)]
    assert len({r["conversation"]["id"] for r in recs}) == 1
    assert all(r["from"]["phoneNumber"] == "+16505550777" for r in recs)
    other = emu.add("101", "SMS", **{"from": "+16505550778"})
    assert other["conversation"]["id"] != recs[0]["conversation"]["id"]
