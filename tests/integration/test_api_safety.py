"""The REST client's safety limits seen through a real mount: a stalled token
request, and credentials that may read only their own extension.
Outcomes and request counts; the only times asserted are a system call's own
-o timeout=, with generous slack."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib import names  # noqa: E402


def test_non_admin_rsync_copies_own_extension(make_emu, make_mount, tmp_path):
    """A non-admin's token gets 403 on every extension but its own: the mount
    shows only its own, so `rsync -a` copies everything and exits 0 (it
    exited 23 on the other extensions' folders)."""
    emu = make_emu(messages=40, extensions=3, extra_args=["--non-admin"])
    m = make_mount(emu).start()
    own = emu.extensions()[0]["extensionNumber"]
    assert sorted(os.listdir(m.path)) == [own]
    dest = tmp_path / "backup"
    p = subprocess.run(["rsync", "-a", m.path + "/", str(dest) + "/"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sorted(os.listdir(str(dest))) == [own]
    for f in names.FOLDERS:
        assert sorted(os.listdir(os.path.join(str(dest), own, f))) == \
            sorted(os.listdir(os.path.join(m.path, own, f)))
    counts = emu.counts()
    assert counts["status"].get("403", 0) == 0, counts["status"]
    assert counts["routes"].get("extension_list", 0) == 0
