"""Fixtures for the integration tests: a fresh emulator per test and rcfs
mounts that are always unmounted, with sanitizer reports failing the test."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.lib.emu import Emulator  # noqa: E402
from tests.lib.rcfs import RCFS, Mount  # noqa: E402


# Test files that run alone (scripts/test runs them after the others, one at
# a time; `-m serial` selects them).  Three reasons: a private mount namespace
# copies every mount that exists when it is made, and a copy keeps another
# test's rcfs from exiting at its unmount; gvfs (the desktop's Trash) watches
# every mount and keeps it busy; and the request counts of bulk, live and
# pushed changes follow debounce timers that a loaded machine stretches (a
# burst of six new messages came as three ISyncs under ASan, four at a time).
SERIAL = {"test_demo.py", "test_desktop.py", "test_desktop_live.py", "test_desktop_trash.py",
          "test_outbox_desktop.py", "test_trash.py", "test_bulk.py", "test_live.py",
          "test_push.py"}


# Tests that drive a desktop program (a file manager under Xvfb) or the demo.
DESKTOP = {"test_demo.py", "test_desktop.py", "test_desktop_live.py", "test_desktop_trash.py",
           "test_outbox_desktop.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = os.path.basename(str(item.fspath))
        if name in SERIAL:
            item.add_marker(pytest.mark.serial)
        if name in DESKTOP:
            item.add_marker(pytest.mark.desktop)


def pytest_configure(config):
    config.addinivalue_line("markers", "serial: runs alone, never beside other tests")
    config.addinivalue_line("markers", "desktop: drives a desktop program or the demo")
    if not os.path.exists(RCFS):
        raise pytest.UsageError("rcfs binary not found at %s (build first, or set RCFS_BIN)"
                                % RCFS)


@pytest.fixture
def make_emu(tmp_path):
    emus = []

    def make(**kw):
        kw.setdefault("messages", 60)
        kw.setdefault("extensions", 2)
        d = tmp_path / ("emu%d" % len(emus))
        d.mkdir()
        e = Emulator(workdir=str(d), **kw).start()
        emus.append(e)
        return e

    yield make
    for e in emus:
        e.stop()


@pytest.fixture
def emu(make_emu):
    return make_emu()


@pytest.fixture
def make_mount(tmp_path):
    mounts = []

    def make(emu, **kw):
        m = Mount(emu, str(tmp_path), **kw)
        mounts.append(m)
        return m

    yield make
    reports = []
    for m in mounts:
        try:
            m.stop()
        finally:
            m.kill()
        reports += m.sanitizer_reports()
    if reports:
        pytest.fail("sanitizer reports in the rcfs log:\n" + "\n".join(reports[:20]))


@pytest.fixture
def mount(emu, make_mount):
    return make_mount(emu).start()
