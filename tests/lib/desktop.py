"""The desktop the file-manager tests run rcfs under: a home folder of its own
with PCManFM's settings, a private runtime folder, Xvfb, the tools they need
(a test is skipped when one is missing), and where screenshots are kept."""

import os
import shutil
import signal
import subprocess

import pytest

from tests.lib.rcfs import ROOT

# Screenshots and window texts of the desktop tests (git ignores the folder).
ARTIFACTS = os.environ.get("RCFS_ARTIFACTS") or os.path.join(ROOT, "tests", "artifacts")

PCMANFM_CONF = """[config]
bm_open_method=0

[ui]
win_width=960
win_height=600
splitter_pos=170
side_pane_mode=places
view_mode=list
show_hidden=0
sort=name;ascending;
toolbar=newtab;navigation;home;
show_statusbar=1
pathbar_mode_buttons=0
"""


def need(tool, package):
    """The path of tool; skips the test when it is not installed."""
    path = shutil.which(tool)
    if not path:
        pytest.skip("%s not found (apt-get install %s)" % (tool, package))
    return path


def save_artifact(src, name):
    """Copy src into ARTIFACTS as name; returns the copy's path."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    dst = os.path.join(ARTIFACTS, name)
    shutil.copyfile(src, dst)
    return dst


def desktop_env(tmp_path, pcmanfm_conf=PCMANFM_CONF, **extra):
    """A home folder under tmp_path holding pcmanfm_conf, a private runtime
    folder, and the environment of a desktop session using them (plus extra;
    no DISPLAY until start_xvfb)."""
    home = tmp_path / "home"
    conf = home / ".config" / "pcmanfm" / "default"
    conf.mkdir(parents=True)
    (conf / "pcmanfm.conf").write_text(pcmanfm_conf)
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": str(run), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
           "NO_AT_BRIDGE": "1", "GDK_BACKEND": "x11"}
    env.update(extra)
    return env


def start_xvfb(env, screen="1024x640x24"):
    """Xvfb on a free display, in a session of its own (stop it by its process
    group); env gets its DISPLAY.  Returns the process."""
    x = subprocess.Popen([need("Xvfb", "xvfb"), "-displayfd", "1", "-screen", "0", screen,
                          "-nolisten", "tcp", "-noreset"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    display = x.stdout.readline().decode().strip()
    if not display.isdigit():
        x.kill()
        x.wait()
        raise AssertionError("Xvfb gave no display")
    env["DISPLAY"] = ":" + display
    return x


def stop(proc):
    """SIGTERM proc's process group, SIGKILL after 10 s; no-op when gone."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
