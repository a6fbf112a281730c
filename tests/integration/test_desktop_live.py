"""A file manager's open folder updates itself: PCManFM under Xvfb shows a
fax that arrives by push, without any key press.

PCManFM watches the folder it shows with inotify (GIO); rcfs makes the
kernel raise IN_CREATE for the new message folder (fs_live.c).  The window is
read back with Tesseract (the screenshot's text), and both screenshots are
kept in tests/artifacts/ (pcmanfm-live-before.png, pcmanfm-live-after.png)."""

import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.desktop import desktop_env, need, save_artifact, start_xvfb, stop  # noqa: E402
from tests.lib.rcfs import top  # noqa: E402


def screen_text(env, win, png):
    """Screenshot window win into png and read it (scaled up for Tesseract)."""
    subprocess.run(["/usr/bin/import", "-window", win, png], env=env, check=True, timeout=60)
    big = png + ".x2.png"
    subprocess.run(["/usr/bin/convert", png, "-resize", "200%", big], check=True, timeout=60)
    r = subprocess.run(["tesseract", big, "-", "--psm", "6"], capture_output=True, text=True,
                       timeout=120)
    return r.stdout


def start_pcmanfm(tmp_path, folder):
    pcmanfm = need("pcmanfm", "pcmanfm")
    need("xdotool", "xdotool")
    dbus = need("dbus-run-session", "dbus-daemon")
    need("tesseract", "tesseract-ocr")
    if not os.path.exists("/usr/bin/import"):
        pytest.skip("import not found (apt-get install imagemagick)")
    env = desktop_env(tmp_path)
    x = start_xvfb(env, "1280x720x24")
    log = open(tmp_path / "pcmanfm.log", "wb")
    fm = subprocess.Popen([dbus, "--", pcmanfm, folder], env=env, stdout=log, stderr=log,
                          start_new_session=True)
    return x, fm, env


def test_pcmanfm_shows_a_pushed_fax_without_a_key_press(make_emu, make_mount, tmp_path):
    emu = make_emu(seed=7, extensions=1, messages=40)
    m = make_mount(emu, name="RingCentral", opts={"poll": "0", "push": "on"}).start()
    fax = os.path.join(top(m, emu), "Fax")
    assert len(os.listdir(fax)) < 15, "the list must fit in the window"
    x, fm, env = start_pcmanfm(tmp_path, fax)
    try:
        r = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "^Fax$"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.split(), r.stderr
        win = r.stdout.split()[0]
        subprocess.run(["xdotool", "windowmove", win, "0", "0"], env=env)
        subprocess.run(["xdotool", "windowsize", win, "1200", "680"], env=env)
        time.sleep(2)  # let the first rendering settle
        before = str(tmp_path / "before.png")
        text = screen_text(env, win, before)
        assert "6505550123" not in text
        save_artifact(before, "pcmanfm-live-before.png")
        new = emu.add_message(emu.extensions()[0]["extensionNumber"], "Fax",
                              **{"from": "+16505550123"})
        after = str(tmp_path / "after.png")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = screen_text(env, win, after)
            if "6505550123" in text:
                break
            time.sleep(0.5)
        save_artifact(after, "pcmanfm-live-after.png")
        assert "6505550123" in text, text
        assert any(n.endswith("_%s" % new["id"]) for n in os.listdir(fax))
    finally:
        stop(fm)
        stop(x)
