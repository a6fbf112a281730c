"""The Outbox from a real file manager (issue 15): PCManFM under Xvfb copies a
PDF into Outbox/Fax/<number>/ with its own copy (libfm, GIO), driven by
keystrokes (xdotool), and exactly one fax of those bytes arrives.

Tools come from Debian packages (scripts/test installs them); a missing one
skips the test.  No assertion depends on timing: every wait is for a
condition (a window title, what the emulator received), with a deadline.
"""

import hashlib
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from tests.lib.wait import must as wait_for  # noqa: E402
from tests.lib.desktop import desktop_env, need, start_xvfb  # noqa: E402
from tests.lib.desktop import stop as stop_group  # noqa: E402
import emu_content  # noqa: E402

PCMANFM_CONF = """[config]
bm_open_method=0
confirm_del=0

[ui]
win_width=960
win_height=600
side_pane_mode=places
view_mode=list
show_hidden=0
sort=name;ascending;
show_statusbar=1
"""


class Desktop:
    """Xvfb, and PCManFM in a D-Bus session on it."""

    def __init__(self, tmp_path):
        need("Xvfb", "xvfb")
        self.pcmanfm = need("pcmanfm", "pcmanfm")
        self.xdotool = need("xdotool", "xdotool")
        self.dbus = need("dbus-run-session", "dbus-daemon")
        self.env = desktop_env(tmp_path, PCMANFM_CONF)
        self.log_path = tmp_path / "pcmanfm.log"
        self.x = None
        self.fm = None

    def start(self, folder):
        self.x = start_xvfb(self.env)
        log = open(self.log_path, "wb")
        self.fm = subprocess.Popen([self.dbus, "--", self.pcmanfm, folder], env=self.env,
                                   stdout=log, stderr=log, start_new_session=True)
        return self.window(os.path.basename(folder))

    def xdo(self, *args, timeout=60):
        r = subprocess.run([self.xdotool] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    def window(self, title):
        """The visible window titled exactly `title` (waits for it)."""
        out = self.xdo("search", "--sync", "--onlyvisible", "--name", "^%s$" % title.replace(
            "+", "\\+"))
        return out.split()[0]

    def keys(self, win, *keys):
        self.xdo("windowfocus", "--sync", win)
        self.xdo("key", "--clearmodifiers", *keys)

    def type(self, win, text):
        self.xdo("windowfocus", "--sync", win)
        self.xdo("type", "--delay", "20", text)

    def stop(self):
        if self.fm is not None:
            stop_group(self.fm)
        if self.x is not None:
            stop_group(self.x)


def test_pcmanfm_copies_a_pdf_into_the_outbox_and_it_is_sent_once(make_emu, make_mount,
                                                                  tmp_path):
    desk = Desktop(tmp_path)
    emu = make_emu(messages=20, extensions=2)
    emu.send_config(delay_ms=200)
    mount = make_mount(emu, opts={"outbox": "on"}).start()
    number = "+16505553000"
    dest = mount.p("101", "Outbox", "Fax", number)
    os.mkdir(dest)
    src = tmp_path / "papers"
    src.mkdir()
    data = emu_content.make_pdf([["contract"], ["signature page"]])
    (src / "contract.pdf").write_bytes(data)
    try:
        win = desk.start(str(src))
        # Select the document and copy it (the clipboard holds its URI) ...
        desk.keys(win, "ctrl+a")
        desk.keys(win, "ctrl+c")
        # ... go to the recipient folder through the location bar ...
        desk.keys(win, "ctrl+l")
        desk.type(win, dest)
        desk.keys(win, "Return")
        win = desk.window(number)
        # ... and paste: PCManFM's own copy job writes it there.
        desk.keys(win, "ctrl+v")
        wait_for(lambda: len(emu.sent()) == 1, what="the fax at the server")
        wait_for(lambda: not os.path.exists(os.path.join(dest, "contract.pdf")),
                 what="the fax leaving the Outbox")
        assert desk.fm.poll() is None, "pcmanfm died"
    finally:
        desk.stop()
    [got] = emu.sent()
    assert got["to"] == [number]
    assert got["attachments"] == [{"fileName": "contract.pdf", "contentType": "application/pdf",
                                   "size": len(data),
                                   "sha256": hashlib.sha256(data).hexdigest()}]
    assert emu.route_count("fax") == 1
