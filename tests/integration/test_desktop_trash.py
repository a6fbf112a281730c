"""A file manager's Trash is the mailbox's trash: PCManFM under Xvfb, with
gvfs on its own session bus, trashes an rcfs message and restores it.

Everything is done in PCManFM itself, as a person would:
  1. the Fax folder's window: click the message, press Delete; PCManFM
     (libfm.conf: use_trash=1, confirm_trash=1, its defaults) asks "Do you
     want to move the file '...' to trash can?", Return answers Yes; GLib's
     g_file_trash moves it into MOUNT/.Trash-UID/files: one DELETE;
  2. the Trash window (the side pane's "Trash Can": trash:///, which
     gvfsd-trash serves) lists it;
  3. right-click on its row, "Restore" in the menu (libfm's gtk-menu-trash
     module, Debian's libfm-modules: g_file_move from trash:/// to the
     original path, which gvfsd-trash does as a rename of files/NAME back
     there): one restore request, the message is Alive and back in Fax/, and
     the Trash window no longer lists it.
PCManFM 1.3 shows no original-location column (its "Location" column is
the folder the item is in, trash:///); the original location Restore uses
is checked through gvfs (`gio trash --list` on the same bus) instead.

Where things are on the screen and what the windows say is read back with
Tesseract from screenshots (scaled up twice; its TSV output gives each
word's box, so the test clicks where it reads the message's name).  Both
screenshots of the Trash window are kept in tests/artifacts/
(pcmanfm-trash-before.png, pcmanfm-trash-after.png).

gvfsd-trash lists the .Trash-UID of every mount it sees, and on a shared
machine that includes other rcfs mounts (other tests): the desktop (its bus,
gvfsd, PCManFM) runs in a mount namespace of its own where the only FUSE
mount left is this test's.  At the end the bus's process group (gvfsd and
its backends) is ended and the test waits until nothing is left in that
namespace.  No assertion depends on timing: conditions are waited for with
generous deadlines."""

import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.wait import poll as wait_for  # noqa: E402
from tests.lib.desktop import (PCMANFM_CONF, desktop_env, need, save_artifact,  # noqa: E402
                               start_xvfb, stop)
from tests.lib.rcfs import top  # noqa: E402

WRITE_ROUTES = ("delete", "put", "patch")

LIBFM_CONF = """[config]
use_trash=1
confirm_trash=1
confirm_del=1
"""

# Run in the new mount namespace before the session bus: lazily unmount
# every FUSE mount but argv[1] (in this namespace only), then exec argv[2:].
NS_ENTRY = r"""
import os, re, subprocess, sys
keep = sys.argv[1]
for line in open("/proc/self/mounts"):
    path, fstype = line.split()[1:3]
    path = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)
    if (fstype == "fuse" or fstype.startswith("fuse.")) and path != keep:
        subprocess.run(["umount", "-l", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def writes(emu):
    r = emu.counts()["routes"]
    return {k: r[k] for k in WRITE_ROUTES if r.get(k)}


def mid_of(name):
    return name.rsplit("_", 1)[1]


# ---------------------------------------------------------------- reading the screen

def ocr(env, win, png, psm):
    """Screenshot window win ("root": the whole screen, menus included) into
    png and read it: [(line, [(word, x, y, w, h)])], boxes in the window's
    coordinates."""
    subprocess.run(["/usr/bin/import", "-window", win, png], env=env, check=True, timeout=60)
    big = png + ".x2.png"
    subprocess.run(["/usr/bin/convert", png, "-resize", "200%", big], check=True, timeout=60)
    r = subprocess.run(["tesseract", big, "-", "--psm", str(psm), "tsv"], capture_output=True,
                       text=True, timeout=120)
    lines = {}
    for row in r.stdout.splitlines()[1:]:
        f = row.split("\t")
        if len(f) != 12 or f[0] != "5" or not f[11].strip():
            continue
        x, y, w, h = (int(v) // 2 for v in f[6:10])
        lines.setdefault(tuple(f[1:5]), []).append((f[11], x, y, w, h))
    return [(" ".join(w[0] for w in words), words) for words in lines.values()]


def read_until(env, win, png, psm, cond, timeout=60):
    """ocr() window win again and again until cond(lines) holds: those
    lines, or None when it never did (png is the last screenshot)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = ocr(env, win, png, psm)
        if cond(lines):
            return lines
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def row_of(lines, name):
    """The box of message `name` in a listing read by ocr(): the word that
    ends with its message id, on a line that also has its number's digits
    (Tesseract reads digits well; it may drop or change '_', 'T', 'Z', '+',
    and split the name into words or not)."""
    mid = mid_of(name)
    number = re.sub(r"\D", "", name.split("_")[1])
    for text, words in lines:
        if number in re.sub(r"\D", "", text):
            for w in words:
                if re.sub(r"\D", "", w[0]).endswith(mid):
                    return w
    return None


def place(lines, label):
    """The box of the first word of `label` where its words follow each
    other on a line read by ocr() (a place in the side pane, a menu item)."""
    for _, words in lines:
        texts = [w[0] for w in words]
        for i in range(len(texts)):
            if texts[i:i + len(label.split())] == label.split():
                return words[i]
    return None


def text_of(lines):
    return "\n".join(t for t, _ in lines)


def shows(lines, names):
    """Every one of names is in the listing read by ocr()."""
    return all(row_of(lines, n) for n in names)


def trash_list(desk):
    """The original paths gvfs gives the Trash's items (gio trash --list)."""
    return sorted(line.split("\t", 1)[1] for line in desk.gio("trash", "--list").splitlines())


def click(env, win, box, button=1):
    """Click the middle of box, in window win's coordinates ("root": the screen's)."""
    x, y = box[1] + box[3] // 2, box[2] + box[4] // 2
    where = [] if win == "root" else ["--window", win]
    subprocess.run(["xdotool", "mousemove"] + where + [str(x), str(y), "click", str(button)],
                   env=env, check=True, timeout=30)


# ---------------------------------------------------------------- a desktop of its own

class Desktop:
    """Xvfb, and in a mount namespace that sees only `keep` of the FUSE
    mounts: a session bus (gvfsd comes on it on demand) and what run() starts."""

    def __init__(self, tmp_path, keep):
        self.tmp = tmp_path
        self.keep = keep
        self.x = self.bus = self.ns = None
        self.procs = []
        self.logs = []
        # The path bar as buttons: the entry's inline completion would add
        # the common prefix of the Trash's names to "trash:///" (libfm 1.3).
        self.env = desktop_env(
            tmp_path, PCMANFM_CONF.replace("pathbar_mode_buttons=0", "pathbar_mode_buttons=1"),
            GIO_USE_VFS="gvfs", GVFS_DISABLE_FUSE="1")
        libfm = tmp_path / "home" / ".config" / "libfm"
        libfm.mkdir(parents=True)
        (libfm / "libfm.conf").write_text(LIBFM_CONF)

    def start(self):
        self.x = start_xvfb(self.env, "1280x720x24")
        # The bus is the namespace's first process; what it activates
        # (gvfsd, gvfsd-trash, gvfsd-metadata) stays in its process group.
        self.bus = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", NS_ENTRY,
             self.keep, need("dbus-daemon", "dbus-daemon"), "--session", "--nofork",
             "--print-address"],
            env=self.env, stdout=subprocess.PIPE, stderr=self.log("dbus.log"), text=True,
            start_new_session=True)
        address = self.bus.stdout.readline().strip()
        assert address.startswith("unix:"), open(self.tmp / "dbus.log").read()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.ns = os.readlink("/proc/%d/ns/mnt" % self.bus.pid)
        assert self.ns != os.readlink("/proc/self/ns/mnt")
        return self

    def log(self, name):
        self.logs.append(open(self.tmp / name, "ab"))
        return self.logs[-1]

    def argv(self, *args):
        return ["nsenter", "--target", str(self.bus.pid), "--mount", "--"] + list(args)

    def run(self, *args, log="pcmanfm.log"):
        p = subprocess.Popen(self.argv(*args), env=self.env, stdout=self.log(log),
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def gio(self, *args):
        r = subprocess.run(self.argv("gio", *args), env=self.env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def window(self, title):
        r = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", title],
                           env=self.env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stdout.split(), (title, r.stderr)
        return r.stdout.split()[0]

    def key(self, win, *keys):
        subprocess.run(["xdotool", "key", "--window", win] + list(keys), env=self.env,
                       check=True, timeout=30)

    def in_namespace(self):
        pids = []
        if self.ns is None:
            return pids
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.readlink("/proc/%s/ns/mnt" % d) == self.ns:
                        pids.append(int(d))
                except OSError:
                    pass
        return pids

    def stop(self):
        """Stop everything; returns the pids that would not go on SIGTERM.
        Nothing is left in the namespace after (its copy of the mount with it)."""
        for p in self.procs:
            stop(p)
        stubborn = []
        if self.bus is not None:
            try:
                os.killpg(self.bus.pid, signal.SIGTERM)  # the bus and gvfs with it
            except ProcessLookupError:
                pass
            self.bus.wait(30)
            if not wait_for(lambda: not self.in_namespace(), 30):
                stubborn = self.in_namespace()
                for pid in stubborn:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                assert wait_for(lambda: not self.in_namespace(), 30), self.in_namespace()
        if self.x is not None:
            stop(self.x)
        for f in self.logs + [p.stdout for p in (self.x, self.bus) if p is not None]:
            f.close()
        return stubborn


@pytest.fixture
def desktop(tmp_path, make_mount):
    need("pcmanfm", "pcmanfm")
    need("xdotool", "xdotool")
    need("tesseract", "tesseract-ocr")
    need("gio", "libglib2.0-bin")
    if not os.path.exists("/usr/libexec/gvfsd-trash"):
        pytest.skip("gvfsd-trash not found (apt-get install gvfs gvfs-daemons)")
    if not os.path.exists("/usr/bin/import"):
        pytest.skip("import not found (apt-get install imagemagick)")
    if not glob.glob("/usr/lib/*/libfm/modules/gtk-menu-trash.so"):
        pytest.skip("PCManFM has no Restore without libfm's gtk-menu-trash module "
                    "(apt-get install libfm-modules)")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here: %s" % probe.stderr.decode().strip())
    # make_mount is asked for so that this teardown runs before the mounts':
    # the namespace's copy of a mount would keep its rcfs from exiting.
    made = []

    def make(keep):
        d = Desktop(tmp_path, keep)
        made.append(d)
        return d.start()
    yield make
    for d in made:
        stubborn = d.stop()
        assert not stubborn, "left running after the session bus went: %s" % stubborn
        if os.path.exists(tmp_path / "pcmanfm.log"):
            save_artifact(str(tmp_path / "pcmanfm.log"), "pcmanfm-trash.log")


def test_pcmanfm_trashes_a_message_and_restores_it(make_emu, make_mount, tmp_path, desktop):
    emu = make_emu(seed=7, extensions=1, messages=40)   # its Deleted/ fits in the window
    m = make_mount(emu, name="RingCentral").start()
    t = top(m, emu)
    fax = os.path.join(t, "Fax")
    name = next(n for n in sorted(os.listdir(fax)) if len(re.sub(r"\D", "", n.split("_")[1])) >= 7)
    src = os.path.join(fax, name)
    others = sorted(os.listdir(os.path.join(t, "Deleted")))
    assert 0 < len(others) < 12 and name not in others
    d = desktop(m.path)
    d.run("pcmanfm", fax)
    win = d.window("^Fax$")
    subprocess.run(["xdotool", "windowmove", win, "0", "0"], env=d.env, check=True)
    subprocess.run(["xdotool", "windowsize", win, "1200", "680"], env=d.env, check=True)
    shot = str(tmp_path / "fax.png")
    lines = read_until(d.env, win, shot, 4,
                       lambda ls: row_of(ls, name) and place(ls, "Trash Can"))
    assert lines, "the Fax window does not show %s and the Trash Can" % name
    box = row_of(lines, name)

    # 1. Select it, press Delete, answer PCManFM's question.
    emu.reset_counts()
    click(d.env, win, box)
    d.key(win, "Delete")
    ask = d.window("^Confirm$")
    question = read_until(d.env, ask, str(tmp_path / "ask.png"), 6, lambda ls: "trash" in
                          text_of(ls) and mid_of(name) in re.sub(r"\D", "", text_of(ls)))
    assert question, "PCManFM's question does not name %s" % name
    d.key(ask, "Return")
    assert wait_for(lambda: emu.truth(mid_of(name))["availability"] == "Deleted")
    assert writes(emu) == {"delete": 1}
    assert name not in os.listdir(fax)
    assert name in os.listdir(os.path.join(t, "Deleted"))

    # 2. The Trash window lists it; gvfs knows where it came from.
    click(d.env, win, place(lines, "Trash Can"))
    assert d.window("^trash:///$") == win
    before = str(tmp_path / "before.png")
    lines = read_until(d.env, win, before, 4, lambda ls: row_of(ls, name) and shows(ls, others))
    save_artifact(before, "pcmanfm-trash-before.png")
    assert lines, "the Trash window does not show %s and %s" % (name, others)
    # Only this mount's Trash is there (the namespace): what was deleted
    # already, and it, with the place Restore puts it back.
    listed = trash_list(d)
    assert sorted(os.path.basename(p) for p in listed) == sorted(others + [name]), listed
    assert src in listed and all(p.startswith(t + "/") for p in listed), listed

    # 3. Right-click it, Restore.
    emu.reset_counts()
    box = row_of(lines, name)
    click(d.env, win, box)
    click(d.env, win, box, button=3)
    menu = str(tmp_path / "menu.png")
    shown = read_until(d.env, "root", menu, 11, lambda ls: place(ls, "Restore"))
    assert shown, "no Restore in the menu"
    click(d.env, "root", place(shown, "Restore"))
    assert wait_for(lambda: emu.truth(mid_of(name))["availability"] == "Alive")
    assert writes(emu) == {"patch": 1}
    assert name in os.listdir(fax)
    assert name not in os.listdir(os.path.join(t, "Deleted"))
    assert os.path.isfile(os.path.join(src, "meta.json"))
    after = str(tmp_path / "after.png")
    lines = read_until(d.env, win, after, 4,
                       lambda ls: shows(ls, others) and mid_of(name) not in text_of(ls))
    save_artifact(after, "pcmanfm-trash-after.png")
    assert lines, "the Trash window still shows %s, or not %s" % (name, others)
    assert src not in trash_list(d)
    assert writes(emu) == {"patch": 1}
