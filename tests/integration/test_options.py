"""The command line as sshfs users expect it, against real mounts.

  - -d implies -f: rcfs stays in the foreground and logs to stderr;
  - fsname= and subtype= reach /proc/self/mounts (the user's win);
  - an unknown option or a value out of range fails at once, naming the
    option (and the range), before any request reaches the server;
  - -o log=FILE: a background mount appends its messages there (mode 0600),
    and SIGHUP reopens the file after rotation instead of unmounting;
  - -o max_read= works in the background (libfuse used to refuse it at the
    kernel's INIT, after rcfs had said "mounted" and exited 0);
  - allow_other always brings default_permissions;
  - --help and the man page list the same options, defaults and ranges, and
    the docs state no other default.
"""

import os
import re
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.rcfs import RCFS, ROOT, is_mounted, sanitizer_env  # noqa: E402
from tests.lib.wait import must as wait_for  # noqa: E402

MAN = os.path.join(ROOT, "doc", "rcfs.1")


def mount_fields(path):
    """(source, type, options) of path's line in /proc/self/mounts."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            src, mnt, typ, opts = line.split()[:4]
            if mnt == path:
                return src, typ, opts.split(",")
    raise AssertionError("%s is not in /proc/self/mounts" % path)


def assert_no_secret(emu, text):
    for s in emu.secrets():
        assert s not in text


# ---------------------------------------------------------------- -d implies -f

def test_d_stays_in_the_foreground_and_logs_to_stderr(emu, make_mount, tmp_path):
    m = make_mount(emu)
    cmd = [a for a in m.command() if a != "-f"]
    cmd[1:1] = ["-d"]
    assert "-f" not in cmd
    log = tmp_path / "d.log"
    with open(log, "wb") as f:
        m.proc = subprocess.Popen(cmd, stdout=f, stderr=f, env=sanitizer_env(),
                                  start_new_session=True)
    m.logs.append(str(log))
    wait_for(lambda: is_mounted(m.path) or m.proc.poll() is not None, what="the mount")
    assert is_mounted(m.path), log.read_text()
    ext = emu.extensions()[0]["extensionNumber"]
    assert os.listdir(m.p(ext, "Fax"))
    # The command itself serves the mount: it did not return.
    assert m.proc.poll() is None
    text = log.read_text()
    assert re.search(r"^rcfs [\d:.]+ info: rcfs \S+ mounted on %s" % re.escape(m.path), text,
                     re.M), text
    assert re.search(r"^rcfs [\d:.]+ debug: ", text, re.M), text
    assert "rcfs: mounted on" not in text   # the line a detaching rcfs prints
    assert m.stop() == 0
    assert_no_secret(emu, log.read_text())


# ---------------------------------------------------------------- fsname, subtype

def test_default_fsname_and_subtype(emu, make_mount):
    m = make_mount(emu).start()
    assert mount_fields(m.path)[:2] == ("rcfs", "fuse.rcfs")
    m.stop()
    m.args = ["ringcentral"]   # SOURCE, as mount.fuse3 passes it
    m.start()
    assert mount_fields(m.path)[:2] == ("ringcentral", "fuse.rcfs")


def test_users_fsname_and_subtype_win(emu, make_mount):
    m = make_mount(emu, opts={"fsname": "my-messages", "subtype": "rcx"}, args=["ringcentral"])
    m.start()
    src, typ, _ = mount_fields(m.path)
    assert (src, typ) == ("my-messages", "fuse.rcx")
    ext = emu.extensions()[0]["extensionNumber"]
    assert os.listdir(m.p(ext, "Fax"))


# ---------------------------------------------------------------- refusals

def run_rcfs(m, *extra, foreground=True, timeout=60):
    """Run rcfs with m's usual options plus extra; returns CompletedProcess."""
    cmd = m.command()
    if not foreground:
        cmd.remove("-f")
    cmd[1:1] = list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, env=sanitizer_env(),
                          timeout=timeout)


@pytest.mark.parametrize("foreground", [True, False], ids=["fg", "bg"])
def test_unknown_option_fails_at_once_naming_it(emu, make_mount, foreground):
    m = make_mount(emu)
    emu.reset_counts()
    r = run_rcfs(m, "-o", "ro,no_such_option=1", foreground=foreground)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [
        "rcfs: unknown option: -o no_such_option=1 (see rcfs --help)"], r.stderr
    assert not is_mounted(m.path)
    assert sum(emu.counts()["routes"].values()) == 0   # refused before logging in
    r = run_rcfs(m, "--no-such-switch", foreground=foreground)
    assert r.returncode != 0 and "unknown option: --no-such-switch" in r.stderr
    # Options of libfuse's high-level API or of other programs are not
    # silently taken either.
    for opt in ("nonempty", "clone_fd", "max_threads=4", "kernel_cache"):
        r = run_rcfs(m, "-o", opt, foreground=foreground)
        assert r.returncode != 0 and "unknown option: -o %s" % opt in r.stderr, (opt, r.stderr)
    assert sum(emu.counts()["routes"].values()) == 0


BAD_VALUES = [
    ("poll=-1", "poll=-1: must be a whole number from 0 to 86400"),
    ("poll=soon", "poll=soon: must be a whole number from 0 to 86400"),
    ("timeout=0", "timeout=0: must be a whole number from 1 to 3600"),
    ("max_downloads=65", "max_downloads=65: must be a whole number from 1 to 64"),
    ("probe_kib=0", "probe_kib=0: must be a whole number from 1 to 65536"),
    ("umask=8", "umask=8: must be an octal number from 000 to 777"),
    ("uid=alice", "uid=alice: must be a whole number from 0 to 4294967294"),
    ("gid=-5", "gid=-5: must be a whole number from 0 to 4294967294"),
    ("cache_max=lots", "cache_max=lots: must be a size in bytes, such as 500M, 2G or 0"),
    ("max_read=512", "max_read=512: must be a whole number from 4096 to 1048576"),
    ("purge=yes", "purge=yes: purge takes no value"),
    ("credentials", "credentials needs a value: credentials=FILE"),
    ("fsname=", "fsname=: must not be empty"),
]


@pytest.mark.parametrize("opt,message", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_value_is_refused_naming_the_option_and_range(emu, make_mount, opt, message):
    m = make_mount(emu)
    emu.reset_counts()
    for foreground in (True, False):
        r = run_rcfs(m, "-o", opt, foreground=foreground)
        assert r.returncode == 1
        assert r.stderr.strip().splitlines() == ["rcfs: " + message], r.stderr
        assert not is_mounted(m.path)
    assert sum(emu.counts()["routes"].values()) == 0


def test_a_log_file_that_cannot_be_opened_fails_the_start(emu, make_mount, tmp_path):
    bad = tmp_path / "no-such-folder" / "rcfs.log"
    m = make_mount(emu, opts={"log": str(bad)}, foreground=False)
    m.start(expect_fail=True)
    assert m.returncode == 1
    assert "cannot open the log file %s" % bad in m.log()
    assert not is_mounted(m.path)


# ---------------------------------------------------------------- -o log=FILE

LINE_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rcfs\[(\d+)\] (error|warning|info|debug): "


def test_log_file_of_a_background_mount(emu, make_mount, tmp_path):
    log = tmp_path / "logs" / "rcfs.log"
    log.parent.mkdir()
    m = make_mount(emu, opts={"log": str(log)}, foreground=False)
    old = os.umask(0)   # the file's mode must not depend on the caller's umask
    try:
        m.start()
    finally:
        os.umask(old)
    assert m.returncode == 0
    assert "rcfs: mounted on %s" % m.path in open(m.logs[0]).read()   # the command's stderr
    assert os.stat(log).st_mode & 0o777 == 0o600
    ext = emu.extensions()[0]["extensionNumber"]
    assert os.listdir(m.p(ext, "Fax"))
    assert m.stop() == 0
    text = log.read_text()
    lines = text.splitlines()
    assert lines and all(re.match(LINE_RE, ln) for ln in lines), text
    pids = {re.match(LINE_RE, ln).group(1) for ln in lines}
    assert str(m.returncode) not in pids
    assert re.search(LINE_RE + r"rcfs \S+ mounted on %s" % re.escape(m.path), text, re.M), text
    assert "unmounted" in lines[-1] or any("unmounted" in ln for ln in lines[-3:]), text
    assert_no_secret(emu, text)

    # A second mount appends: the first one's lines stay.
    m.start()
    m.stop()
    text2 = log.read_text()
    assert text2.startswith(text) and len(text2) > len(text)
    assert len(re.findall(r"mounted on %s" % re.escape(m.path), text2)) == 2


def test_sighup_reopens_the_log_file(emu, make_mount, tmp_path):
    log = tmp_path / "rcfs.log"
    m = make_mount(emu, opts={"log": str(log)}, foreground=False).start()
    wait_for(lambda: log.exists() and "mounted on" in log.read_text(), what="the first lines")
    os.rename(log, str(log) + ".1")   # what logrotate does
    os.kill(m.daemon_pid, signal.SIGHUP)
    wait_for(lambda: log.exists() and "log file reopened" in log.read_text(),
             what="the reopened log")
    assert is_mounted(m.path)   # SIGHUP did not unmount
    assert "mounted on" not in log.read_text()
    assert os.stat(log).st_mode & 0o777 == 0o600
    ext = emu.extensions()[0]["extensionNumber"]
    assert os.listdir(m.p(ext, "Fax"))
    assert m.stop() == 0
    assert "unmounted" in log.read_text()
    assert "unmounted" not in open(str(log) + ".1").read()


# ---------------------------------------------------------------- max_read, allow_other

def test_max_read_in_the_background_mounts_and_serves(emu, make_mount, tmp_path):
    m = make_mount(emu, opts={"max_read": "65536", "log": str(tmp_path / "rcfs.log")},
                   foreground=False)
    m.start()
    assert m.returncode == 0
    assert "max_read=65536" in mount_fields(m.path)[2]
    ext = emu.extensions()[0]["extensionNumber"]
    msgs = sorted(os.listdir(m.p(ext, "SMS")))
    with open(m.p(ext, "SMS", msgs[0], "meta.json"), "rb") as f:
        assert f.read().startswith(b"{")
    assert m.stop() == 0
    assert "different maximum read size" not in m.log(all_runs=True)


def test_allow_other_implies_default_permissions(emu, make_mount):
    m = make_mount(emu).start()
    assert "default_permissions" not in mount_fields(m.path)[2]
    m.stop()
    m.opts["allow_other"] = True
    m.start()
    opts = mount_fields(m.path)[2]
    assert "allow_other" in opts and "default_permissions" in opts, opts


# ---------------------------------------------------------------- --help and the man page

def help_options():
    """{name: help text} of every option --help lists ("-d", "debug", "poll", ...)."""
    r = subprocess.run([RCFS, "--help"], capture_output=True, text=True, env=sanitizer_env())
    assert r.returncode == 0 and r.stderr == ""
    entries = []   # [names column, help text]
    for line in r.stdout.splitlines():
        if re.match(r"^    \S", line):
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            if entries and entries[-1][0].endswith(",") and not entries[-1][1]:
                entries[-1][0] += " " + parts[0]   # a list of names wrapped
            else:
                entries.append([parts[0], ""])
            if len(parts) > 1:
                entries[-1][1] += " " + parts[1]
        elif line.startswith(" " * 29) and entries:
            entries[-1][1] += " " + line.strip()
    out = {}
    for names, text in entries:
        for n in names.split(","):
            out[re.sub(r"^-o ", "", n.strip()).split("=")[0]] = " ".join(text.split())
    return out


def roff_args(line):
    """The arguments of a roff macro line, with roff's double quotes."""
    return [a if not a.startswith('"') else a[1:-1]
            for a in re.findall(r'"[^"]*"|\S+', line.split(None, 1)[1] if " " in line else "")]


def plain(s):
    s = s.replace("\\-", "-").replace("\\(aq", "'").replace("\\e", "\\").replace("\\&", "")
    return re.sub(r"\\f[BIRP]", "", s)


def man_options():
    """{name: paragraph text} of every option the man page's OPTIONS lists."""
    with open(MAN) as f:
        src = f.read().replace("\\\n", " ")
    section = src.split("\n.SH OPTIONS\n")[1].split("\n.SH ")[0]
    out = {}
    for entry in section.split("\n.TP\n")[1:]:
        head, _, body = entry.partition("\n")
        macro = head.split()[0]
        if macro in (".I", ".IR"):
            continue   # an operand (source), not an option
        args = roff_args(head)
        bold = args if macro == ".B" else args[0::2]
        body = body.split("\n.SS ")[0]
        text = " ".join(plain(" ".join(roff_args(ln)) if ln.startswith(".") else ln)
                        for ln in body.splitlines())
        for b in bold:
            b = plain(b).strip().rstrip(",")
            for n in b.split(","):
                n = re.sub(r"^-o ", "", n.strip()).split("=")[0]
                if n:
                    out[n] = " ".join(text.split())
    return out


def test_help_and_the_man_page_list_the_same_options_defaults_and_ranges():
    helps = help_options()
    mans = man_options()
    assert set(helps) == set(mans), (sorted(set(helps) - set(mans)), sorted(set(mans) - set(helps)))
    # The options the brief and the contract promise are among them.
    for n in ("-h", "--help", "-V", "--version", "-f", "-d", "debug", "-s", "credentials",
              "cache_dir", "cache_max", "media_url", "log", "poll", "timeout", "max_downloads",
              "probe_kib", "no_thumbnails", "purge", "uid", "gid", "umask", "allow_other",
              "allow_root", "default_permissions", "auto_unmount", "fsname", "subtype",
              "max_read", "ro", "rw", "nosuid", "nodev", "noexec"):
        assert n in helps, n
    checked = 0
    for n, text in helps.items():
        d = re.search(r"\(default ([^\s;)]+)[;)]", text)
        if d:
            assert re.search(r"[Dd]efault:? %s\b" % re.escape(d.group(1)), mans[n]), \
                (n, d.group(1), mans[n])
            checked += 1
        r = re.search(r"\b(\d+)\.\.(\d+)\)", text)
        if r:
            assert "%s to %s" % r.groups() in mans[n], (n, r.groups(), mans[n])
            checked += 1
    assert checked >= 15
    assert "probe_kib" in helps and "default 4096" in helps["probe_kib"]


def test_the_docs_state_the_same_defaults():
    """A sentence of README.md or docs/*.md that names an option and says
    "default" must say the default --help says; sizes of probe_kib (in KiB or
    MiB) must be the default."""
    defaults = {}
    for n, text in help_options().items():
        d = re.search(r"\(default ([^\s;)]+)[;)]", text)
        if d:
            defaults[n] = d.group(1)
    docs = [os.path.join(ROOT, "README.md")]
    docs += sorted(os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                   if f.endswith(".md"))
    checked = 0
    for doc in docs:
        with open(doc) as f:
            text = f.read()
        for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
            sentence = " ".join(sentence.split())
            for n, d in defaults.items():
                if not re.search(r"(?<![\w-])%s\b" % re.escape(n), sentence):
                    continue
                if re.search(r"\bdefault\b", sentence, re.I) and len(n) > 2:
                    assert re.search(r"(?<![\w.])%s\b" % re.escape(d), sentence), \
                        (os.path.basename(doc), n, d, sentence)
                    checked += 1
                if n == "probe_kib":
                    for num, unit in re.findall(r"(\d+) (KiB|MiB)", sentence):
                        kib = int(num) * (1024 if unit == "MiB" else 1)
                        assert kib == int(d), (os.path.basename(doc), sentence)
                        checked += 1
    assert checked >= 3
