"""More rcfs benchmark phases, run by bench.py after its main ones.

  7. live      with push on and polling off: for messages added one at a
               time through the emulator's control API, the time until `ls`
               of their folder shows them and until inotify reports them
               (median and max; target under 2 s each), requests per event,
               and rcfs's CPU while idle with push up for 60 s
  8. copies    warm `cp -a` and `rsync -aX` of a mailbox folder, mount vs
               the same copy from the local disk (target <= 1.5x)
  9. bulk      with the documented rate limits: requests and wall time of
               moving a 500-message conversation to the trash, and of
               `rm -r` of 100 message folders

Each phase fills res[...] and rows(res, row) adds its table rows.
"""

import os
import queue
import shutil
import statistics
import subprocess
import threading
import time

# bench.py's module (set by it on import: it runs as __main__, and importing
# it again would make a second copy of its state).
B = None


def wait_until(cond, timeout=30.0, step=0.005):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if cond():
            return time.perf_counter()
        time.sleep(step)
    return None


class InotifyTimes(threading.Thread):
    """inotifywait -m on a folder; the perf_counter time each name was created."""

    def __init__(self, folder):
        super().__init__(daemon=True)
        self.proc = subprocess.Popen(["inotifywait", "-m", "-e", "create", "--format", "%f",
                                      folder], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        for line in self.proc.stderr:
            if "Watches established" in line:
                break
        self.seen = {}
        self.q = queue.Queue()

    def run(self):
        for line in self.proc.stdout:
            self.seen[line.strip()] = time.perf_counter()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def live(args, wd, res, n=20):
    """Phase 7."""
    B.progress("== live: %d messages pushed one at a time (push on, polling off)" % n)
    emu = B.start_emu(os.path.join(wd, "emu-live"), 200)
    m = B.new_mount(emu, wd, "mnt-live", os.path.join(wd, "cache-live"), args.rcfs,
                    opts={"push": "on", "poll": "0"})
    m.start(timeout=60)
    ext = emu.extensions()[0]["extensionNumber"]
    folder = m.p(ext, "SMS")
    for f in B.LISTED_FOLDERS:
        os.listdir(m.p(ext, f))
    if not wait_until(lambda: "push notifications: SUBSCRIBED" in m.log(), timeout=30):
        raise B.BenchError("push never subscribed: %s" % m.log()[-1000:])
    watch = InotifyTimes(folder)
    watch.start()
    B.settle(emu, quiet=1.0)
    emu.reset_counts()
    ls_s, ev_s = [], []
    for i in range(n):
        t0 = time.perf_counter()
        new = emu.add_message(ext, "SMS", subject="bench %d" % i)
        suffix = "_%s" % new["id"]
        t_ls = wait_until(lambda: any(x.endswith(suffix) for x in os.listdir(folder)))
        t_ev = wait_until(lambda: any(k.endswith(suffix) for k in watch.seen))
        if t_ls is None or t_ev is None:
            raise B.BenchError("message %d never showed (ls %s, inotify %s)" % (i, t_ls, t_ev))
        ls_s.append(t_ls - t0)
        ev_s.append(watch.seen[[k for k in watch.seen if k.endswith(suffix)][0]] - t0)
        time.sleep(1.0)  # one event each, not a burst
    B.settle(emu, quiet=1.5)
    routes = B.routes_of(emu.counts())
    watch.stop()
    B.progress("  ls median %.2f s max %.2f s; inotify median %.2f s max %.2f s; %s"
               % (statistics.median(ls_s), max(ls_s), statistics.median(ev_s), max(ev_s),
                  B.fmt_routes(routes)))
    B.progress("== live: rcfs CPU while idle with push up, 60 s")
    c0 = B.cpu_s(m.proc.pid)
    time.sleep(60)
    idle = B.cpu_s(m.proc.pid) - c0
    res["live"] = {"n": n, "ls": ls_s, "ev": ev_s, "routes": routes, "idle_cpu_s": idle}
    m.stop()
    emu.stop()


def copies(mnt_folder, local_folder, wd, res, runs=3, rcfs_pid=None):
    """Phase 8: warm cp -a and rsync -aX of one folder, mount vs local;
    with rcfs_pid, also rcfs's CPU per copy from the mount (context)."""
    B.progress("== copies: cp -a and rsync -aX, mount vs local (%d runs)" % runs)
    out = {}
    for label, mk in (("cp -a", lambda s, d: ["cp", "-a", s, d]),
                      ("rsync -aX", lambda s, d: ["rsync", "-aX", s + "/", d + "/"])):
        tm, tl, cpu = [], [], []
        for r in range(runs + 1):
            for src, acc in ((mnt_folder, tm), (local_folder, tl)):
                dst = os.path.join(wd, "copy-dst")
                shutil.rmtree(dst, ignore_errors=True)
                c0 = B.cpu_s(rcfs_pid) if rcfs_pid else 0.0
                dt, _ = B.run(mk(src, dst))
                if r:  # the first run of each is unmeasured (caches)
                    acc.append(dt)
                    if rcfs_pid and src == mnt_folder:
                        cpu.append(B.cpu_s(rcfs_pid) - c0)
        shutil.rmtree(os.path.join(wd, "copy-dst"), ignore_errors=True)
        mm, ml = statistics.median(tm), statistics.median(tl)
        out[label] = {"mount": mm, "local": ml, "ratio": mm / ml if ml else float("inf"),
                      "rcfs_cpu": statistics.median(cpu) if cpu else None}
        B.progress("  %-10s mount %.3f s  local %.3f s  %.2fx" % (label, mm, ml, mm / ml))
    res["copies"] = out


def bulk(args, wd, res):
    """Phase 9: bulk actions with the documented rate limits."""
    B.progress("== bulk: a 500-message conversation to the trash, rm -r of 100 folders")
    emu = B.start_emu(os.path.join(wd, "emu-bulk"), 400)
    ext = emu.extensions()[0]["extensionNumber"]
    peer = "+16505550777"
    for i in range(500):
        emu.add_message(ext, "SMS", subject="thread %d" % i, **{"from": peer})
    m = B.new_mount(emu, wd, "mnt-bulk", os.path.join(wd, "cache-bulk"), args.rcfs,
                    opts={"timeout": "600"})
    m.start(timeout=60)
    t = m.p(ext)
    for f in B.LISTED_FOLDERS + ("conversations",):
        os.listdir(os.path.join(t, f))
    conv = [c for c in os.listdir(os.path.join(t, "conversations")) if peer in c][0]
    members = len(os.listdir(os.path.join(t, "conversations", conv)))
    B.settle(emu, quiet=1.0)
    emu.config(rate_limits=B.DEFAULT_LIMITS, rate_window=args.window)
    try:
        emu.reset_counts()
        dt, _ = B.run(["mv", os.path.join(t, "conversations", conv), os.path.join(t, "Deleted")])
        conv_routes = B.routes_of(emu.counts())
        B.progress("  conversation of %d: %.2f s, %s" % (members, dt, B.fmt_routes(conv_routes)))
        res["bulk_conv"] = {"n": members, "s": dt, "routes": conv_routes, "window": args.window}
        victims = sorted(os.listdir(os.path.join(t, "Pager")) +
                         os.listdir(os.path.join(t, "Text")))[:100]
        folders = [os.path.join(t, "Pager" if os.path.isdir(os.path.join(t, "Pager", v))
                                else "Text", v) for v in victims]
        B.settle(emu, quiet=1.0)
        emu.reset_counts()
        dt, _ = B.run(["rm", "-r"] + folders)
        rm_routes = B.routes_of(emu.counts())
        B.progress("  rm -r of %d folders: %.2f s, %s" % (len(folders), dt,
                                                          B.fmt_routes(rm_routes)))
        res["bulk_rm"] = {"n": len(folders), "s": dt, "routes": rm_routes, "window": args.window}
    finally:
        emu.config(rate_limits=None)
    m.stop()
    emu.stop()


def rows(res, row):
    if "live" in res:
        lv = res["live"]
        for key, label in (("ls", "ls shows it"), ("ev", "inotify CREATE")):
            v = lv[key]
            row("push: new message to %s, median / max of %d" % (label, lv["n"]),
                "%.2f / %.2f s" % (statistics.median(v), max(v)), "< 2 s each", max(v) < 2.0)
        reqs = sum(lv["routes"].values())
        row("push: requests per event", "%.1f (%s)" % (reqs / lv["n"], B.fmt_routes(lv["routes"])),
            "no listing", lv["routes"].get("list", 0) == 0)
        row("push: rcfs CPU while idle, 60 s", "%.2f s" % lv["idle_cpu_s"], "(context)")
    for label, c in res.get("copies", {}).items():
        row("warm %s of a folder, mount/local" % label,
            "%.3f / %.3f s = %.2fx" % (c["mount"], c["local"], c["ratio"]), "<= 1.5x",
            c["ratio"] <= 1.5)
        if c.get("rcfs_cpu") is not None:
            row("  rcfs CPU during it (median)", "%.3f s" % c["rcfs_cpu"], "(context)")
    if "bulk_conv" in res:
        b = res["bulk_conv"]
        deletes = b["routes"].get("delete", 0)
        row("conversation of %d to the trash, limits on (window %g s)" % (b["n"], b["window"]),
            "%.2f s, %s" % (b["s"], B.fmt_routes(b["routes"])), "1 delete", deletes == 1)
    if "bulk_rm" in res:
        b = res["bulk_rm"]
        medium = b["routes"].get("delete", 0) + b["routes"].get("content", 0)
        row("rm -r of %d message folders, limits on (window %g s)" % (b["n"], b["window"]),
            "%.1f s, %s; at 40 a minute: %.1f min" % (b["s"], B.fmt_routes(b["routes"]),
                                                     medium / 40.0),
            "<= %d Medium requests" % b["n"], medium <= b["n"])
