"""scripts/demo run with sudo mounts for the user who ran sudo.

The test makes a throwaway user and runs the demo as sudo would (root, with
SUDO_UID, SUDO_GID and SUDO_USER of that user).  It checks that the demo
folder, its cache and credentials and the mount are that user's, that rcfs
runs as them, that they can list the mount and read a file in it (so the
`xdg-open` line the demo prints opens a folder they can read), that another
user cannot, and that `scripts/demo stop` unmounts, stops rcfs and stops
the emulator.

All of it runs in a private mount namespace whose /dev/fuse is a node of
its own with mode 0600, as on a machine without udev: the demo must make
FUSE usable for the user (mode 0666, as Debian's udev rules do) without the
test changing the machine's /dev/fuse.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import ROOT, is_mounted  # noqa: E402

DEMO = os.path.join(ROOT, "scripts", "demo")

# Runs as root in the private mount namespace; prints one JSON object.
INNER = r"""
import json, os, subprocess, sys, time
a = json.load(open(sys.argv[1]))
uid, gid, demo, mnt = a["uid"], a["gid"], a["demo"], a["demo"] + "/mnt"
res = {}

def sh(*cmd):
    subprocess.run(cmd, check=True)

def as_user(u, g, *cmd):
    return subprocess.run(["setpriv", "--reuid=%d" % u, "--regid=%d" % g, "--clear-groups",
                           "--"] + list(cmd), capture_output=True, text=True, timeout=120)

def mounted():
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == mnt for l in f)

def daemon_uids():
    uids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")[:-1]
            if argv and argv[-1] == mnt.encode() and argv[0].endswith(b"rcfs"):
                with open("/proc/%s/status" % d) as f:
                    uids += [int(l.split()[1]) for l in f if l.startswith("Uid:")]
        except OSError:
            pass
    return uids

# /dev/fuse as on a machine without udev: the kernel's device, mode 0600.
sh("mount", "-t", "tmpfs", "-o", "mode=0755,size=64k", "rcfs-test-fuse", a["devdir"])
node = a["devdir"] + "/fuse"
os.mknod(node, 0o600 | 0o20000, os.makedev(10, 229))
os.chmod(node, 0o600)
sh("mount", "--bind", node, "/dev/fuse")
env = dict(os.environ, SUDO_UID=str(uid), SUDO_GID=str(gid), SUDO_USER=a["user"],
           SUDO_COMMAND=a["script"], RCFS_DEMO_DIR=demo)
try:
    r = subprocess.run([a["script"]], env=env, capture_output=True, text=True, timeout=1800)
    res["demo"] = {"rc": r.returncode, "out": r.stdout, "err": r.stderr}
    res["fuse_mode"] = oct(os.stat("/dev/fuse").st_mode & 0o777)
    res["mounted"] = mounted()
    st = os.stat(demo)
    res["demo_dir"] = [st.st_uid, st.st_gid, oct(st.st_mode & 0o777)]
    st = os.stat(demo + "/credentials")
    res["credentials"] = [st.st_uid, oct(st.st_mode & 0o777)]
    res["cache_uid"] = os.stat(demo + "/cache").st_uid
    res["daemon_uids"] = daemon_uids()
    ls = as_user(uid, gid, "ls", mnt + "/101/Fax")
    res["ls"] = [ls.returncode, ls.stdout.split(), ls.stderr]
    st = as_user(uid, gid, "stat", "-c", "%u:%g", mnt + "/101")
    res["owner"] = st.stdout.strip()
    if ls.stdout.split():
        cat = as_user(uid, gid, "cat", "%s/101/Fax/%s/meta.json" % (mnt, ls.stdout.split()[0]))
        res["cat"] = [cat.returncode, cat.stdout[:1], cat.stderr]
    other = as_user(65534, 65534, "ls", mnt)
    res["other_ls_rc"] = other.returncode
finally:
    s = subprocess.run([a["script"], "stop"], env=env, capture_output=True, text=True,
                       timeout=300)
    res["stop"] = {"rc": s.returncode, "out": s.stdout, "err": s.stderr}
    res["mounted_after"] = mounted()
    res["emulator_pid_left"] = os.path.exists(demo + "/emulator.pid")
    deadline = time.monotonic() + 60
    while daemon_uids() and time.monotonic() < deadline:
        time.sleep(0.05)
    res["daemon_left"] = daemon_uids()
    if mounted():
        subprocess.run(["umount", "-l", mnt])
json.dump(res, sys.stdout)
"""


@pytest.fixture
def throwaway_user():
    if os.geteuid() != 0:
        pytest.skip("needs root (useradd, the demo)")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here: %s" % probe.stderr.decode().strip())
    name = "rcfsdemo%d" % os.getpid()
    subprocess.run(["useradd", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def test_demo_with_sudo_mounts_for_the_invoking_user(throwaway_user, tmp_path):
    user = throwaway_user
    uid, gid = user.pw_uid, user.pw_gid
    # Under /tmp itself: the user must be able to reach it (pytest's own
    # tmp_path is a root-only folder).
    demo = tempfile.mkdtemp(prefix="rcfs-demo-test-", dir="/tmp")
    mnt = os.path.join(demo, "mnt")
    devdir = tmp_path / "dev"
    devdir.mkdir()
    args = {"uid": uid, "gid": gid, "user": user.pw_name, "demo": demo, "script": DEMO,
            "devdir": str(devdir)}
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "inner.py").write_text(INNER)
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "/usr/bin/python3",
                            str(tmp_path / "inner.py"), str(tmp_path / "args.json")],
                           capture_output=True, text=True, timeout=2400)
    finally:
        shutil.rmtree(demo, ignore_errors=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    demo_out = res["demo"]["out"] + res["demo"]["err"]
    assert res["demo"]["rc"] == 0, demo_out
    assert "The demo mailbox is mounted on %s" % mnt in res["demo"]["out"], demo_out
    assert "xdg-open %s/101 " % mnt in res["demo"]["out"], demo_out
    assert res["mounted"]
    assert res["fuse_mode"] == "0o666"   # made usable, as udev would

    # Everything of the demo is the user's, private to them.
    assert res["demo_dir"] == [uid, gid, "0o700"]
    assert res["credentials"] == [uid, "0o600"]
    assert res["cache_uid"] == uid
    assert res["daemon_uids"] == [uid]   # rcfs runs as them

    # They can list it and read a file; what they see is theirs; others cannot.
    assert res["ls"][0] == 0 and res["ls"][1], res["ls"]
    assert res["owner"] == "%d:%d" % (uid, gid)
    assert res["cat"][:2] == [0, "{"], res["cat"]
    assert res["other_ls_rc"] != 0

    # scripts/demo stop (with sudo, as the demo says): unmounted, rcfs gone, emulator stopped.
    assert "sudo scripts/demo stop" in res["demo"]["out"]
    assert res["stop"]["rc"] == 0 and "demo stopped" in res["stop"]["out"], res["stop"]
    assert not res["mounted_after"] and not res["emulator_pid_left"]
    assert res["daemon_left"] == []
    assert not is_mounted(mnt)   # nothing ever left the namespace
