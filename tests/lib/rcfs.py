"""Mount and unmount rcfs for real, and read what it said.

Tests run rcfs in the foreground (-f) as a child process with its stderr in
a log file, wait until the kernel shows the mount, and always unmount.
Mounts have ocr=off (no fax.txt) unless a test asks for it; they run the
normal build's OCR helper (ocr_helper()).  The
log is checked for sanitizer reports (AddressSanitizer, LeakSanitizer,
UndefinedBehaviorSanitizer, ThreadSanitizer) and lock-order violations
(util/lockrank): any report fails the test.

Mount(..., foreground=False) runs rcfs as users do, without -f: the command
must exit 0 once mounted (returncode), the daemon it leaves behind is the
pid in the cache folder's lock file, and it is stopped by unmounting.  Its
stderr after daemonising is /dev/null, so it gets -o log=FILE (in workdir,
unless the test passes its own log= or None), which counts as one of its
logs; sanitizer reports go to files of their own (log_path).
"""

import os
import re
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RCFS = os.environ.get("RCFS_BIN") or os.path.join(ROOT, "build", "fs", "rcfs")

SANITIZER_RE = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"SUMMARY: UndefinedBehaviorSanitizer|SUMMARY: AddressSanitizer|"
                          r"WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer|"
                          r"lock order violated)")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4] == path:
                return True
    return False


def ocr_helper():
    """The rcfs-ocr test mounts run ($RCFS_OCR_HELPER): the normal build's,
    whichever build rcfs comes from (a sanitizer build's helper cannot live
    within the memory limit the helper sets itself), else the one beside rcfs."""
    if os.environ.get("RCFS_OCR_HELPER"):
        return os.environ["RCFS_OCR_HELPER"]
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(RCFS))), "ocr",
                          "rcfs-ocr")
    for path in (os.path.join(ROOT, "build", "ocr", "rcfs-ocr"), beside):
        if os.access(path, os.X_OK):
            return path
    return None


def sanitizer_env():
    env = dict(os.environ)
    if ocr_helper():
        env["RCFS_OCR_HELPER"] = ocr_helper()
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:print_summary=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=0:print_summary=1")
    return env


class Mount:
    """One rcfs mount of an emulator's mailbox."""

    def __init__(self, emu, workdir, name="mnt", opts=None, cache_dir=None, args=(),
                 credentials=None, env=None, foreground=True):
        self.emu = emu
        self.workdir = workdir
        self.path = os.path.join(workdir, name)
        os.makedirs(self.path, exist_ok=True)
        self.cache_dir = cache_dir or os.path.join(workdir, "cache")
        self.credentials = credentials or os.path.join(workdir, "credentials")
        if emu is not None and not os.path.exists(self.credentials):
            emu.write_credentials(self.credentials)
        # Push off unless a test asks for it: most tests count requests and
        # steer syncs with `touch`; test_push.py and test_live.py turn it on.
        # OCR costs seconds of CPU per fax: mounts have fax.txt off unless a
        # test is about it (tests/integration/test_faxtext.py turns it on).
        self.opts = {"poll": "0", "timeout": "20", "push": "off", "ocr": "off"}
        if not foreground:
            # Its stderr is /dev/null once daemonised: keep what it says.
            self.opts["log"] = os.path.join(workdir, "rcfs-%s-daemon.log" % name)
        self.opts.update(opts or {})
        self.args = list(args)
        self.env = env
        self.proc = None
        self.logs = []
        self.last_run = 0
        self.log_path = None
        # Background mounts (no -f): the launcher exits once the mount is
        # ready; the daemon is found through the cache folder's lock file,
        # and sanitizer reports go to files (its stderr is /dev/null).
        self.foreground = foreground
        self.daemon_pid = None
        self.launch_rc = None
        self.san_prefix = os.path.join(workdir, "%s-sanitizer" % name)

    def command(self):
        o = dict(self.opts)
        o.setdefault("credentials", self.credentials)
        o.setdefault("cache_dir", self.cache_dir)
        optstr = ",".join(k if v is True else "%s=%s" % (k, v) for k, v in o.items()
                          if v is not False and v is not None)
        fg = ["-f"] if self.foreground else []
        return [RCFS] + fg + ["-o", optstr] + self.args + [self.path]

    def start(self, timeout=30, expect_fail=False):
        if not self.foreground:
            return self._start_background(timeout, expect_fail)
        n = self.last_run = len(self.logs)
        self.log_path = os.path.join(self.workdir, "rcfs-%d.log" % n)
        self.logs.append(self.log_path)
        env = self.env if self.env is not None else sanitizer_env()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, env=env,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_mounted(self.path):
                return self
            if self.proc.poll() is not None:
                if expect_fail:
                    return self
                raise RuntimeError("rcfs exited with %d: %s" % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("rcfs did not mount within %ss: %s" % (timeout, self.log()))

    def _start_background(self, timeout, expect_fail):
        n = self.last_run = len(self.logs)
        self.log_path = os.path.join(self.workdir, "rcfs-%d.log" % n)
        self.logs.append(self.log_path)
        env = dict(self.env if self.env is not None else sanitizer_env())
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
            env[var] = (env.get(var, "") + ":log_path=" + self.san_prefix).lstrip(":")
        with open(self.log_path, "wb") as log:
            launcher = subprocess.run(self.command(), stdout=log, stderr=log, env=env,
                                      timeout=timeout + 90)
        self.launch_rc = self.returncode = launcher.returncode
        if self.opts.get("log") and self.opts["log"] not in self.logs:
            self.logs.append(self.opts["log"])
        if launcher.returncode != 0:
            if expect_fail:
                return self
            raise RuntimeError("rcfs exited with %d: %s" % (launcher.returncode, self.log()))
        if not is_mounted(self.path):
            raise RuntimeError("rcfs said it mounted, but nothing is mounted: " + self.log())
        self.daemon_pid = self.lock_pid()
        return self

    def lock_pid(self):
        """The pid recorded in the cache folder's lock file (the daemon's)."""
        with open(os.path.join(self.cache_dir, "lock")) as f:
            text = f.read().strip()
        return int(text) if text else None

    def daemon_alive(self):
        return self.daemon_pid is not None and os.path.exists("/proc/%d" % self.daemon_pid)

    def _stop_background(self, timeout):
        if self.daemon_pid is None:
            return None
        umount = self._unmount()
        deadline = time.monotonic() + timeout
        while self.daemon_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.daemon_alive():
            why = self._why_alive(self.daemon_pid, umount)
            self.kill()
            raise RuntimeError("rcfs did not exit after unmount: %s\n%s" % (why, self.log()))
        self.daemon_pid = None
        return 0

    def _unmount(self):
        """fusermount3 -u if mounted; what it said (for a failure report)."""
        if not is_mounted(self.path):
            return "not mounted at unmount time"
        # A path lookup in flight anywhere (a stat, df's statfs) holds the
        # mount for a moment and makes umount(2) fail with EBUSY: try again
        # for a while, as a person would, and say who held it.
        deadline = time.monotonic() + 10
        while True:
            r = subprocess.run(["fusermount3", "-u", self.path], check=False,
                               capture_output=True, text=True)
            if r.returncode == 0 or "busy" not in r.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        said = "fusermount3 -u: status %d %s" % (r.returncode, r.stderr.strip())
        if r.returncode != 0:
            who = subprocess.run(["fuser", "-vm", self.path], capture_output=True, text=True)
            said += "\nfuser -vm: %s %s" % (who.stdout.strip(), who.stderr.strip())
        return said

    def _why_alive(self, pid, umount):
        """Where an rcfs that did not exit is: the unmount's outcome, whether
        the mount is still there, and each thread's kernel wait point."""
        out = [umount, "still mounted: %s" % is_mounted(self.path)]
        try:
            for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
                base = "/proc/%d/task/%s/" % (pid, tid)
                parts = []
                for f in ("comm", "wchan", "stack"):
                    try:
                        with open(base + f) as fh:
                            parts.append(fh.read().strip().replace("\n", " | "))
                    except OSError:
                        pass
                out.append("thread %s: %s" % (tid, " / ".join(parts)))
        except OSError as e:
            out.append("no /proc entry: %s" % e)
        return "\n".join(out)

    def stop(self, timeout=60):
        """Unmount and wait for rcfs to exit; returns its exit status."""
        if not self.foreground:
            return self._stop_background(timeout)
        if self.proc is None:
            return None
        umount = self._unmount()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            why = self._why_alive(self.proc.pid, umount)
            self.kill()
            raise RuntimeError("rcfs did not exit after unmount: %s\n%s" % (why, self.log()))
        self.proc = None
        return rc

    def kill(self, sig=signal.SIGKILL):
        """Kill rcfs (default: -9) and clear the dead mount."""
        if self.daemon_pid is not None:
            try:
                os.kill(self.daemon_pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 30
            while self.daemon_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.daemon_pid = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-uz", self.path], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self, **kw):
        self.stop()
        return self.start(**kw)

    def log(self, all_runs=False):
        out = []
        for p in (self.logs if all_runs else self.logs[self.last_run:]):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def sanitizer_reports(self):
        text = self.log(all_runs=True)
        d = os.path.dirname(self.san_prefix)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if f.startswith(os.path.basename(self.san_prefix)):
                with open(os.path.join(d, f), "rb") as fh:
                    text += fh.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if SANITIZER_RE.search(line)]

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def top(mount, emu, i=0):
    """The folder of the emulator's i-th extension in mount."""
    return mount.p(emu.extensions()[i]["extensionNumber"])
