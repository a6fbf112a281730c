"""The read path (issue 3): the tree, names, meta.json, content, sizes, the
content cache, and what users run over it (grep -r, rsync, find, du, stat,
getfattr).  Every test mounts rcfs for real against the emulator."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402

TYPES = names.FOLDERS


def server_view(emu, ext_id):
    """{id: truth} of every message of an extension, from the control API."""
    out = {}
    for m in emu.messages(ext_id):
        out[m["id"]] = m
    return out


def ext_dir(mount, emu, i=0):
    return mount.p(emu.extensions()[i]["extensionNumber"])


def folder_ids(path):
    return [n.rsplit("_", 1)[1] for n in os.listdir(path)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- the tree

def test_every_message_appears_once_in_its_folder(emu, mount):
    for i, ext in enumerate(emu.extensions()):
        top = ext_dir(mount, emu, i)
        # (no Outbox: it is off by default; test_outbox.py turns it on)
        assert sorted(os.listdir(top)) == sorted(list(TYPES) + ["Deleted", "conversations",
                                                                "Unread"])
        truth = server_view(emu, ext["id"])
        seen = {}
        for folder in list(TYPES) + ["Deleted"]:
            for mid in folder_ids(os.path.join(top, folder)):
                assert mid not in seen, "%s appears in %s and %s" % (mid, seen[mid], folder)
                seen[mid] = folder
        for mid, t in truth.items():
            if t["availability"] == "Alive":
                assert seen.get(mid) == t["type"], mid
            elif t["availability"] == "Deleted":
                assert seen.get(mid) == "Deleted", mid
            else:
                assert mid not in seen
        assert set(seen) == {m for m, t in truth.items() if t["availability"] != "Purged"}


def test_old_messages_and_several_pages(make_emu, make_mount):
    # More than 1000 messages of one type: the listing must follow nextPage,
    # and messages older than 24 hours must be there (explicit dateFrom).
    emu = make_emu(messages=4200, extensions=1)
    m = make_mount(emu).start()
    emu.reset_counts()
    truth = server_view(emu, emu.extensions()[0]["id"])
    top = ext_dir(m, emu)
    total = 0
    for folder in TYPES:
        ids = folder_ids(os.path.join(top, folder))
        want = [i for i, t in truth.items() if t["type"] == folder and t["availability"] == "Alive"]
        assert sorted(ids) == sorted(want)
        total += len(ids)
    biggest = max(sum(1 for t in truth.values() if t["type"] == f) for f in TYPES)
    assert biggest > 1000, "the generated mailbox should need several pages"
    lists = emu.counts()["routes"].get("list", 0)
    # Listing each type: ceil(n/1000) pages per type (the background loader
    # may have listed some before the reset: then fewer).
    assert lists <= sum(-(-sum(1 for t in truth.values() if t["type"] == f) // 1000) for f in TYPES)
    old = [t for t in truth.values() if t["availability"] == "Alive"]
    assert total == len(old)


def test_names_follow_the_contract(emu, mount):
    for i, ext in enumerate(emu.extensions()):
        top = ext_dir(mount, emu, i)
        for folder in list(TYPES) + ["Deleted"]:
            for name in os.listdir(os.path.join(top, folder)):
                mid = name.rsplit("_", 1)[1]
                rec = emu.truth(mid)["record"]
                assert name == names.message_folder(rec)
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}Z_[A-Za-z0-9+.\-]{1,64}_\d+", name)
                files = sorted(os.listdir(os.path.join(top, folder, name)))
                assert files == sorted(["meta.json"] + names.attachment_names(rec))


def test_hostile_file_names_are_sanitised(emu, mount):
    top = ext_dir(mount, emu)
    found = 0
    for name in os.listdir(os.path.join(top, "SMS")):
        rec = emu.truth(name.rsplit("_", 1)[1])["record"]
        fns = [a.get("fileName") for a in rec.get("attachments", []) if a.get("fileName")]
        if not any(f in ("../../etc/passwd", "..", "a/b.png") or "\n" in f or len(f) > 255
                   for f in fns):
            continue
        found += 1
        entries = os.listdir(os.path.join(top, "SMS", name))
        for e in entries:
            assert "/" not in e and "\n" not in e and e not in (".", "..")
            assert not e.startswith(".") and len(e.encode()) <= 255
            assert os.path.isfile(os.path.join(top, "SMS", name, e))
        assert len(entries) == len(set(entries)) == 1 + len(rec["attachments"])
        if "photo.jpg" in fns:
            assert "photo.jpg" in entries and "photo-2.jpg" in entries
        if any(f.startswith("caf") for f in fns):
            assert "café-Ω.png" in entries
    assert found == 2
    # Nothing escaped the mount.
    assert not os.path.exists(os.path.join(top, "etc"))


# ---------------------------------------------------------------- content

def test_meta_json_is_the_server_record(emu, mount):
    top = ext_dir(mount, emu)
    for folder in TYPES:
        for name in os.listdir(os.path.join(top, folder)):
            path = os.path.join(top, folder, name, "meta.json")
            raw = read(path)
            assert raw.endswith(b"}\n")
            assert raw.startswith(b'{\n  "')
            rec = json.loads(raw)
            assert rec == emu.truth(rec["id"])["record"]
            assert os.stat(path).st_size == len(raw)


def test_ids_above_2_53_are_exact(emu, mount):
    top = ext_dir(mount, emu)
    convs = os.listdir(os.path.join(top, "conversations"))
    big = [c for c in convs if int(c.rsplit("_", 1)[1]) > 2 ** 53]
    assert big, convs
    for c in big:
        for link in os.listdir(os.path.join(top, "conversations", c)):
            rec = json.loads(read(os.path.join(top, "conversations", c, link, "meta.json")))
            assert rec["conversation"]["id"] == c.rsplit("_", 1)[1]
            assert rec["id"] > 2 ** 32


def test_every_attachment_reads_exactly(emu, mount):
    top = ext_dir(mount, emu)
    checked = 0
    for folder in list(TYPES) + ["Deleted"]:
        for name in os.listdir(os.path.join(top, folder)):
            d = os.path.join(top, folder, name)
            rec = json.loads(read(os.path.join(d, "meta.json")))
            for a, fname in zip(rec.get("attachments", []), names.attachment_names(rec)):
                data = read(os.path.join(d, fname))
                assert data == emu.content(rec["id"], a["id"]), fname
                st = os.stat(os.path.join(d, fname))
                assert st.st_size == len(data)
                assert st.st_blocks == (len(data) + 511) // 512
                checked += 1
    assert checked > 60


def test_attributes(emu, mount):
    top = ext_dir(mount, emu)
    name = sorted(os.listdir(os.path.join(top, "Fax")))[0]
    d = os.path.join(top, "Fax", name)
    rec = emu.truth(name.rsplit("_", 1)[1])["record"]
    import datetime

    def ms(iso):
        return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    sd = os.stat(d)
    assert stat.S_ISDIR(sd.st_mode) and stat.S_IMODE(sd.st_mode) == 0o700
    assert abs(sd.st_mtime - ms(rec["creationTime"])) < 0.002
    sm = os.stat(os.path.join(d, "meta.json"))
    assert stat.S_IMODE(sm.st_mode) == 0o600 and sm.st_uid == os.getuid()
    assert abs(sm.st_mtime - ms(rec["lastModifiedTime"])) < 0.002
    for f in os.listdir(d):
        if f != "meta.json":
            assert abs(os.stat(os.path.join(d, f)).st_mtime - ms(rec["creationTime"])) < 0.002
    # Writing is refused (at open or at the first write: the kernel may not
    # ask rcfs about opens), creating is refused (also a desktop trash folder).
    with pytest.raises(PermissionError):
        with open(os.path.join(d, "meta.json"), "r+b") as f:
            f.write(b"x")
            f.flush()
    with pytest.raises(PermissionError):
        open(os.path.join(d, "meta.json"), "wb")
    assert json.load(open(os.path.join(d, "meta.json"))) == rec
    with pytest.raises(PermissionError):
        open(os.path.join(d, "new.txt"), "w")
    with pytest.raises(PermissionError):  # another user's desktop trash folder
        os.mkdir(os.path.join(mount.path, ".Trash-%d" % (os.getuid() + 1)))
    with pytest.raises(FileExistsError):  # the owner's is the mailbox's (test_trash.py)
        os.mkdir(os.path.join(mount.path, ".Trash-%d" % os.getuid()))
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(top, ".hidden"))


def test_listing_makes_no_content_requests_and_reads_are_cached(emu, mount):
    top = ext_dir(mount, emu)
    emu.reset_counts()
    for folder in list(TYPES) + ["Deleted", "conversations"]:
        os.listdir(os.path.join(top, folder))
    subprocess.run(["ls", "-la"] + [os.path.join(top, f) for f in TYPES], check=True,
                   stdout=subprocess.DEVNULL)
    assert emu.counts()["routes"].get("content", 0) == 0
    d = os.path.join(top, "Fax", sorted(os.listdir(os.path.join(top, "Fax")))[-1])
    pdfs = [f for f in os.listdir(d) if f.startswith("fax.")]
    first = read(os.path.join(d, pdfs[0]))
    n = emu.counts()["routes"].get("content", 0)
    assert n == 1
    # Drop the kernel's page cache so the second read reaches rcfs.
    subprocess.run(["sh", "-c", "echo 1 > /proc/sys/vm/drop_caches"], check=False)
    assert read(os.path.join(d, pdfs[0])) == first
    assert emu.counts()["routes"].get("content", 0) == n


def test_remount_downloads_nothing_again(emu, make_mount):
    m = make_mount(emu).start()
    top = ext_dir(m, emu)
    subprocess.run(["cat"] + [os.path.join(r, f) for r, _, fs in os.walk(top) for f in fs],
                   check=True, stdout=subprocess.DEVNULL)
    m.stop()
    emu.reset_counts()
    m.start()
    subprocess.run(["cat"] + [os.path.join(r, f) for r, _, fs in os.walk(top) for f in fs],
                   check=True, stdout=subprocess.DEVNULL)
    routes = emu.counts()["routes"]
    assert routes.get("content", 0) == 0, routes
    assert routes.get("list", 0) == 0, routes


def test_damaged_cache_file_is_fetched_again(emu, make_mount):
    m = make_mount(emu).start()
    top = ext_dir(m, emu)
    d = os.path.join(top, "Fax", sorted(os.listdir(os.path.join(top, "Fax")))[0])
    f = [x for x in os.listdir(d) if x.startswith("fax.")][0]
    good = read(os.path.join(d, f))
    m.stop()
    objs = [os.path.join(r, x) for r, _, fs in os.walk(os.path.join(m.cache_dir, "objects"))
            for x in fs]
    damaged = 0
    for o in objs:
        with open(o, "r+b") as fh:
            data = fh.read()
            if len(data) > 1000:
                fh.seek(len(data) // 2)
                fh.write(bytes([data[len(data) // 2] ^ 0xff]))
                damaged += 1
    assert damaged
    emu.reset_counts()
    m.start()
    assert read(os.path.join(d, f)) == good
    assert emu.counts()["routes"].get("content", 0) >= 1


# ---------------------------------------------------------------- tools

def test_grep_finds_a_fax_by_its_word(emu, mount):
    top = ext_dir(mount, emu)
    for name in sorted(os.listdir(os.path.join(top, "Fax"))):
        rec = emu.truth(name.rsplit("_", 1)[1])["record"]
        # Outbound faxes keep a text layer; inbound ones are images only.
        pdf = [a for a in rec["attachments"]
               if a["contentType"] == "application/pdf" and a["type"] == "RenderedDocument"
               and rec["direction"] == "Outbound"]
        if pdf:
            break
    assert pdf, "the generated mailbox has outbound PDF faxes"
    word = re.search(rb"Reference: (\S+)\)", emu.content(rec["id"], pdf[0]["id"])).group(1)
    out = subprocess.run(["grep", "-rl", word.decode(), top], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    assert any(name in line and line.endswith(".pdf") for line in out)


def test_rsync_twice_copies_nothing_the_second_time(emu, mount, tmp_path):
    dest = tmp_path / "backup"
    subprocess.run(["rsync", "-a", mount.path + "/", str(dest)], check=True)
    out = subprocess.run(["rsync", "-a", "--stats", mount.path + "/", str(dest)], check=True,
                         capture_output=True, text=True).stdout
    assert re.search(r"Number of regular files transferred: 0\b", out), out
    # The copy is the mailbox: symlinks stay symlinks (each message once).
    top = os.path.join(str(dest), emu.extensions()[0]["extensionNumber"])
    conv = os.path.join(top, "conversations")
    c = sorted(os.listdir(conv))[0]
    link = os.path.join(conv, c, os.listdir(os.path.join(conv, c))[0])
    assert os.path.islink(link) and os.path.isdir(link)


def test_find_du_stat_getfattr(emu, mount):
    top = ext_dir(mount, emu)
    metas = subprocess.run(["find", top, "-name", "meta.json"], check=True, capture_output=True,
                           text=True).stdout.split()
    truth = [m for m in emu.messages(emu.extensions()[0]["id"]) if m["availability"] != "Purged"]
    assert len(metas) == len(truth)
    du = subprocess.run(["du", "-sb", top], check=True, capture_output=True, text=True).stdout
    # du -b adds apparent sizes of files and symlinks (folders are 0 here).
    total = sum(os.lstat(os.path.join(r, f)).st_size
                for r, ds, fs in os.walk(top) for f in fs + [d for d in ds
                                                             if os.path.islink(os.path.join(r, d))])
    assert int(du.split()[0]) == total
    d = os.path.dirname(metas[0])
    subprocess.run(["stat", d, metas[0]], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(["getfattr", "-d", d], check=True, capture_output=True,
                         text=True).stdout
    rec = json.loads(read(metas[0]))
    assert 'user.rc.id="%s"' % rec["id"] in out
    assert 'user.rc.readStatus="%s"' % rec["readStatus"] in out
    assert 'user.rc.type="%s"' % rec["type"] in out
    emu.reset_counts()
    subprocess.run(["getfattr", "-R", "-d", top], check=True, stdout=subprocess.DEVNULL)
    assert emu.foreground_routes() == {}


def test_expired_token_mid_session(emu, mount):
    top = ext_dir(mount, emu)
    os.listdir(os.path.join(top, "Fax"))
    emu.reset_counts()  # before expiring: the background listing may refresh at once
    emu.expire_tokens()
    d = os.path.join(top, "VoiceMail", sorted(os.listdir(os.path.join(top, "VoiceMail")))[0])
    rec = json.loads(read(os.path.join(d, "meta.json")))
    data = read(os.path.join(d, names.attachment_names(rec)[0]))
    assert data == emu.content(rec["id"], rec["attachments"][0]["id"])
    assert emu.counts()["routes"].get("token", 0) >= 1


# ---------------------------------------------------------------- command line

def run_rcfs(args, env=None, timeout=30):
    from tests.lib.rcfs import RCFS
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("RINGCENTRAL_") or k.startswith("RC_"):
            del e[k]
    e.update(env or {})
    return subprocess.run([RCFS] + args, capture_output=True, text=True, env=e, timeout=timeout)


def test_help_and_version():
    r = run_rcfs(["--help"])
    assert r.returncode == 0
    for opt in ("cache_dir=", "cache_max=", "media_url=", "credentials=", "poll=", "timeout="):
        assert opt in r.stdout
    r = run_rcfs(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("rcfs ")


def test_start_failures_print_one_line(emu, tmp_path):
    mnt = tmp_path / "m"
    mnt.mkdir()
    creds = tmp_path / "creds"
    emu.write_credentials(str(creds))
    cases = []
    r = run_rcfs(["-f", str(tmp_path / "missing")])
    cases.append(r)
    os.chmod(creds, 0o644)
    r = run_rcfs(["-f", "-o", "credentials=%s,cache_dir=%s" % (creds, tmp_path / "c"), str(mnt)])
    assert "chmod 600" in r.stderr or "0644" in r.stderr
    cases.append(r)
    os.chmod(creds, 0o600)
    r = run_rcfs(["-f", "-o", "cache_dir=%s" % (tmp_path / "c"), str(mnt)])  # no credentials
    cases.append(r)
    bad = tmp_path / "bad"
    emu.write_credentials(str(bad))
    text = bad.read_text().replace(emu.info["client_secret"], "wrong-secret")
    bad.write_text(text)
    os.chmod(bad, 0o600)
    r = run_rcfs(["-f", "-o", "credentials=%s,cache_dir=%s" % (bad, tmp_path / "c"), str(mnt)])
    cases.append(r)
    r = run_rcfs(["-f", "-o", "media_url=http://example.com,credentials=%s,cache_dir=%s"
                  % (creds, tmp_path / "c"), str(mnt)])
    cases.append(r)
    # A server that cannot be reached, with nothing cached: a clear line, soon.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    down = tmp_path / "down"
    emu.write_credentials(str(down), server_url="http://127.0.0.1:%d" % port)
    r = run_rcfs(["-f", "-o", "credentials=%s,cache_dir=%s" % (down, tmp_path / "c2"), str(mnt)])
    assert "cannot reach" in r.stderr and "nothing is cached" in r.stderr, r.stderr
    cases.append(r)
    for r in cases:
        assert r.returncode != 0
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("rcfs")
        for secret in emu.secrets():
            assert secret not in r.stderr
    assert not any(os.path.ismount(str(mnt)) for _ in [0])


def test_media_url_rewrites_content_uris(emu, make_mount):
    # Point content at the platform listener, which refuses content: reads
    # fail and the emulator sees them there (so the rewrite really happens).
    m = make_mount(emu, opts={"media_url": emu.info["server_url"], "timeout": "5"}).start()
    top = ext_dir(m, emu)
    d = os.path.join(top, "Fax", sorted(os.listdir(os.path.join(top, "Fax")))[0])
    f = [x for x in os.listdir(d) if x.startswith("fax.")]
    emu.reset_counts()
    with pytest.raises(OSError):
        read(os.path.join(d, f[0]))
    routes = emu.counts()["routes"]
    assert routes.get("platform_content", 0) >= 1 and routes.get("content", 0) == 0, routes
    m.stop()
    # The right media URL given explicitly works.
    m.opts["media_url"] = emu.info["media_url"]
    m.start()
    rec = emu.truth(os.path.basename(d).rsplit("_", 1)[1])["record"]
    assert read(os.path.join(d, f[0])) == emu.content(rec["id"], rec["attachments"][0]["id"])


def test_cache_max_evicts_least_recently_used(make_emu, make_mount):
    emu = make_emu(messages=80, extensions=1)
    m = make_mount(emu, opts={"cache_max": "600K"}).start()
    top = ext_dir(m, emu)
    files = []
    for folder in ("Fax", "VoiceMail"):
        for n in sorted(os.listdir(os.path.join(top, folder))):
            rec = emu.truth(n.rsplit("_", 1)[1])["record"]
            for a, fn in zip(rec["attachments"], names.attachment_names(rec)):
                files.append((os.path.join(top, folder, n, fn), rec["id"], a["id"]))
    total = 0
    for path, mid, aid in files:
        try:
            data = read(path)
        except OSError as e:
            assert e.errno == 27  # EFBIG: one file larger than the whole cache
            continue
        assert data == emu.content(mid, aid)
        total += len(data)
    assert total > 600 * 1024, "the test must read more than the cap"
    objects = os.path.join(m.cache_dir, "objects")
    held = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(objects) for f in fs)
    # Open files are pinned, so allow what the file table keeps open.
    assert held <= 600 * 1024 + 64 * 300 * 1024, held


def test_fuse_options_pass_through(emu, make_mount):
    m = make_mount(emu, args=["-o", "ro,noatime"]).start()
    with open("/proc/self/mountinfo") as f:
        line = [x for x in f if " %s " % m.path in x][0]
    assert " ro," in line or " ro " in line, line
    top = ext_dir(m, emu)
    d = os.path.join(top, "SMS", sorted(os.listdir(os.path.join(top, "SMS")))[0])
    with pytest.raises(OSError) as e:
        os.rmdir(d)
    assert e.value.errno == 30  # EROFS: the kernel refuses before asking
    assert emu.truth(os.path.basename(d).rsplit("_", 1)[1])["availability"] == "Alive"


def test_file_descriptors_stay_bounded(make_emu, make_mount):
    emu = make_emu(messages=300, extensions=1)
    m = make_mount(emu, opts={"max_downloads": "6"}).start()
    top = ext_dir(m, emu)
    subprocess.run(["sh", "-c", "find %s -type f -exec cat {} + > /dev/null" % top], check=True)
    nfiles = sum(len(fs) for _, _, fs in os.walk(top))
    assert nfiles > 500
    fds = len(os.listdir("/proc/%d/fd" % m.proc.pid))
    assert fds < 120, fds


def test_extension_list_forbidden_shows_own_extension(make_emu, make_mount):
    emu = make_emu(extensions=3, extra_args=["--extension-list-forbidden"])
    m = make_mount(emu).start()
    assert os.listdir(m.path) == [emu.extensions()[0]["extensionNumber"]]
    routes = emu.counts()["routes"]
    assert routes.get("extension_list", 0) >= 1 and routes.get("extension_get", 0) >= 1
    assert os.listdir(os.path.join(m.path, "101", "Fax"))


def test_df_tells_the_truth_about_the_cache_disk(mount):
    """statfs reports the cache folder's file system, so df and file managers
    never see the mount as full."""
    m, c = os.statvfs(mount.path), os.statvfs(mount.cache_dir)
    assert m.f_bavail > 0 and m.f_bfree > 0
    assert m.f_blocks * m.f_frsize == c.f_blocks * c.f_frsize
    # free space moves with other writers on that disk: within 1%
    assert abs(m.f_bavail * m.f_frsize - c.f_bavail * c.f_frsize) <= c.f_blocks * c.f_frsize / 100
    out = subprocess.run(["df", "--output=fstype,pcent", mount.path], capture_output=True,
                         text=True, check=True).stdout.split("\n")[1].split()
    assert out[0] == "fuse.rcfs" and out[1] != "100%", out
