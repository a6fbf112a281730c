#!/usr/bin/env python3
"""rcfs benchmark (issue 7): run by scripts/bench, which installs and builds.

Starts the emulator (tests/emulator/rcemu.py) with a generated mailbox, mounts
it with an optimised rcfs and measures, in one run:

  1. cold listing   first `ls -R` of a fresh mount (empty cache, no state):
                    wall time, requests by route, list requests vs the bound
                    sum over listed folders of ceil(n / 1000) + LIST_SLACK
  2. cold content   first `grep -r WORD` (WORD occurs nowhere, so every byte
                    is read) with an empty content cache, rate limits off; and
                    the same emulator downloads timed without rcfs, to tell
                    the emulator's own speed from rcfs's
  3. warm           `grep -r`, `ls -lR`, `find -name meta.json` over the mount
                    and over a local `cp -a` copy of it: one unmeasured run
                    each, then RUNS measured runs; medians and mount/local
  4. remount        rcfs started on the persisted state: time to the end of
                    the first `ls` of the largest type folder, requests made
  5. rate limits    cold `grep -r` of a subset of the faxes with the
                    documented limits (Light 50, Medium 40, Heavy 10, Auth 5)
                    on a short window: content requests per window vs the
                    Medium limit, 429s per window
  6. memory         a separate 100,000-message mailbox: VmHWM of rcfs after
                    `ls -R` of everything, then remount (4.) at that size
  7-9.              push latency and idle cost, warm cp -a / rsync -aX, bulk
                    actions with rate limits (bench_more.py)
  10. fax text      a mailbox with OCR_FAXES image faxes (fixed time anchor:
                    the same pixels every run), mounted with ocr=on: cold
                    `grep -r` over their folders (download, OCR, fax.txt),
                    OCR pages per CPU second of the helpers, recall of the
                    faxes' distinctive words in fax.txt, then warm `grep -r`
                    over them against a local copy (the warm-grep target)

Phases 1-9 mount with ocr=off (the test harness's default): their figures
are the mount's own, without OCR's CPU; phase 10 is the OCR's.

Prints progress lines, then one table with every figure, its target and
pass/fail.  Exit status 0 unless something failed to run (a missed target is
not an error: the table says so).  Mounts and emulators are always cleaned
up, on errors and Ctrl-C too.  No secret is put on a command line or printed:
rcfs reads a 0600 credentials file; the one token this script needs for the
emulator-only timing stays in memory.
"""

import argparse
import base64
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.lib import names  # noqa: E402
from tests.lib import rcfs as rcfs_lib  # noqa: E402
from tests.lib.emu import Emulator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_more  # noqa: E402

bench_more.B = sys.modules[__name__]

TYPE_FOLDERS = ("Fax", "SMS", "VoiceMail", "Pager", "Text")
LISTED_FOLDERS = TYPE_FOLDERS + ("Deleted",)
DEFAULT_LIMITS = {"Light": 50, "Medium": 40, "Heavy": 10, "Auth": 5}
WORD = "qzxvjkwy7"        # checked to occur nowhere (grep must answer 1)
LIST_SLACK = 2            # the "small constant" of the cold-listing bound
PAGE = 1000               # records per list page (the API's maximum)
CMD_TIMEOUT = 3600
OCR_FAXES = 100           # image faxes of the fax-text phase (--quick: 20)
OCR_MESSAGES = 1000       # the mailbox they come from (about 140 image faxes live)
OCR_ANCHOR_MS = "1767225600000"   # a fixed time anchor: the same fax pages every run

T0 = time.monotonic()


def progress(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- processes

class Live:
    """Everything started here, so it can be stopped on any exit."""

    def __init__(self):
        self.mounts = []
        self.emus = []

    def cleanup(self):
        for m in reversed(self.mounts):
            try:
                m.stop(timeout=60)
            except Exception:
                pass
            try:
                m.kill()
            except Exception:
                pass
        self.mounts.clear()
        for e in reversed(self.emus):
            try:
                e.stop()
            except Exception:
                pass
        self.emus.clear()


LIVE = Live()


def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def run(cmd, ok=(0,), **kw):
    """Run cmd (a list), output discarded; returns (seconds, returncode)."""
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=CMD_TIMEOUT, **kw)
    dt = time.perf_counter() - t
    if p.returncode not in ok:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BenchError("%s exited with %d: %s" % (" ".join(cmd[:3]), p.returncode,
                                                    "; ".join(err[:5])))
    return dt, p.returncode


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise BenchError("no VmHWM for pid %d" % pid)


def cpu_s(pid, children=False):
    """User + system CPU seconds of a process (all its threads), or of its
    children it has reaped (rcfs's OCR helpers)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    i = 13 if children else 11
    return (int(fields[i]) + int(fields[i + 1])) / os.sysconf("SC_CLK_TCK")


def settle(emu, quiet=1.0, limit=20.0):
    """Wait until the emulator has seen no request for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last = emu.counts()["total"]
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = emu.counts()["total"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    progress("  (requests still arriving after %.0f s; going on)" % limit)


def routes_of(counts):
    return {k: v for k, v in sorted(counts["routes"].items()) if v}


def fmt_routes(routes):
    return ", ".join("%s %d" % kv for kv in routes.items()) or "none"


def new_mount(emu, workdir, name, cache_dir, binary, opts=None):
    o = {"poll": "0", "timeout": "60", "cache_max": "100G"}
    o.update(opts or {})
    env = dict(os.environ)
    mwd = os.path.join(workdir, "rcfs-" + name)
    os.makedirs(mwd, exist_ok=True)
    m = rcfs_lib.Mount(emu, mwd, name=name, opts=o, cache_dir=cache_dir, env=env)
    LIVE.mounts.append(m)
    return m


def timed_start(m, first_ls):
    """Start rcfs; returns (s to mounted, s to end of `ls first_ls`)."""
    m.log_path = os.path.join(m.workdir, "rcfs-%d.log" % len(m.logs))
    m.logs.append(m.log_path)
    with open(m.log_path, "wb") as log:
        t = time.perf_counter()
        m.proc = subprocess.Popen(m.command(), stdout=log, stderr=log, env=m.env,
                                  start_new_session=True)
    deadline = t + 60
    while not rcfs_lib.is_mounted(m.path):
        if m.proc.poll() is not None:
            raise BenchError("rcfs exited with %d: %s" % (m.proc.returncode, m.log()[-2000:]))
        if time.perf_counter() > deadline:
            raise BenchError("rcfs did not mount in 60 s")
        time.sleep(0.001)
    t_mounted = time.perf_counter() - t
    run(["ls", first_ls])
    return t_mounted, time.perf_counter() - t


def start_emu(workdir, messages, extra_args=()):
    os.makedirs(workdir, exist_ok=True)
    e = Emulator(workdir=workdir, messages=messages, extensions=1, seed=1, extra_args=extra_args)
    LIVE.emus.append(e)
    t = time.perf_counter()
    e.start(timeout=300)
    progress("  emulator ready in %.1f s (%d messages, 1 extension)"
             % (time.perf_counter() - t, messages))
    return e


def truth_folders(emu):
    """Messages per listed folder, from the emulator's truth."""
    ext = emu.extensions()[0]
    n = {f: 0 for f in LISTED_FOLDERS}
    for rec in emu.messages(ext["id"]):
        if rec["availability"] == "Alive" and rec["type"] in n:
            n[rec["type"]] += 1
        elif rec["availability"] == "Deleted":
            n["Deleted"] += 1
    return n


def list_bound(nfolders):
    return sum(math.ceil(n / PAGE) for n in nfolders.values()) + LIST_SLACK


# ---------------------------------------------------------------- phases

def cold_listing(emu, m, res, key):
    """First `ls -R` of a fresh mount; counts include rcfs's start."""
    emu.reset_counts()
    e_cpu = cpu_s(emu.proc.pid)
    t = time.perf_counter()
    m.start(timeout=60)
    t_mount = time.perf_counter() - t
    dt, _ = run(["ls", "-R", m.path])
    cpu = {"rcfs": cpu_s(m.proc.pid), "emulator": cpu_s(emu.proc.pid) - e_cpu}
    at_end = emu.counts()
    settle(emu)
    after = emu.counts()
    top = m.p(emu.extensions()[0]["extensionNumber"])
    seen = {f: len(os.listdir(os.path.join(top, f))) for f in LISTED_FOLDERS}
    res[key] = {"mount_s": t_mount, "ls_s": dt, "routes_at_end": routes_of(at_end), "cpu": cpu,
                "routes": routes_of(after), "seen": seen}
    progress("  mounted in %.2f s; ls -R %.2f s; requests: %s"
             % (t_mount, dt, fmt_routes(routes_of(after))))
    return top


def cold_grep(emu, m, res):
    emu.reset_counts()
    r0, e0 = cpu_s(m.proc.pid), cpu_s(emu.proc.pid)
    dt, rc = run(["grep", "-r", WORD, m.path], ok=(1,))
    cpu = {"rcfs": cpu_s(m.proc.pid) - r0, "emulator": cpu_s(emu.proc.pid) - e0}
    c = emu.counts()
    res["cold_grep"] = {"s": dt, "routes": routes_of(c), "status": c["status"], "cpu": cpu,
                        "attachments": c["attachments"]}
    progress("  grep -r %.2f s; requests: %s" % (dt, fmt_routes(routes_of(c))))


def attachments_of(local_top):
    """{"msgId/attId": (uri, size or None)} of every attachment in the
    copy's records."""
    out = {}
    for f in LISTED_FOLDERS:
        d = os.path.join(local_top, f)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name, "meta.json")) as fh:
                rec = json.load(fh)
            for a in rec.get("attachments") or []:
                parts = urllib.parse.urlsplit(a["uri"]).path.split("/")
                out["%s/%s" % (parts[-3], parts[-1])] = (a["uri"], a.get("size"))
    return out


def access_token(info):
    u = urllib.parse.urlsplit(info["server_url"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    basic = base64.b64encode(("%s:%s" % (info["client_id"], info["client_secret"])).encode())
    body = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                   "assertion": info["jwt"]})
    conn.request("POST", "/restapi/oauth/token", body,
                 {"Authorization": "Basic " + basic.decode(),
                  "Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        raise BenchError("token request answered %d" % r.status)
    return json.loads(data)["access_token"]


def direct_fetch(emu, atts, threads, probe=4 << 20):
    """Download atts from the media listener with `threads` keep-alive
    connections, the way rcfs asks (a Range probe when the record has no
    size).  Returns (seconds, requests, bytes)."""
    token = access_token(emu.info)
    u = urllib.parse.urlsplit(emu.info["media_url"])
    lock = threading.Lock()
    todo = list(reversed(atts))
    done = {"n": 0, "bytes": 0, "err": None}

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while True:
            with lock:
                if not todo or done["err"]:
                    break
                uri, size = todo.pop()
            p = urllib.parse.urlsplit(uri)
            path = p.path + ("?" + p.query if p.query else "")
            h = {"Authorization": "Bearer " + token}
            if size is None:
                h["Range"] = "bytes=0-%d" % (probe - 1)
            try:
                conn.request("GET", path, headers=h)
                r = conn.getresponse()
                n = len(r.read())
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    done["err"] = str(e)
                break
            with lock:
                if r.status not in (200, 206):
                    done["err"] = "status %d" % r.status
                done["n"] += 1
                done["bytes"] += n
        conn.close()

    t = time.perf_counter()
    ths = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    dt = time.perf_counter() - t
    if done["err"]:
        raise BenchError("direct download failed: %s" % done["err"])
    return dt, done["n"], done["bytes"]


def fsync_probe(folder, n=200, size=48 << 10):
    """ms to write, fsync and rename one small file where the cache is."""
    d = os.path.join(folder, "bench-fsync-probe")
    os.makedirs(d, exist_ok=True)
    data = os.urandom(size)
    t = time.perf_counter()
    for i in range(n):
        tmp, name = os.path.join(d, "t%d" % i), os.path.join(d, "o%d" % i)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name)
    dt = time.perf_counter() - t
    shutil.rmtree(d, ignore_errors=True)
    return 1000 * dt / n


def tree_facts(path):
    files = dirs = links = size = 0
    for dp, dns, fns in os.walk(path):
        for f in dns + fns:
            st = os.lstat(os.path.join(dp, f))
            if os.path.islink(os.path.join(dp, f)):
                links += 1
            elif f in dns:
                dirs += 1
            else:
                files += 1
                size += st.st_size
    return {"files": files, "dirs": dirs, "links": links, "bytes": size}


WARM_CMDS = [
    ("grep -r WORD", lambda d: ["grep", "-r", WORD, d], (1,)),
    ("ls -lR", lambda d: ["ls", "-lR", d], (0,)),
    ("find -name meta.json", lambda d: ["find", d, "-name", "meta.json"], (0,)),
    # No target: what ls -lR costs without its getxattr calls (lstat only).
    ("find -printf (lstat)", lambda d: ["find", d, "-printf", "%M %n %u %g %s %T@ %p\n"], (0,)),
]


def warm(mnt, local, runs, res):
    out = []
    for label, mk, ok in WARM_CMDS:
        run(mk(mnt), ok=ok)     # unmeasured: fills every cache there is
        run(mk(local), ok=ok)
        tm, tl = [], []
        for _ in range(runs):
            tm.append(run(mk(mnt), ok=ok)[0])
            tl.append(run(mk(local), ok=ok)[0])
        mm, ml = statistics.median(tm), statistics.median(tl)
        out.append({"cmd": label, "mount": tm, "local": tl, "mount_med": mm,
                    "local_med": ml, "ratio": mm / ml if ml > 0 else float("inf")})
        progress("  %-22s mount %.3f s  local %.3f s  %.2fx   (mount runs %s)"
                 % (label, mm, ml, mm / ml, " ".join("%.3f" % x for x in tm)))
    res["warm"] = out


def warm_outbox_on(m, local, runs, res):
    """Warm grep -r again on the same cache, mounted with -o outbox=on: a
    mount with an Outbox hears of every close (one FUSE flush round trip per
    file, the Outbox sends at close); without one (the default) the kernel
    sends none."""
    progress("== warm grep -r, mounted again with -o outbox=on")
    m.stop()
    m.opts["outbox"] = "on"
    m.start()
    try:
        label, mk, ok = WARM_CMDS[0]
        run(mk(m.path), ok=ok)
        run(mk(local), ok=ok)
        tm, tl = [], []
        for _ in range(runs):
            tm.append(run(mk(m.path), ok=ok)[0])
            tl.append(run(mk(local), ok=ok)[0])
        mm, ml = statistics.median(tm), statistics.median(tl)
        res["warm_outbox_on"] = {"mount_med": mm, "local_med": ml}
        progress("  %-22s mount %.3f s  local %.3f s  %.2fx" % (label, mm, ml, mm / ml))
    finally:
        m.stop()
        del m.opts["outbox"]
        m.start()


class Sampler(threading.Thread):
    """Samples the emulator's counts every `step` seconds."""

    def __init__(self, emu, step=0.1):
        super().__init__(daemon=True)
        self.emu, self.step = emu, step
        self.samples = []
        self.stop_ev = threading.Event()

    def sample(self):
        c = self.emu.counts()
        content = c["routes"].get("content", 0)
        limited = c["rate_limited"].get("Medium", 0)
        self.samples.append((time.perf_counter(), content - limited, limited,
                             c["routes"].get("list", 0)))

    def run(self):
        while not self.stop_ev.wait(self.step):
            self.sample()


def rate_limited_grep(emu, m, local_top, window, windows, res):
    limit = DEFAULT_LIMITS["Medium"]
    # The subset: the first fax folders whose attachments need about
    # `windows` windows' worth of content requests.
    fax = sorted(os.listdir(os.path.join(local_top, "Fax")))
    chosen, natt = [], 0
    for name in fax:
        if natt >= windows * limit:
            break
        natt += len([f for f in os.listdir(os.path.join(local_top, "Fax", name))
                     if f != "meta.json"])
        chosen.append(name)
    top = m.p(emu.extensions()[0]["extensionNumber"])
    paths = [os.path.join(top, "Fax", n) for n in chosen]
    settle(emu)
    emu.reset_counts()
    s = Sampler(emu)
    s.sample()
    s.start()
    dt, _ = run(["grep", "-r", WORD] + paths, ok=(1,))
    s.stop_ev.set()
    s.join()
    s.sample()
    c = emu.counts()
    t0 = s.samples[0][0]
    end = s.samples[-1][0]
    # Requests let through in each full window from the start (any window
    # holds at most `limit` of them), and 429s in each window.
    def at(t, i):
        v = s.samples[0][i]
        for smp in s.samples:
            if smp[0] <= t:
                v = smp[i]
        return v

    buckets, b429 = [], []
    k = 0
    while t0 + (k + 1) * window <= end:
        lo, hi = t0 + k * window, t0 + (k + 1) * window
        buckets.append(at(hi, 1) - at(lo, 1))
        b429.append(at(hi, 2) - at(lo, 2))
        k += 1
    ok_total = c["routes"].get("content", 0) - c["rate_limited"].get("Medium", 0)
    n429 = c["status"].get("429", 0)
    nwin = max(1, math.ceil(dt / window))
    # 429s per window over the whole run, whatever the alignment
    max429 = max(b429) if b429 else n429
    res["rate"].append({"messages": len(chosen), "attachments": natt, "s": dt, "window": window,
                   "limit": limit, "content_ok": ok_total, "n429": n429,
                   "windows": nwin, "buckets": buckets, "b429": b429, "max429": max429,
                   "per_window_full": statistics.mean(buckets) if buckets else None,
                   "per_window_overall": ok_total / (dt / window),
                   "routes": routes_of(c), "status": c["status"]})
    progress("  %d fax folders, %d attachments: grep -r %.1f s; content answered %d, "
             "429s %d; per full window %s"
             % (len(chosen), natt, dt, ok_total, n429, buckets))


def remount(emu, m, top, res, key):
    # the largest type folder
    folder = max(TYPE_FOLDERS, key=lambda f: len(os.listdir(os.path.join(top, f))))
    m.stop()
    emu.reset_counts()
    t_mounted, t_ls = timed_start(m, os.path.join(top, folder))
    at_ls = routes_of(emu.counts())
    settle(emu)
    after = routes_of(emu.counts())
    # rcfs says how long reading its persisted state took
    found = re.findall(r"loaded \d+ messages from the persisted state in (\d+) ms", m.log())
    state_ms = int(found[-1]) if found else None
    res[key] = {"folder": folder, "mounted_s": t_mounted, "first_ls_s": t_ls,
                "state_ms": state_ms,
                "routes_at_ls": at_ls, "routes": after, "hwm_kib": vm_hwm_kib(m.proc.pid)}
    progress("  remount: mounted %.3f s, first ls of %s done %.3f s; requests: %s"
             % (t_mounted, folder, t_ls, fmt_routes(after)))


def image_faxes(emu, limit):
    """The truths of the first `limit` live image (inbound) faxes."""
    out = []
    for rec in emu.messages(emu.extensions()[0]["id"]):
        if rec["type"] == "Fax" and rec["availability"] == "Alive":
            t = emu.truth(rec["id"])
            if t["record"]["direction"] == "Inbound":
                out.append(t)
                if len(out) == limit:
                    break
    return out


def recall_of(texts, faxes):
    """(found, wanted, false hits) of the faxes' distinctive words in their texts."""
    vocabulary = {w for t in faxes for w in t["content_words"]}
    found = wanted = false = 0
    for t in faxes:
        got = set(re.findall(r"[a-z0-9]+", texts[t["record"]["id"]].lower()))
        wanted += len(t["content_words"])
        found += sum(w in got for w in t["content_words"])
        false += len((vocabulary - set(t["content_words"])) & got)
    return found, wanted, false


def bench_ocr(args, wd, res):
    """Phase 7: fax.txt over image faxes, cold and warm."""
    helper = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.rcfs))), "ocr",
                          "rcfs-ocr")
    if not os.access(helper, os.X_OK):
        raise BenchError("no OCR helper at %s" % helper)
    progress("== fax text: %d image faxes, ocr=on" % args.ocr_faxes)
    emu = start_emu(os.path.join(wd, "emu-ocr"), OCR_MESSAGES, ("--anchor-ms", OCR_ANCHOR_MS))
    faxes = image_faxes(emu, args.ocr_faxes)
    m = new_mount(emu, wd, "mnt-ocr", os.path.join(wd, "cache-ocr"), args.rcfs,
                  opts={"ocr": "on"})
    m.env["RCFS_OCR_HELPER"] = helper
    m.start(timeout=60)
    top = m.p(emu.extensions()[0]["extensionNumber"])
    os.listdir(os.path.join(top, "Fax"))
    paths = [os.path.join(top, "Fax", names.message_folder(t["record"])) for t in faxes]
    settle(emu)
    emu.reset_counts()
    c0 = cpu_s(m.proc.pid, children=True)
    dt, _ = run(["grep", "-r", WORD] + paths, ok=(1,))
    helpers_cpu = cpu_s(m.proc.pid, children=True) - c0
    routes = routes_of(emu.counts())
    pages = sum(t["record"]["faxPageCount"] for t in faxes)
    texts = {}
    for t, p in zip(faxes, paths):
        with open(os.path.join(p, "fax.txt"), encoding="utf-8") as f:
            texts[t["record"]["id"]] = f.read()
    found, wanted, false = recall_of(texts, faxes)
    res["ocr"] = {"faxes": len(faxes), "pages": pages, "cold_s": dt, "cpu": helpers_cpu,
                  "routes": routes, "found": found, "wanted": wanted, "false": false,
                  "attachments": sum(len(t["record"]["attachments"]) for t in faxes)}
    progress("  cold grep -r %.1f s, %d pages, helpers' CPU %.1f s; recall %d/%d, false hits %d;"
             " requests: %s" % (dt, pages, helpers_cpu, found, wanted, false, fmt_routes(routes)))
    local = os.path.join(wd, "local-ocr")
    os.makedirs(local, exist_ok=True)
    run(["cp", "-a"] + paths + [local])
    on_mount, on_copy = ["grep", "-r", WORD] + paths, ["grep", "-r", WORD, local]
    run(on_mount, ok=(1,))   # unmeasured, as the other warm rows
    run(on_copy, ok=(1,))
    tm, tl = [], []
    for _ in range(args.runs):
        tm.append(run(on_mount, ok=(1,))[0])
        tl.append(run(on_copy, ok=(1,))[0])
    res["ocr"]["warm"] = {"mount_med": statistics.median(tm), "local_med": statistics.median(tl)}
    progress("  warm grep -r: mount %.3f s, local %.3f s"
             % (res["ocr"]["warm"]["mount_med"], res["ocr"]["warm"]["local_med"]))
    m.stop()
    emu.stop()
    shutil.rmtree(local, ignore_errors=True)


# ---------------------------------------------------------------- report

def verdict(ok):
    return "pass" if ok else "FAIL"


def table(args, res):
    rows = []  # (measurement, figure, target, result)

    def row(m, fig, tgt="", ok=None):
        rows.append((m, fig, tgt, "" if ok is None else verdict(ok)))

    n = args.messages
    for w in res.get("warm", []):
        info = w["cmd"].startswith("find -printf")
        bound = 1.1 if w["cmd"].startswith("grep") else 2.0
        row("warm %s, mount/local" % w["cmd"],
            "%.3f / %.3f s = %.2fx" % (w["mount_med"], w["local_med"], w["ratio"]),
            "(context)" if info else "<= %.1fx" % bound, None if info else w["ratio"] <= bound)
    if "warm_outbox_on" in res:
        w = res["warm_outbox_on"]
        ratio = w["mount_med"] / w["local_med"] if w["local_med"] > 0 else float("inf")
        row("warm grep -r WORD, -o outbox=on, mount/local",
            "%.3f / %.3f s = %.2fx" % (w["mount_med"], w["local_med"], ratio), "(context)")
    if "cp" in res:
        row("cp -a mount -> disk (after grep -r) / disk -> disk",
            "%.1f / %.1f s = %.2fx" % (res["cp"]["mount"], res["cp"]["local"],
                                       res["cp"]["mount"] / res["cp"]["local"]), "(context)")

    def listing_rows(key, label, nfold):
        c = res.get(key)
        if not c:
            return
        bound = list_bound(nfold)
        lists = c["routes"].get("list", 0)
        row("%s: cold ls -R wall time" % label,
            "%.2f s (mount %.2f s); CPU rcfs %.2f s, emulator %.2f s"
            % (c["ls_s"], c["mount_s"], c["cpu"]["rcfs"], c["cpu"]["emulator"]))
        row("%s: cold ls -R list requests" % label, "%d" % lists,
            "<= %d (sum ceil(n/1000) + %d)" % (bound, LIST_SLACK), lists <= bound)
        row("%s: cold ls -R all requests" % label, fmt_routes(c["routes"]))
    listing_rows("cold_list", "%d msgs" % n, res.get("folders", {}))
    if "cold_grep" in res:
        c = res["cold_grep"]
        nc = c["routes"].get("content", 0)
        row("%d msgs: cold grep -r, limits off" % n,
            "%.2f s, %s (%.2f ms each)" % (c["s"], fmt_routes(c["routes"]),
                                           1000 * c["s"] / max(1, nc)))
        row("  CPU during it", "rcfs %.2f s, emulator %.2f s"
            % (c["cpu"]["rcfs"], c["cpu"]["emulator"]))
    if "fsync_ms" in res:
        row("cache disk: write+fsync+rename 48 KiB", "%.2f ms" % res["fsync_ms"], "(context)")
    if "direct" in res:
        for d in res["direct"]:
            row("emulator alone, %d connection%s" % (d["threads"], "s" if d["threads"] > 1 else ""),
                "%.2f s for %d requests, %.0f MiB (%.2f ms each)"
                % (d["s"], d["n"], d["bytes"] / 2**20, 1000 * d["s"] / d["n"]))
    for i, r in enumerate(res.get("rate", [])):
        row("cold grep -r, limits on (%d faxes), run %d" % (r["messages"], i + 1),
            "%.1f s, window %g s, Medium %d" % (r["s"], r["window"], r["limit"]))
        if r["per_window_full"] is not None:
            frac = r["per_window_full"] / r["limit"]
            row("  content requests per full window",
                "%.1f of %d = %.0f%% (%s)" % (r["per_window_full"], r["limit"], 100 * frac,
                                             " ".join(map(str, r["buckets"]))),
                ">= 90%", frac >= 0.9)
        row("  content requests per window, whole run (first burst incl.)",
            "%.1f (%d answered in %.1f s)" % (r["per_window_overall"], r["content_ok"], r["s"]))
        row("  429s", "%d in %d windows (max %d in one)" % (r["n429"], r["windows"], r["max429"]),
            "<= 1 per window", r["max429"] <= 1 and r["n429"] <= r["windows"])

    def remount_rows(key, size):
        c = res.get(key)
        if not c:
            return
        tgt = "< 1 s" + ("" if size >= 100000 else " (target is for 100,000)")
        state = "" if c.get("state_ms") is None else ", state read in %d ms" % c["state_ms"]
        row("%d msgs: remount to end of first ls %s" % (size, c["folder"]),
            "%.3f s (mounted at %.3f s%s)" % (c["first_ls_s"], c["mounted_s"], state), tgt,
            c["first_ls_s"] < 1.0)
        lists = c["routes"].get("list", 0)
        row("%d msgs: remount requests" % size, fmt_routes(c["routes"]), "0 list", lists == 0)
    remount_rows("remount", n)
    if "big" in res:
        b = res["big"]
        listing_rows("big_list", "100000 msgs", b["folders"])
        per = b["hwm_kib"] * 1024 / b["messages"]
        row("100000 msgs: peak RSS after ls -R",
            "%.1f MiB = %.0f B/message" % (b["hwm_kib"] / 1024, per), "<= 1024 B/message",
            per <= 1024)
        remount_rows("big_remount", 100000)
        rk = "big_remount" if "big_remount" in res else "remount"
        if rk in res:
            h = res[rk]["hwm_kib"]
            row("100000 msgs: peak RSS after remount + ls",
                "%.1f MiB = %.0f B/message" % (h / 1024, h * 1024 / b["messages"]))

    if "ocr" in res:
        o = res["ocr"]
        row("fax text: OCR of %d image faxes (%d pages)" % (o["faxes"], o["pages"]),
            "%.2f pages per CPU second (helpers' CPU %.1f s)"
            % (o["pages"] / max(o["cpu"], 0.01), o["cpu"]), "(context)")
        row("fax text: recall of distinctive words", "%d/%d = %.1f%%, false hits %d"
            % (o["found"], o["wanted"], 100 * o["found"] / max(1, o["wanted"]), o["false"]),
            ">= 90%, 0 false", o["found"] >= 0.9 * o["wanted"] and o["false"] == 0)
        nc = o["routes"].get("content", 0)
        row("fax text: cold grep -r over %d image faxes" % o["faxes"],
            "%.1f s, content %d for %d attachments" % (o["cold_s"], nc, o["attachments"]),
            "1 download each", nc == o["attachments"])
        wm = o["warm"]
        ratio = wm["mount_med"] / wm["local_med"] if wm["local_med"] > 0 else float("inf")
        row("fax text: warm grep -r over them, mount/local",
            "%.3f / %.3f s = %.2fx" % (wm["mount_med"], wm["local_med"], ratio), "<= 2.0x",
            ratio <= 2.0)
    bench_more.rows(res, row)

    w = [max(len(r[i]) for r in rows + [("measurement", "figure", "target", "result")])
         for i in range(4)]
    lines = []
    hdr = ("measurement", "figure", "target", "result")
    lines.append("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)).rstrip())
    lines.append("  ".join("-" * w[i] for i in range(4)))
    for r in rows:
        lines.append("  ".join(r[i].ljust(w[i]) for i in range(4)).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def revision():
    """The commit measured; "+changes" when the tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno", "--",
                                "fs", "mailbox", "api", "cache", "util", "meson.build"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


# Phases --only can name; the main mailbox's are MAIN_PHASES.
MAIN_PHASES = ("warm", "copies", "remount", "rate")
PHASES = MAIN_PHASES + ("live", "bulk", "ocr", "big")


def wanted(args, phase):
    return not args.only or phase in args.only


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rcfs", default=os.path.join(ROOT, "build-release", "fs", "rcfs"))
    ap.add_argument("--messages", type=int, default=10000,
                    help="messages on the one extension (default 10000)")
    ap.add_argument("--runs", type=int, default=5, help="measured warm runs (default 5)")
    ap.add_argument("--window", type=float, default=5.0,
                    help="rate-limit window in seconds for the limits-on run (default 5)")
    ap.add_argument("--rate-windows", type=int, default=7,
                    help="size of the limits-on subset, in windows of requests (default 7)")
    ap.add_argument("--rate-runs", type=int, default=None,
                    help="repetitions of the limits-on run (default 2)")
    ap.add_argument("--no-100k", action="store_true",
                    help="skip the separate 100,000-message memory/remount phase")
    ap.add_argument("--ocr-faxes", type=int, default=OCR_FAXES,
                    help="image faxes of the fax-text phase (default %d; 0 skips it)"
                    % OCR_FAXES)
    ap.add_argument("--quick", action="store_true",
                    help="2,000 messages, 3 runs, 3 windows, no 100,000 phase")
    ap.add_argument("--only", default="",
                    help="run only these phases, comma-separated, of: %s (default all; the main "
                         "mailbox's cold listing, cold grep and local copy run with any of its "
                         "phases, the emulator-alone timing with warm)" % ", ".join(PHASES))
    ap.add_argument("--workdir", help="where to put everything (default: a new /tmp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    args.only = [p for p in args.only.split(",") if p]
    if set(args.only) - set(PHASES):
        ap.error("--only: unknown phase(s) %s" % ", ".join(sorted(set(args.only) - set(PHASES))))
    if args.quick:
        args.messages, args.runs, args.rate_windows, args.no_100k = 2000, 3, 3, True
        args.rate_runs = args.rate_runs or 1
        args.ocr_faxes = min(args.ocr_faxes, 20)
    args.rate_runs = args.rate_runs or 2
    if args.messages < 40:
        ap.error("--messages must be at least 40")
    if not os.access(args.rcfs, os.X_OK):
        raise BenchError("no rcfs binary at %s" % args.rcfs)
    rcfs_lib.RCFS = os.path.abspath(args.rcfs)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    wd = args.workdir or tempfile.mkdtemp(prefix="rcfs-bench-")
    os.makedirs(wd, exist_ok=True)
    os.chmod(wd, 0o700)
    res = {}
    errors = []
    rev = revision()   # now: others may commit while this runs
    try:
        progress("rcfs %s; work folder %s; %d CPUs, kernel %s"
                 % (rcfs_lib.RCFS, wd, os.cpu_count(), os.uname().release))
        if any(wanted(args, p) for p in MAIN_PHASES):
            bench_main(args, wd, res)
        if wanted(args, "live"):
            bench_more.live(args, wd, res)
        if wanted(args, "bulk"):
            bench_more.bulk(args, wd, res)
        if wanted(args, "ocr") and args.ocr_faxes > 0:
            bench_ocr(args, wd, res)
        if wanted(args, "big") and not args.no_100k and args.messages != 100000:
            bench_big(args, wd, res)
    except BenchError as e:
        errors.append(str(e))
        progress("ERROR: %s" % e)
    except KeyboardInterrupt:
        progress("interrupted; cleaning up")
        LIVE.cleanup()
        if not args.keep:
            shutil.rmtree(wd, ignore_errors=True)
        return 130
    finally:
        LIVE.cleanup()
    if not args.keep and not errors:
        shutil.rmtree(wd, ignore_errors=True)
    elif errors:
        progress("work folder kept for inspection: %s" % wd)
    print()
    print("rcfs benchmark, %s, rcfs %s, %d CPUs, kernel %s, %d messages on one extension%s"
          % (time.strftime("%Y-%m-%d %H:%M %Z"), rev, os.cpu_count(),
             os.uname().release, args.messages,
             "; only " + ",".join(args.only) if args.only else ""))
    print(table(args, res))
    if "local_tree" in res:
        t = res["local_tree"]
        print("(mailbox copy: %d files, %d folders, %d symlinks, %.0f MiB)"
              % (t["files"], t["dirs"], t["links"], t["bytes"] / 2**20))
    if errors:
        print("ERRORS: " + "; ".join(errors))
        return 1
    return 0


def bench_main(args, wd, res):
    n = args.messages
    progress("== main mailbox: %d messages" % n)
    emu = start_emu(os.path.join(wd, "emu-main"), n)
    res["folders"] = truth_folders(emu)
    cache = os.path.join(wd, "cache-main")
    m = new_mount(emu, wd, "mnt", cache, args.rcfs)

    progress("== cold listing: ls -R of a fresh mount")
    top = cold_listing(emu, m, res, "cold_list")
    if n == 100000:
        res["big"] = {"messages": n, "folders": res["folders"], "hwm_kib": vm_hwm_kib(m.proc.pid)}
        progress("  VmHWM %.1f MiB" % (res["big"]["hwm_kib"] / 1024))
    if res["cold_list"]["seen"] != res["folders"]:
        progress("  WARNING: folder sizes %s differ from the server's %s"
                 % (res["cold_list"]["seen"], res["folders"]))

    progress("== cold content: grep -r with an empty content cache, limits off")
    cold_grep(emu, m, res)

    progress("== local copy: cp -a of the mount")
    local = os.path.join(wd, "local")
    dt, _ = run(["cp", "-a", m.path, local])
    ext = emu.extensions()[0]["extensionNumber"]
    res["local_tree"] = tree_facts(local)
    progress("  cp -a %.1f s: %s" % (dt, res["local_tree"]))
    rc = subprocess.run(["grep", "-rq", WORD, local]).returncode
    if rc != 1:
        raise BenchError("grep -r %s over the copy answered %d, not 1 (no match)" % (WORD, rc))

    local2 = os.path.join(wd, "local2")
    dt2, _ = run(["cp", "-a", local, local2])
    shutil.rmtree(local2, ignore_errors=True)
    res["cp"] = {"mount": dt, "local": dt2}
    progress("  cp -a of the copy %.1f s" % dt2)
    res["fsync_ms"] = fsync_probe(wd)
    progress("  write+fsync+rename of a 48 KiB file next to the cache: %.2f ms"
             % res["fsync_ms"])

    if wanted(args, "warm"):
        emulator_alone(emu, local, ext, res)
        progress("== warm: %d runs each over the mount and the copy" % args.runs)
        warm(m.path, local, args.runs, res)
        warm_outbox_on(m, local, args.runs, res)
    if wanted(args, "copies"):
        bench_more.copies(m.p(ext, "Fax"), os.path.join(local, ext, "Fax"), wd, res, args.runs,
                          rcfs_pid=m.proc.pid)
    if wanted(args, "remount"):
        progress("== remount from persisted state")
        remount(emu, m, top, res, "remount")
    if wanted(args, "rate"):
        rate_runs(args, emu, m, cache, local, ext, res)
    m.stop()
    emu.stop()
    if not args.keep:
        shutil.rmtree(local, ignore_errors=True)


def emulator_alone(emu, local, ext, res):
    progress("== emulator alone: the same downloads without rcfs")
    every = attachments_of(os.path.join(local, ext))
    got = res["cold_grep"]["attachments"]
    atts = [every[k] for k in sorted(got) if k in every]
    if len(atts) != len(got):
        progress("  WARNING: %d downloaded attachments not found in the copy"
                 % (len(got) - len(atts)))
    res["direct"] = []
    for threads in (1, 4):
        settle(emu, quiet=0.5)
        dt, nreq, nbytes = direct_fetch(emu, atts, threads)
        res["direct"].append({"threads": threads, "s": dt, "n": nreq, "bytes": nbytes})
        progress("  %d connection(s): %d requests, %.0f MiB in %.2f s"
                 % (threads, nreq, nbytes / 2**20, dt))


def rate_runs(args, emu, m, cache, local, ext, res):
    res["rate"] = []
    for i in range(args.rate_runs):
        progress("== cold content with rate limits (window %g s), run %d of %d"
                 % (args.window, i + 1, args.rate_runs))
        m.stop()
        shutil.rmtree(os.path.join(cache, "objects"), ignore_errors=True)
        emu.config(rate_limits=DEFAULT_LIMITS, rate_window=args.window)
        try:
            m.start(timeout=60)
            rate_limited_grep(emu, m, os.path.join(local, ext), args.window,
                              args.rate_windows, res)
        finally:
            emu.config(rate_limits=None)


def bench_big(args, wd, res):
    n = 100000
    progress("== memory and remount: %d messages" % n)
    emu = start_emu(os.path.join(wd, "emu-big"), n)
    folders = truth_folders(emu)
    m = new_mount(emu, wd, "mnt-big", os.path.join(wd, "cache-big"), args.rcfs)
    progress("== cold listing at %d: ls -R of a fresh mount" % n)
    top = cold_listing(emu, m, res, "big_list")
    res["big"] = {"messages": n, "folders": folders, "hwm_kib": vm_hwm_kib(m.proc.pid)}
    progress("  VmHWM %.1f MiB" % (res["big"]["hwm_kib"] / 1024))
    progress("== remount at %d" % n)
    remount(emu, m, top, res, "big_remount")
    m.stop()
    emu.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        LIVE.cleanup()
        sys.exit(1)
