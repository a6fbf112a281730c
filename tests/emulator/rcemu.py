#!/usr/bin/python3
"""rcemu: a local emulator of the RingCentral message-store API (entry point).

This file owns the command line, the wiring of the emulator's parts and the
process life cycle: it builds the generated mailbox, binds the platform, media,
control and WebSocket listeners on 127.0.0.1, writes the ready file (mode 0600,
atomically) once all four are bound, and serves until SIGTERM or SIGINT.

The contract is tests/emulator/README.md.  Python 3 standard library, plus Debian's
python3-websockets for the WebSocket listener.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import emu_api  # noqa: E402
import emu_auth  # noqa: E402
import emu_control  # noqa: E402
import emu_faults  # noqa: E402
import emu_http  # noqa: E402
import emu_mailbox  # noqa: E402
import emu_ratelimit  # noqa: E402
import emu_ws  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="rcemu", description=__doc__.split("\n")[0])
    p.add_argument("--ready-file", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--extensions", type=int, default=3)
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--token-lifetime", type=float, default=3600)
    p.add_argument("--refresh-lifetime", type=float, default=604800)
    p.add_argument("--rate-limits", default="off")
    p.add_argument("--rate-window", type=float, default=60)
    p.add_argument("--penalty", type=float, default=None)
    p.add_argument("--faults", default=None)
    p.add_argument("--extension-list-forbidden", action="store_true")
    p.add_argument("--non-admin", action="store_true",
                   help="the JWT's user is not an admin: other extensions' messages are 403")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--media-port", type=int, default=0)
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--ws-port", type=int, default=0)
    p.add_argument("--no-websocket-permission", action="store_true",
                   help="the app lacks WebSocketsSubscription: wstoken answers 403 CMN-401")
    p.add_argument("--credentials", default=None,
                   help="JSON file with client_id, client_secret, jwt: used when it exists, "
                        "else written (0600), so a restarted emulator accepts the same ones")
    p.add_argument("--anchor-ms", type=int, default=None,
                   help="the time generated messages hang off (default: the start of the "
                        "current hour); pass the same value to restart with the same mailbox")
    args = p.parse_args(argv)
    if args.extensions < 1:
        p.error("--extensions must be at least 1")
    if not 0 <= args.messages <= emu_mailbox.EXT_STRIDE:
        p.error("--messages must be from 0 to %d" % emu_mailbox.EXT_STRIDE)
    if args.token_lifetime < 0 or args.refresh_lifetime < 0 or args.rate_window <= 0:
        p.error("lifetimes must not be negative and the window must be positive")
    if args.penalty is not None and args.penalty < 0:
        p.error("--penalty must not be negative")
    try:
        limits = args.rate_limits
        if limits not in ("off", "default"):
            limits = json.loads(limits)
        args.limits = emu_ratelimit.parse_limits(limits)
    except ValueError as e:
        p.error("--rate-limits: %s" % e)
    try:
        args.fault_settings = emu_faults.validate(json.loads(args.faults) if args.faults else {})
    except ValueError as e:
        p.error("--faults: %s" % e)
    return args


def write_ready(path, info):
    """Write JSON to path atomically with mode 0600."""
    path = os.path.abspath(path)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_or_save_credentials(path, auth):
    """Reuse the credentials in path, or write this run's there (mode 0600)."""
    try:
        with open(path) as f:
            c = json.load(f)
        auth.client_id, auth.client_secret, auth.jwt = c["client_id"], c["client_secret"], c["jwt"]
    except FileNotFoundError:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"client_id": auth.client_id, "client_secret": auth.client_secret,
                       "jwt": auth.jwt}, f)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    mailbox = emu_mailbox.Mailbox(args.seed, args.extensions, args.messages,
                                  anchor_ms=args.anchor_ms)
    owner = mailbox.exts[0]
    auth = emu_auth.Auth(owner.id, args.token_lifetime, args.refresh_lifetime)
    if args.credentials:
        load_or_save_credentials(args.credentials, auth)
    limiter = emu_ratelimit.RateLimiter(args.limits, args.rate_window, args.penalty)
    faults = emu_faults.Faults(args.fault_settings)
    app = emu_api.App(mailbox, auth, limiter, faults, args.extension_list_forbidden)
    app.owner_admin = not args.non_admin
    app.penalty_given = args.penalty is not None
    app.ws = emu_ws.WsHub(mailbox, auth, app.counts)
    if args.no_websocket_permission:
        app.ws.set_config({"ws_permission": False})

    servers = [emu_http.Server(args.port, emu_api.ApiHandler, app),
               emu_http.Server(args.media_port, emu_api.MediaHandler, app),
               emu_http.Server(args.control_port, emu_control.ControlHandler, app)]
    urls = ["http://127.0.0.1:%d" % s.server_address[1] for s in servers]
    mailbox.server_url, mailbox.media_url = urls[0], urls[1]
    app.ws.start(args.ws_port)
    mailbox.listeners.append(app.ws.change)
    app.sync.is_hidden = app.ws.is_hidden

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)

    write_ready(args.ready_file, {
        "pid": os.getpid(),
        "server_url": urls[0],
        "media_url": urls[1],
        "control_url": urls[2],
        "ws_url": app.ws.url(),
        "client_id": auth.client_id,
        "client_secret": auth.client_secret,
        "jwt": auth.jwt,
        "account_id": mailbox.account_id,
        "owner_extension_id": str(owner.id),
        "extensions": [ext.public() for ext in mailbox.exts],
    })
    sys.stderr.write("rcemu: seed %d, %d extensions x %d messages; platform %s media %s "
                     "control %s\n" % (args.seed, args.extensions, args.messages, *urls))
    sys.stderr.flush()
    while not stop.wait(1.0):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    app.ws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
