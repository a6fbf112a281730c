"""More rcfs benchmark phases, run by bench.py after its main ones.

  7. live      with push on and polling off: for messages added one at a
               time through the emulator's control API, the time until `ls`
               of their folder shows them and until inotify reports them
               (median and max; target under 2 s each), requests per event,
               and rcfs's CPU while idle with push up for 60 s
  8. copies    warm `cp -a` and `rsync -aX` of a mailbox folder, mount vs
               the same copy from the local disk (target <= 1.5x); where
               the rest goes: the same copy without xattrs, and the xattr
               calls `cp -a` makes (counted from the tree) times what one
               costs more through FUSE than on the local disk
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


def copy_runs(cmd, mnt_folder, local_folder, dst_root, runs, rcfs_pid):
    """Median seconds of cmd(src, dst) from the mount and from the local
    copy, alternating, the first run of each unmeasured (caches)."""
    tm, tl, cpu = [], [], []
    dst = os.path.join(dst_root, "copy-dst")
    for r in range(runs + 1):
        for src, acc in ((mnt_folder, tm), (local_folder, tl)):
            shutil.rmtree(dst, ignore_errors=True)
            os.sync()  # no writeback of the last copy during this one
            c0 = B.cpu_s(rcfs_pid) if rcfs_pid else 0.0
            dt, _ = B.run(cmd(src, dst))
            if r:
                acc.append(dt)
                if rcfs_pid and src == mnt_folder:
                    cpu.append(B.cpu_s(rcfs_pid) - c0)
    shutil.rmtree(dst, ignore_errors=True)
    mm, ml = statistics.median(tm), statistics.median(tl)
    return {"mount": mm, "local": ml, "ratio": mm / ml if ml else float("inf"),
            "rcfs_cpu": statistics.median(cpu) if cpu else None}


def copies(mnt_folder, local_folder, wd, res, runs=3, rcfs_pid=None):
    """Phase 8: warm cp -a and rsync -aX of one folder into the work folder,
    mount vs local; with rcfs_pid, also rcfs's CPU per copy from the mount
    (context).  Then where the difference goes: the same copy without
    xattrs, and what the xattr calls cp -a makes cost through FUSE."""
    B.progress("== copies: cp -a and rsync -aX, mount vs local (%d runs)" % runs)
    out = {}
    for label, mk in (("cp -a", lambda s, d: ["cp", "-a", s, d]),
                      ("rsync -aX", lambda s, d: ["rsync", "-aX", s + "/", d + "/"]),
                      (NO_XATTR, lambda s, d: ["cp", "-r", "--preserve=mode,ownership,"
                                               "timestamps", s, d])):
        out[label] = c = copy_runs(mk, mnt_folder, local_folder, wd, runs, rcfs_pid)
        B.progress("  %-10s mount %.3f s  local %.3f s  %.2fx"
                   % (label, c["mount"], c["local"], c["ratio"]))
    calls = cp_xattr_calls(mnt_folder)
    rt_m, rt_l = getxattr_us(mnt_folder), getxattr_us(local_folder)
    B.progress("  cp -a makes %d xattr calls; one getxattr: mount %.1f us, local %.1f us"
               % (calls, rt_m, rt_l))
    res["copies"] = out
    res["copies_xattr"] = {"calls": calls, "mount_us": rt_m, "local_us": rt_l}


# The copy that preserves everything but xattrs: what cp -a costs without
# the per-file FUSE round trips of copying them (context, no target).
NO_XATTR = "cp -r --preserve=mode,ownership,timestamps"


def cp_xattr_calls(top):
    """The xattr calls `cp -a` (libattr's attr_copy_*) makes for the tree at
    top: per file and folder, listxattr twice (size, then names), getxattr
    twice per name (size, then value), and one getxattr of its POSIX ACL.
    Each is a FUSE round trip on the mount: the kernel caches none."""
    calls = 0
    for d, dirs, files in os.walk(top):
        for p in [d] + [os.path.join(d, f) for f in files]:
            calls += 3 + 2 * len(os.listxattr(p, follow_symlinks=False))
    return calls


def getxattr_us(top, n=5000):
    """Median microseconds of one getxattr of a name top's first message
    folder lists (5 rounds of n calls)."""
    msg = os.path.join(top, sorted(os.listdir(top))[0])
    name = os.listxattr(msg)[0]
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            os.getxattr(msg, name, follow_symlinks=False)
        rounds.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(rounds)


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
        fig = "%.3f / %.3f s = %.2fx" % (c["mount"], c["local"], c["ratio"])
        if label == NO_XATTR:
            row("  the same copy without xattrs (%s)" % label, fig, "(context)")
        else:
            row("warm %s of a folder, mount/local" % label, fig, "<= 1.5x", c["ratio"] <= 1.5)
        if c.get("rcfs_cpu") is not None:
            row("  rcfs CPU during it (median)", "%.3f s" % c["rcfs_cpu"], "(context)")
    if "copies_xattr" in res and "cp -a" in res.get("copies", {}):
        x, c = res["copies_xattr"], res["copies"]["cp -a"]
        extra = x["calls"] * (x["mount_us"] - x["local_us"]) / 1e6
        row("  cp -a: xattr calls x what each costs more than locally",
            "%d x (%.1f - %.1f us) = %.3f s of the %.3f s gap"
            % (x["calls"], x["mount_us"], x["local_us"], extra, c["mount"] - c["local"]),
            "(context)")
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
