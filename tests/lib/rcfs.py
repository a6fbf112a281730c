"""Mount and unmount rcfs for real, and read what it said.

Tests run rcfs in the foreground (-f) as a child process with its stderr in
a log file, wait until the kernel shows the mount, and always unmount.  The
log is checked for sanitizer reports (AddressSanitizer, LeakSanitizer,
UndefinedBehaviorSanitizer): any report fails the test.

Mount(..., foreground=False) runs rcfs as users do, without -f: the command
must exit 0 once mounted, and the daemon it leaves behind is found by its
command line in /proc and stopped by unmounting.  Its stderr after
daemonising is /dev/null, so it gets -o log=FILE (in workdir, unless the
test passes its own log= or None), which then counts as one of its logs.
"""

import os
import re
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RCFS = os.environ.get("RCFS_BIN") or os.path.join(ROOT, "build", "fs", "rcfs")

SANITIZER_RE = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"SUMMARY: UndefinedBehaviorSanitizer|SUMMARY: AddressSanitizer)")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4] == path:
                return True
    return False


def _proc_state(pid):
    """The state letter of /proc/PID/stat, or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def find_processes(argv):
    """Pids of live processes whose command line is exactly argv."""
    want = "\0".join(argv) + "\0"
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d) as f:
                if f.read() == want and _proc_state(int(d)) not in (None, "Z"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def sanitizer_env():
    env = dict(os.environ)
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
        self.opts = {"poll": "0", "timeout": "20"}
        if not foreground:
            # Its stderr is /dev/null once daemonised: keep what it (and a
            # sanitizer) says.  opts={"log": None} leaves it to syslog.
            self.opts["log"] = os.path.join(workdir, "rcfs-%s-daemon.log" % name)
        self.opts.update(opts or {})
        self.args = list(args)
        self.env = env
        self.foreground = foreground
        self.daemon_pid = None  # background mounts: the process serving the mount
        self.returncode = None  # background mounts: the exit status of the command
        self.daemon_log = None  # background mounts: their -o log= file, if any
        self.proc = None
        self.logs = []
        self.log_path = None

    def command(self):
        o = dict(self.opts)
        o.setdefault("credentials", self.credentials)
        o.setdefault("cache_dir", self.cache_dir)
        optstr = ",".join(k if v is True else "%s=%s" % (k, v) for k, v in o.items()
                          if v is not False and v is not None)
        return ([RCFS] + (["-f"] if self.foreground else []) + ["-o", optstr] + self.args
                + [self.path])

    def start(self, timeout=30, expect_fail=False):
        n = len(self.logs)
        self.log_path = os.path.join(self.workdir, "rcfs-%d.log" % n)
        self.logs.append(self.log_path)
        env = self.env if self.env is not None else sanitizer_env()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, env=env,
                                         start_new_session=True)
        if not self.foreground:
            return self._start_background(timeout, expect_fail)
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
        """Wait for the command to exit (it returns once mounted) and find the daemon."""
        self.daemon_log = self.opts.get("log")
        try:
            rc = self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError("rcfs did not return within %ss: %s" % (timeout, self.log()))
        self.proc = None  # gone; its process group is not the daemon's
        if rc != 0:
            if expect_fail:
                return self
            raise RuntimeError("rcfs exited with %d: %s" % (rc, self.log()))
        if not is_mounted(self.path):
            raise RuntimeError("rcfs exited 0 but %s is not mounted: %s" % (self.path, self.log()))
        pids = find_processes(self.command())
        if len(pids) != 1:
            raise RuntimeError("expected one rcfs daemon for %s, found %r" % (self.path, pids))
        self.daemon_pid = pids[0]
        return self

    def _wait_daemon_gone(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _proc_state(self.daemon_pid) in (None, "Z"):
                self.daemon_pid = None
                return True
            time.sleep(0.02)
        return False

    def stop(self, timeout=60):
        """Unmount and wait for rcfs to exit; returns its exit status (for a
        background mount: 0 once the daemon has gone, None if none was started)."""
        if self.daemon_pid is not None:
            if is_mounted(self.path):
                subprocess.run(["fusermount3", "-u", self.path], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not self._wait_daemon_gone(timeout):
                self.kill()
                raise RuntimeError("rcfs daemon did not exit after unmount: %s" % self.log())
            self.proc = None
            return 0
        if not self.foreground:
            self.proc = None
            return None
        if self.proc is None:
            return None
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", self.path], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError("rcfs did not exit after unmount: %s" % self.log())
        self.proc = None
        return rc

    def kill(self, sig=signal.SIGKILL):
        """Kill rcfs (default: -9) and clear the dead mount."""
        if self.daemon_pid is not None:
            try:
                os.kill(self.daemon_pid, sig)
            except ProcessLookupError:
                pass
            self._wait_daemon_gone(30)
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
        paths = self.logs if all_runs else self.logs[-1:]
        if self.daemon_log and os.path.exists(self.daemon_log):
            paths = paths + [self.daemon_log]
        for p in paths:
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def sanitizer_reports(self):
        return [line for line in self.log(all_runs=True).splitlines()
                if SANITIZER_RE.search(line)]

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
