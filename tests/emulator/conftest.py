"""pytest fixtures for the emulator's own tests: one shared rcemu per module.

Run with ``/usr/bin/python3 -m pytest -q tests/emulator``.  The harness itself
(Emu, http_request) lives in emu_harness.py.
"""

import pytest

from emu_harness import Emu


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    e = Emu(tmp_path_factory.mktemp("emu"), "--messages", 60, "--extensions", 2, "--seed", 7)
    e.start()
    yield e
    e.stop()


@pytest.fixture
def token(emu):
    """A fresh session per test: some tests expire every token of the run."""
    return emu.login()["access_token"]


@pytest.fixture(scope="module")
def catalog(emu):
    """{extension number: {role: message id}} from the control API's truth."""
    out = {}
    for ext in emu.info["extensions"]:
        roles = {}
        for m in emu.control("GET", "/control/extensions/%s/messages" % ext["id"]):
            t = emu.truth(m["id"])
            for role in t.get("roles", []):
                roles[role] = m["id"]
        out[ext["extensionNumber"]] = roles
    return out
