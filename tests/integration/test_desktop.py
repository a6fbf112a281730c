"""rcfs on the desktop and in the Linux ecosystem (issue 8).

What is checked, each against a real mount of the emulator:
  - `meson install` puts rcfs, rcfs(1) and the systemd user unit in place,
    and the man page describes every option `rcfs --help` lists;
  - `mount -t fuse.rcfs` and an fstab line work through Debian's
    mount.fuse3 (in a private mount namespace, so nothing outside sees it);
  - the systemd user unit's commands mount, clear a dead mount, and stop
    cleanly on SIGTERM;
  - logging: stderr in the foreground, syslog when daemonised, never a
    secret (syslog is a listener on /dev/log in a private mount namespace,
    so the test neither needs nor pollutes the machine's syslog);
  - what GIO file managers do: gio info/list, gio trash (fails, changes
    nothing), gio remove (moves to the server's trash);
  - desktop probes (.hidden, .Trash-UID, autorun.inf, ...) cost no request;
  - thumbnailers (a copy of cat named tumblerd) wait behind a person, and
    with -o no_thumbnails get nothing that is not cached;
  - PCManFM under Xvfb shows the Fax folder; the screenshot is kept in
    tests/artifacts/ (RCFS_ARTIFACTS overrides; git ignores it).

Tools come from Debian packages (scripts/test installs them); a test whose
tool is missing is skipped with the package to install.  No assertion
depends on timing: order and counts only.
"""

import ctypes
import json
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402
from tests.lib.rcfs import RCFS, ROOT, SANITIZER_RE, is_mounted, sanitizer_env  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402
from tests.lib.desktop import desktop_env, need, save_artifact, start_xvfb, stop  # noqa: E402

UNIT = os.path.join(ROOT, "scripts", "rcfs.service")
MAN = os.path.join(ROOT, "doc", "rcfs.1")


# ---------------------------------------------------------------- helpers

def fax_files(folder):
    """[(path, message id)] of the fax attachments under a Fax folder."""
    out = []
    for name in sorted(os.listdir(folder)):
        for f in sorted(os.listdir(os.path.join(folder, name))):
            if f.startswith("fax."):
                out.append((os.path.join(folder, name, f), name.rsplit("_", 1)[1]))
    return out


def content_of(emu, mid, filename):
    """The server's bytes of the attachment of message mid named filename."""
    rec = emu.truth(mid)["record"]
    for a, name in zip(rec["attachments"], names.attachment_names(rec)):
        if name == filename:
            return emu.content(mid, a["id"])
    raise AssertionError("no %s in %s" % (filename, mid))


def assert_clean(emu, *texts):
    """No secret and no sanitizer report in any of the texts (logs, output)."""
    for text in texts:
        for secret in emu.secrets():
            assert secret not in text
        reports = [line for line in text.splitlines() if SANITIZER_RE.search(line)]
        assert not reports, "\n".join(reports[:20])


def rcfs_pids_using(path):
    """Pids of processes whose command line mentions path (our own daemons)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if path.encode() in f.read():
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def wait_gone(path, timeout=20):
    """Wait for the rcfs daemons started with path on their command line to
    exit; kill (and report) any that does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not rcfs_pids_using(path):
            return []
        time.sleep(0.05)
    left = rcfs_pids_using(path)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def in_private_mount_namespace(argv, timeout=90):
    """Run argv in a new, private mount namespace (root only)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare not found (apt-get install util-linux)")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here: %s" % probe.stderr.decode().strip())
    return subprocess.run(["unshare", "--mount", "--propagation", "private"] + argv,
                          capture_output=True, text=True, timeout=timeout, env=sanitizer_env())


# ---------------------------------------------------------------- install and the man page

def test_meson_install_puts_rcfs_the_man_page_and_the_unit_in_place(tmp_path):
    build = os.path.dirname(os.path.dirname(RCFS))
    if not os.path.exists(os.path.join(build, "build.ninja")):
        pytest.skip("RCFS_BIN is not in a meson build folder")
    dest = tmp_path / "dest"
    r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--destdir", str(dest)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    found = {}
    for d, _, files in os.walk(dest):
        for f in files:
            found[os.path.relpath(os.path.join(d, f), dest)] = os.path.join(d, f)
    bins = [p for p in found if p.endswith("/bin/rcfs")]
    mans = [p for p in found if p.endswith("/share/man/man1/rcfs.1")]
    units = [p for p in found if p.endswith("/lib/systemd/user/rcfs.service")]
    assert len(bins) == len(mans) == len(units) == 1, sorted(found)
    prefix = bins[0][:-len("/bin/rcfs")]
    assert mans[0].startswith(prefix) and units[0].startswith(prefix)
    assert os.access(found[bins[0]], os.X_OK)
    v = subprocess.run([found[bins[0]], "--version"], capture_output=True, text=True,
                       env=sanitizer_env())
    assert v.returncode == 0 and v.stdout.startswith("rcfs ")
    # man finds it in that prefix, and groff renders it without a warning.
    man = need("man", "man-db")
    w = subprocess.run([man, "-w", "rcfs"], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=str(dest / prefix / "share" / "man")))
    assert w.returncode == 0 and w.stdout.strip() == found[mans[0]], w.stderr
    text = open(found[mans[0]]).read()
    assert "@VERSION@" not in text and "@PREFIX@" not in text
    assert v.stdout.split()[1] in text.splitlines()[2]   # .TH line carries the version
    groff = need("groff", "groff-base")
    g = subprocess.run([groff, "-man", "-ww", "-z", found[mans[0]]], capture_output=True, text=True)
    assert g.returncode == 0 and g.stderr == "", g.stderr
    with open(found[units[0]]) as f, open(UNIT) as g2:
        assert f.read() == g2.read()


def man_text():
    """The man page source with roff escapes for '-' and fonts removed."""
    with open(MAN) as f:
        s = f.read()
    s = s.replace("\\-", "-").replace("\\e", "\\")
    return re.sub(r"\\f[BIRP]", "", s)


def test_man_page_describes_every_option_and_the_sections():
    r = subprocess.run([RCFS, "--help"], capture_output=True, text=True, env=sanitizer_env())
    assert r.returncode == 0
    helptext = r.stdout
    ours = helptext.split("rcfs options")[1].split("FUSE options")[0]
    opts = re.findall(r"^    ([a-z_]+)(?:=|\s)", ours, re.M)
    assert {"credentials", "cache_dir", "cache_max", "media_url", "poll", "timeout",
            "max_downloads", "probe_kib", "no_thumbnails"} <= set(opts), opts
    general = re.findall(r"^    (-\w|--[a-z]+)", helptext.split("rcfs options")[0], re.M)
    general += re.findall(r"^    -\w, (--[a-z]+)", helptext, re.M)
    assert {"-h", "-V", "-f", "-d", "-s", "--help", "--version"} <= set(general), general
    man = man_text()
    sections = re.findall(r"^\.SH (.+)$", man, re.M)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "ENVIRONMENT",
              "EXAMPLES", "EXIT STATUS", "SEE ALSO"):
        assert s in sections, s

    def section(name):
        return man.split(".SH " + name + "\n")[1].split("\n.SH ")[0]
    described = section("OPTIONS")
    for o in opts:
        assert re.search(r"^\.TP\n\.BI? %s(=| |$)" % o, described, re.M), \
            "option %s is not described" % o
    for o in set(general):
        assert o in section("OPTIONS"), o
    env = section("ENVIRONMENT")
    for var in re.findall(r"\b(RINGCENTRAL_[A-Z_]+|RC_[A-Z_]+)\b", helptext):
        assert var in env, var
    assert "EACCES" in described and "syslog" in described
    status = section("EXIT STATUS")
    assert ".B 0" in status and ".B 1" in status
    examples = section("EXAMPLES")
    assert "fuse.rcfs" in examples and "fstab" in examples and "systemctl --user" in examples


# ---------------------------------------------------------------- mount(8), fstab

MOUNT_SCRIPT = r"""
set -u
trap 'umount -l "$MNT" 2>/dev/null' EXIT
# mount(8) runs helpers with a fixed PATH (/usr/local/sbin first): put rcfs
# there, for this namespace only.
mount --bind "$BIN" /usr/local/sbin || exit 10
mount -t fuse.rcfs ringcentral "$MNT" -o "credentials=$CRED,cache_dir=$CACHE1,poll=0" \
    > "$OUT/mount1.out" 2>&1 || exit 11
grep " $MNT " /proc/self/mountinfo > "$OUT/mountinfo1"
ls "$MNT/$EXT" > "$OUT/ls1" || exit 12
umount "$MNT" || exit 13
mount -T "$FSTAB" "$MNT" > "$OUT/mount2.out" 2>&1 || exit 14
grep " $MNT " /proc/self/mountinfo > "$OUT/mountinfo2"
ls "$MNT/$EXT/Fax" > "$OUT/ls2" || exit 15
umount "$MNT" || exit 16
exit 0
"""


def test_mount_t_fuse_rcfs_and_an_fstab_line(emu, tmp_path):
    if not os.path.exists("/sbin/mount.fuse") and not os.path.exists("/sbin/mount.fuse.rcfs"):
        pytest.skip("no /sbin/mount.fuse (Debian's fuse3 package provides it)")
    binsub = tmp_path / "sbin"
    binsub.mkdir()
    os.symlink(os.path.abspath(RCFS), binsub / "rcfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    cred = emu.write_credentials(str(tmp_path / "rcfs.env"))
    cache2 = tmp_path / "cache2"
    fstab = tmp_path / "fstab"
    # x-gvfs-show puts the mount in GTK file managers' sidebars; mount(8)
    # keeps x-* options to itself.
    fstab.write_text("# test fstab\nringcentral %s fuse.rcfs noauto,x-gvfs-show,"
                     "credentials=%s,cache_dir=%s,poll=0 0 0\n" % (mnt, cred, cache2))
    env = {"BIN": str(binsub), "MNT": str(mnt), "CRED": cred, "CACHE1": str(tmp_path / "cache1"),
           "FSTAB": str(fstab), "OUT": str(out), "EXT": emu.extensions()[0]["extensionNumber"]}
    script = "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in env.items()) + MOUNT_SCRIPT
    r = in_private_mount_namespace(["/bin/sh", "-c", script])
    left = wait_gone(str(tmp_path / "cache"))
    logs = {p.name: p.read_text() for p in out.iterdir()}
    assert r.returncode == 0, (r.returncode, r.stderr, logs)
    assert not left, "rcfs did not exit after umount"
    for n in ("1", "2"):
        fields = logs["mountinfo" + n].split(" - ")[1].split()
        assert fields[0] == "fuse.rcfs" and fields[1] == "ringcentral", logs["mountinfo" + n]
    assert sorted(logs["ls1"].split()) == sorted(["Fax", "SMS", "VoiceMail", "Pager", "Text",
                                                  "Deleted", "conversations", "Unread"])
    assert len(logs["ls2"].split()) > 0
    assert_clean(emu, r.stdout, r.stderr, *logs.values())
    assert not is_mounted(str(mnt))   # it never left the namespace


# ---------------------------------------------------------------- the systemd user unit

def unit_commands():
    """{key: [values]} of the unit's [Service] section, in file order."""
    keys = {}
    section = None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            k, v = line.split("=", 1)
            keys.setdefault((section, k), []).append(v)
    return keys


def unit_argv(value, home):
    """A unit command line as systemd would run it (the % specifiers we use,
    "$$" for "$", a leading "-" meaning "failure is fine")."""
    ignore = value.startswith("-")
    value = value.lstrip("-").replace("%h", home).replace("$$", "$")
    argv = shlex.split(value)
    if argv[0] == "rcfs":
        argv[0] = RCFS
    assert "%" not in value, "a specifier the test does not know: " + value
    return ignore, argv


def test_systemd_user_unit_mounts_clears_a_dead_mount_and_stops_cleanly(emu, tmp_path):
    keys = unit_commands()
    start = keys[("[Service]", "ExecStart")]
    assert len(start) == 1
    # The secrets stay in the 0600 file: no Environment=, nothing secret-looking.
    text = open(UNIT).read()
    assert ("[Service]", "Environment") not in keys and ("[Service]", "EnvironmentFile") not in keys
    assert not re.search(r"SECRET|JWT|TOKEN|RINGCENTRAL_", "\n".join(start))
    assert "credentials=%h/.config/rcfs.env" in start[0] and " -f " in start[0]
    assert keys[("[Install]", "WantedBy")] == ["default.target"]
    assert "ConditionPathExists=%h/.config/rcfs.env" in text

    home = str(tmp_path / "home")
    os.makedirs(home + "/.config")
    emu.write_credentials(home + "/.config/rcfs.env")
    env = sanitizer_env()
    env["HOME"] = home
    env.pop("XDG_CACHE_HOME", None)
    mnt = home + "/RingCentral"
    ext = emu.extensions()[0]["extensionNumber"]

    def run_unit(log):
        for value in keys[("[Service]", "ExecStartPre")]:
            ignore, argv = unit_argv(value, home)
            r = subprocess.run(argv, env=env, capture_output=True, text=True)
            assert ignore or r.returncode == 0, (argv, r.stderr)
        _, argv = unit_argv(start[0], home)
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while not is_mounted(mnt):
            assert p.poll() is None and time.monotonic() < deadline, open(log.name).read()
            time.sleep(0.02)
        return p

    with open(tmp_path / "unit-1.log", "w") as log:
        p = run_unit(log)
    try:
        assert ext in os.listdir(mnt)
        # A crash leaves a dead mount behind ...
        p.kill()
        p.wait()
        assert is_mounted(mnt)
        with pytest.raises(OSError):
            os.stat(mnt)
        # ... which the next start clears before mounting again.
        with open(tmp_path / "unit-2.log", "w") as log:
            p = run_unit(log)
        assert "Fax" in os.listdir(os.path.join(mnt, ext))
        # The default cache folder, found from HOME.
        assert os.path.isdir(home + "/.cache/rcfs/objects")
        # systemctl stop: SIGTERM, then a clean unmount and status 0.
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        assert not is_mounted(mnt)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-uz", mnt])
    log2 = open(tmp_path / "unit-2.log").read()
    assert "unmounted" in log2
    assert_clean(emu, log2, open(tmp_path / "unit-1.log").read())
    # And systemd itself accepts the unit (with rcfs's real path, since it is
    # not installed here).
    analyze = shutil.which("systemd-analyze")
    if analyze:
        copy = tmp_path / "rcfs.service"
        copy.write_text(text.replace("ExecStart=rcfs ", "ExecStart=%s " % os.path.abspath(RCFS)))
        r = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- logging

# Runs as root inside a private mount namespace: /dev becomes a small tmpfs
# holding the real device nodes rcfs needs plus our own /dev/log socket, so
# syslog(3) talks to this script and nothing outside sees it.
SYSLOG_INNER = r"""
import json, os, socket, subprocess, sys, time
a = json.load(open(sys.argv[1]))
res = {"fg": {}, "bg": {}}
mnt = a["mnt"]

def sh(*cmd):
    subprocess.run(cmd, check=True)

def mounted():
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == mnt for l in f)

def wait_mounted(proc=None):
    deadline = time.monotonic() + 30
    while not mounted():
        if time.monotonic() > deadline or (proc and proc.poll() is not None):
            raise RuntimeError("no mount")
        time.sleep(0.02)

def drain(sock, until=None, timeout=20):
    out = []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while True:
        try:
            out.append(sock.recv(65536).decode("utf-8", "replace"))
        except socket.timeout:
            if until is None or any(until in m for m in out) or time.monotonic() > deadline:
                return out

realdev = os.path.join(a["work"], "realdev")
os.makedirs(realdev)
sh("mount", "--rbind", "/dev", realdev)
sh("mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "rcfs-test-dev", "/dev")
for n in ("null", "zero", "full", "random", "urandom", "tty", "fuse"):
    open("/dev/" + n, "w").close()
    sh("mount", "--bind", os.path.join(realdev, n), "/dev/" + n)
for n, t in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
    os.symlink(t, "/dev/" + n)
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind("/dev/log")
os.chmod("/dev/log", 0o666)
daemon_pid = None
try:
    # Foreground (-f -d): everything on stderr, nothing to syslog.
    with open(a["fg_log"], "wb") as f:
        p = subprocess.Popen([a["rcfs"], "-f", "-d", "-o", a["opts1"], mnt], stdout=f, stderr=f)
    wait_mounted(p)
    res["fg"]["listing"] = sorted(os.listdir(os.path.join(mnt, a["ext"], "Fax")))
    sh("umount", mnt)
    res["fg"]["rc"] = p.wait(30)
    res["fg"]["syslog"] = drain(log)
    # Daemonised (no -f; -d would imply -f): one line on stderr, the rest to syslog.
    r = subprocess.run([a["rcfs"], "-o", a["opts2"], mnt], capture_output=True, timeout=60)
    res["bg"]["rc"] = r.returncode
    res["bg"]["stdout"] = r.stdout.decode("utf-8", "replace")
    res["bg"]["stderr"] = r.stderr.decode("utf-8", "replace")
    wait_mounted()
    res["bg"]["listing"] = sorted(os.listdir(os.path.join(mnt, a["ext"], "Fax")))
    sh("umount", mnt)
    res["bg"]["syslog"] = drain(log, until="unmounted")
    for m in res["bg"]["syslog"]:
        if "rcfs[" in m:
            daemon_pid = int(m.split("rcfs[", 1)[1].split("]", 1)[0])
    if daemon_pid:
        deadline = time.monotonic() + 20
        while os.path.exists("/proc/%d" % daemon_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        res["bg"]["exited"] = not os.path.exists("/proc/%d" % daemon_pid)
finally:
    if mounted():
        subprocess.run(["umount", "-l", mnt])
json.dump(res, sys.stdout)
"""


def test_logs_go_to_stderr_in_the_foreground_and_to_syslog_when_daemonised(emu, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cred = emu.write_credentials(str(tmp_path / "rcfs.env"))
    args = {"rcfs": os.path.abspath(RCFS), "mnt": str(mnt), "work": str(tmp_path),
            "ext": emu.extensions()[0]["extensionNumber"], "fg_log": str(tmp_path / "fg.log"),
            "opts1": "credentials=%s,cache_dir=%s,poll=0" % (cred, tmp_path / "cache1"),
            "opts2": "credentials=%s,cache_dir=%s,poll=0" % (cred, tmp_path / "cache2")}
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "inner.py").write_text(SYSLOG_INNER)
    r = in_private_mount_namespace(["/usr/bin/python3", str(tmp_path / "inner.py"),
                                    str(tmp_path / "args.json")])
    left = wait_gone(str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    fg, bg = res["fg"], res["bg"]
    fg_log = (tmp_path / "fg.log").read_text()

    # Foreground: timestamped lines on stderr, debug ones too; no syslog.
    assert fg["rc"] == 0 and fg["listing"]
    mounted_re = r"^rcfs \d\d:\d\d:\d\d\.\d{3} info: rcfs .* mounted on %s" % re.escape(str(mnt))
    assert re.search(mounted_re, fg_log, re.M), fg_log
    assert re.search(r"^rcfs [\d:.]+ debug: ", fg_log, re.M), fg_log
    assert "unmounted" in fg_log
    assert fg["syslog"] == []

    # Daemonised: until it detaches, rcfs still talks to the terminal that
    # started it (what the start says, then "mounted on"); after that,
    # syslog only (facility daemon, ident rcfs, with the pid): info and the
    # unmount.
    assert bg["rc"] == 0 and bg["listing"] == fg["listing"]
    lines = bg["stderr"].splitlines()
    assert lines[-1] == "rcfs: mounted on %s" % mnt, bg["stderr"]
    for line in lines[:-1]:
        assert re.match(r"rcfs [\d:.]+ (info|warning): ", line), line
    assert not re.search(r"info: rcfs \S+ mounted on", bg["stderr"])   # said after detaching
    assert bg["stdout"] == ""
    msgs = bg["syslog"]
    assert msgs, "nothing reached /dev/log"
    for m in msgs:
        assert re.match(r"<(\d+)>", m) and int(re.match(r"<(\d+)>", m).group(1)) >> 3 == 3, m
        assert re.search(r" rcfs\[\d+\]: ", m), m
    assert any(m.startswith("<30>") and "mounted on %s" % mnt in m for m in msgs), msgs
    assert any("unmounted" in m for m in msgs)
    assert bg.get("exited") and not left
    assert_clean(emu, fg_log, bg["stderr"], *msgs)


# ---------------------------------------------------------------- GIO (Nautilus, Thunar, ...)

def gio(*args):
    return subprocess.run([need("gio", "libglib2.0-bin")] + list(args), capture_output=True,
                          text=True, timeout=60)


def test_gio_info_shows_the_type_and_exact_size_and_gio_list_works(emu, mount):
    fax = os.path.join(top(mount, emu), "Fax")
    kinds = {}
    for path, mid in fax_files(fax):
        kinds.setdefault(path.rsplit(".", 1)[1], (path, mid))
    assert {"pdf", "tiff"} <= set(kinds), kinds
    for ext, want in (("pdf", "application/pdf"), ("tiff", "image/tiff")):
        path, mid = kinds[ext]
        r = gio("info", "-a", "standard::content-type,standard::size,standard::type", path)
        assert r.returncode == 0, r.stderr
        info = dict(re.findall(r"^\s*standard::([a-z-]+): (.*)$", r.stdout, re.M))
        assert info["content-type"] == want
        assert int(info["size"]) == len(content_of(emu, mid, os.path.basename(path)))
    msg = os.path.dirname(kinds["pdf"][0])
    r = gio("list", "-l", "-a", "standard::content-type", msg)
    assert r.returncode == 0, r.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in r.stdout.splitlines()}
    assert set(rows) == set(os.listdir(msg))
    assert int(rows["meta.json"][1]) == os.stat(os.path.join(msg, "meta.json")).st_size
    assert "content-type=application/json" in rows["meta.json"][3]
    assert "content-type=application/pdf" in rows["fax.pdf"][3]
    r = gio("list", fax)
    assert r.returncode == 0 and sorted(r.stdout.split()) == sorted(os.listdir(fax))


def test_gio_remove_deletes_to_the_server_trash(emu, mount):
    # (gio trash, the desktop's Trash: test_trash.py)
    t = top(mount, emu)
    name = sorted(os.listdir(os.path.join(t, "Fax")))[0]
    mid = name.rsplit("_", 1)[1]
    msg = os.path.join(t, "Fax", name)
    os.listdir(os.path.join(t, "Deleted"))
    emu.reset_counts()
    r = gio("remove", msg)
    assert r.returncode == 0, r.stderr
    assert name not in os.listdir(os.path.join(t, "Fax"))
    assert name in os.listdir(os.path.join(t, "Deleted"))
    assert emu.truth(mid)["availability"] == "Deleted"
    assert emu.counts()["routes"].get("delete") == 1


def test_desktop_probes_cost_no_request(emu, mount):
    t = top(mount, emu)
    folders = [mount.path, t] + [os.path.join(t, f) for f in
                                 ("Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted",
                                  "conversations")]
    # Wait for the background listing of every folder, so that it is done.
    for i in range(len(emu.extensions())):
        for f in ("Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted", "conversations"):
            os.listdir(os.path.join(top(mount, emu, i), f))
    msg = os.path.join(t, "Fax", sorted(os.listdir(os.path.join(t, "Fax")))[0])
    folders.append(msg)
    probes = [".hidden", ".directory", ".Trash", ".Trash-%d" % os.getuid(), ".Trash-1000",
              "autorun.inf", "AutoRun.inf", "desktop.ini", "Desktop.ini", "Thumbs.db",
              ".xdg-volume-info", ".DS_Store", "folder.jpg", ".git"]
    emu.reset_counts()
    own_trash = ".Trash-%d" % os.getuid()
    assert os.path.isdir(os.path.join(mount.path, own_trash))  # the desktop Trash: test_trash.py
    for f in folders:
        for n in probes:
            if f == mount.path and n == own_trash:
                continue
            with pytest.raises(FileNotFoundError):
                os.stat(os.path.join(f, n))
            with pytest.raises(FileNotFoundError):
                open(os.path.join(f, n), "rb")
    assert emu.counts()["total"] == 0, emu.counts()["routes"]


# ---------------------------------------------------------------- thumbnailers

def thumbnailer(tmp_path):
    """A copy of cat whose /proc/PID/comm says tumblerd, like Xfce's."""
    path = str(tmp_path / "tumblerd")
    shutil.copy("/bin/cat", path)
    return path


def blocked_in_fuse(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            w = f.read()
    except OSError:
        return True   # gone: finished
    return "request_wait_answer" in w or "fuse" in w


def test_a_person_is_served_before_a_crowd_of_thumbnailers(make_emu, make_mount, tmp_path):
    n = 48   # more than rcfs used to have threads: the person must not queue behind them
    emu = make_emu(messages=300, extensions=1)
    m = make_mount(emu, opts={"timeout": "150"}).start()
    files = fax_files(os.path.join(top(m, emu), "Fax"))
    assert len(files) > n, len(files)
    # Realistic limits on a short window: Medium (content) 4 per 2 s.
    emu.config(rate_limits={"Medium": 4}, rate_window=2)
    emu.reset_counts()
    tumbler = thumbnailer(tmp_path)
    done = []
    lock = threading.Lock()

    def wait_for(name, p):
        p.wait()
        with lock:
            done.append(name)
    thumbs = [subprocess.Popen([tumbler, path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for path, _ in files[:n]]
    waiters = [threading.Thread(target=wait_for, args=("thumb", p)) for p in thumbs]
    for w in waiters:
        w.start()
    # Every thumbnailer is now inside the mount waiting, and the window's
    # quota is used up by them.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if emu.counts()["routes"].get("content", 0) >= 4 and \
                all(blocked_in_fuse(p.pid) for p in thumbs):
            break
        time.sleep(0.05)
    path, mid = files[n]
    person = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
    out = person.communicate()[0]
    with lock:
        before = done.count("thumb")
        done.append("person")
    for w in waiters:
        w.join(150)
    assert person.returncode == 0
    assert out == content_of(emu, mid, os.path.basename(path))
    assert [p.returncode for p in thumbs] == [0] * n   # thumbnails still come, later
    # Order, not time: when the person had the fax, at least three quarters
    # of the thumbnail reads were still waiting.
    print("person finished after %d of %d thumbnail reads" % (before, n))
    assert before <= n // 4, "person finished after %d of %d thumbnail reads" % (before, n)
    counts = emu.counts()
    assert counts["routes"].get("content", 0) >= n + 1


def test_no_thumbnails_refuses_thumbnailers_what_is_not_cached(emu, make_mount, tmp_path):
    # probe_kib=1: learning a size (the person's stat, as a file manager's
    # listing does) does not fetch the whole fax.
    m = make_mount(emu, opts={"no_thumbnails": True, "probe_kib": "1"}).start()
    files = [(p, mid) for p, mid in fax_files(os.path.join(top(m, emu), "Fax"))
             if os.stat(p).st_size > 1024]
    assert len(files) >= 4
    cached, cmid = files[0]
    with open(cached, "rb") as f:
        f.read()
    emu.reset_counts()
    tumbler = thumbnailer(tmp_path)
    for path, _ in files[1:4]:
        r = subprocess.run([tumbler, path], capture_output=True)
        assert r.returncode != 0 and r.stdout == b""
        assert b"Permission denied" in r.stderr, r.stderr
    r = subprocess.run([tumbler, cached], capture_output=True)
    assert r.returncode == 0 and r.stdout == content_of(emu, cmid, os.path.basename(cached))
    routes = emu.counts()["routes"]
    assert routes.get("content", 0) == 0, routes
    # A person is served as usual.
    path, mid = files[1]
    r = subprocess.run(["cat", path], capture_output=True)
    assert r.returncode == 0 and r.stdout == content_of(emu, mid, os.path.basename(path))
    assert emu.counts()["routes"].get("content", 0) >= 1


def test_no_thumbnails_thumbnailer_first_to_look_costs_no_request(emu, make_mount, tmp_path):
    m = make_mount(emu, opts={"no_thumbnails": True}).start()
    fax = os.path.join(top(m, emu), "Fax")
    name = sorted(os.listdir(fax))[0]
    emu.reset_counts()
    files = [f for f in os.listdir(os.path.join(fax, name)) if f.startswith("fax.")]
    r = subprocess.run([thumbnailer(tmp_path), os.path.join(fax, name, files[0])],
                       capture_output=True)
    assert r.returncode != 0
    assert emu.counts()["routes"].get("content", 0) == 0


# ---------------------------------------------------------------- a real file manager

FAN_CLASS_NOTIF, FAN_CLOEXEC, FAN_NONBLOCK = 0, 1, 2
FAN_ACCESS, FAN_OPEN, FAN_ONDIR, FAN_MARK_ADD = 0x1, 0x20, 0x40000000, 0x1
AT_FDCWD = -100


class DirWatch:
    """fanotify on one directory: which processes opened and read it."""

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                       ctypes.c_int, ctypes.c_char_p]
        self.fd = libc.fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init")
        if libc.fanotify_mark(self.fd, FAN_MARK_ADD, FAN_ACCESS | FAN_OPEN | FAN_ONDIR,
                              AT_FDCWD, path.encode()) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "fanotify_mark")
        self.events = []   # (mask, pid)

    def poll(self, timeout=0.2):
        if select.select([self.fd], [], [], timeout)[0]:
            data = os.read(self.fd, 65536)
            off = 0
            while off + 24 <= len(data):
                length, _, _, _, mask, fd, pid = struct.unpack_from("IBBHQii", data, off)
                if fd >= 0:
                    os.close(fd)
                self.events.append((mask, pid))
                off += length
        return self.events

    def readers(self):
        return {pid for mask, pid in self.events if mask & FAN_ACCESS}

    def close(self):
        os.close(self.fd)


def descendants(pid):
    """pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        todo += children.get(p, [])
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def test_pcmanfm_shows_the_fax_folder(make_emu, make_mount, tmp_path):
    need("Xvfb", "xvfb")
    pcmanfm = need("pcmanfm", "pcmanfm")
    xdotool = need("xdotool", "xdotool")
    dbus = need("dbus-run-session", "dbus-daemon")
    if not os.path.exists("/usr/bin/import"):
        pytest.skip("import not found (apt-get install imagemagick)")
    emu = make_emu(seed=7, extensions=3, messages=120)   # the demo mailbox (scripts/demo)
    m = make_mount(emu, name="RingCentral").start()
    fax = os.path.join(top(m, emu), "Fax")   # not listed yet: the kernel has nothing cached
    env = desktop_env(tmp_path)
    try:
        watch = DirWatch(fax)
    except OSError as e:
        watch = None
        print("fanotify unavailable (%s): checking the window only" % e)
    x = start_xvfb(env)
    fm = None
    try:
        log = open(tmp_path / "pcmanfm.log", "wb")
        fm = subprocess.Popen([dbus, "--", pcmanfm, fax], env=env, stdout=log, stderr=log,
                              start_new_session=True)
        r = subprocess.run([xdotool, "search", "--sync", "--onlyvisible", "--name", "^Fax$"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.split(), r.stderr
        win = r.stdout.split()[0]
        # The listing reached the mount: pcmanfm itself read the directory.
        fm_pids = {p for p in descendants(fm.pid) if comm(p) == "pcmanfm"}
        assert fm_pids, "pcmanfm is not running"
        if watch:
            deadline = time.monotonic() + 30
            while not (watch.readers() & fm_pids) and time.monotonic() < deadline:
                watch.poll()
            assert watch.readers() & fm_pids, watch.events
        subprocess.run([xdotool, "windowmove", win, "0", "0"], env=env)
        subprocess.run([xdotool, "windowsize", win, "960", "600"], env=env)
        # Screenshot once the picture stops changing (rendering is done).
        shot = tmp_path / "pcmanfm-fax.png"
        last = None
        for _ in range(40):
            subprocess.run(["/usr/bin/import", "-window", win, str(shot)], env=env, check=True,
                           timeout=60)
            data = shot.read_bytes()
            if data == last:
                break
            last = data
            time.sleep(0.25)
        kept = save_artifact(str(shot), "pcmanfm-fax.png")
        ident = subprocess.run(["/usr/bin/identify", "-format", "%w %h %k", kept],
                               capture_output=True, text=True)
        w, h, colours = (int(v) for v in ident.stdout.split())
        assert w >= 640 and h >= 400 and colours > 16, ident.stdout
        # Still alive after showing it.
        assert fm.poll() is None and all(os.path.exists("/proc/%d" % p) for p in fm_pids)
        names = os.listdir(fax)
        assert names and len(names) == len(set(names))
    finally:
        if fm is not None:
            stop(fm)
        stop(x)
        if watch:
            watch.close()
        if os.path.exists(tmp_path / "pcmanfm.log"):
            save_artifact(str(tmp_path / "pcmanfm.log"), "pcmanfm.log")
