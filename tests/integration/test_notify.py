"""Desktop notifications (-o notify): a new inbound fax, voicemail or text
raises one on the session bus.

The test runs a private session bus (dbus-daemon) and a small notification
server on it (python3-dbus) that records every Notify call, as a desktop's
notification daemon would receive them."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.lib.wait import poll as wait_for  # noqa: E402

SERVER = r'''
import json, sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib
out = sys.argv[1]
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName("org.freedesktop.Notifications", bus)

class Server(dbus.service.Object):
    n = 0
    @dbus.service.method("org.freedesktop.Notifications", in_signature="susssasa{sv}i",
                         out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        with open(out, "a") as f:
            f.write(json.dumps({"app": str(app), "summary": str(summary),
                                "body": str(body)}) + "\n")
        Server.n += 1
        return Server.n
    @dbus.service.method("org.freedesktop.Notifications", out_signature="as")
    def GetCapabilities(self):
        return ["body"]
    @dbus.service.method("org.freedesktop.Notifications", out_signature="ssss")
    def GetServerInformation(self):
        return ("rcfs-test", "rcfs", "1", "1.2")
    @dbus.service.method("org.freedesktop.Notifications", in_signature="u")
    def CloseNotification(self, id):
        pass

Server(bus, "/org/freedesktop/Notifications")
print("ready", flush=True)
GLib.MainLoop().run()
'''


@pytest.fixture
def session_bus(tmp_path):
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, text=True)
    address = bus.stdout.readline().strip()
    out = tmp_path / "notifications.jsonl"
    out.write_text("")
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address)
    srv = subprocess.Popen(["/usr/bin/python3", "-c", SERVER, str(out)], env=env,
                           stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    yield address, out
    srv.send_signal(signal.SIGTERM)
    srv.wait(10)
    bus.send_signal(signal.SIGTERM)
    bus.wait(10)


def notes(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_new_messages_raise_desktop_notifications(emu, make_mount, session_bus):
    address, out = session_bus
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address)
    m = make_mount(emu, opts={"poll": "0", "push": "on", "notify": True}, env=env).start()
    t = m.p(emu.extensions()[0]["extensionNumber"])
    for f in ("Fax", "SMS", "VoiceMail", "Pager"):
        os.listdir(os.path.join(t, f))
    assert wait_for(lambda: "push notifications: SUBSCRIBED" in m.log())
    assert notes(out) == []  # listing what was there raises nothing
    ext = emu.extensions()[0]["extensionNumber"]
    emu.add_message(ext, "SMS", subject="Lunch at noon? The usual place.",
                    **{"from": "+16505550199"})
    got = wait_for(lambda: notes(out))
    assert got and got[0]["app"] == "rcfs"
    assert got[0]["summary"] == "New text from +16505550199"
    assert got[0]["body"].startswith("Lunch at noon?")
    emu.add_message(ext, "Fax", **{"from": "+16505550177"})
    assert wait_for(lambda: any(n["summary"] == "New fax from +16505550177" for n in notes(out)))
    # Outbound messages and pager messages raise nothing.
    emu.add_message(ext, "SMS", direction="Outbound")
    emu.add_message(ext, "Pager")
    time.sleep(2)
    assert len(notes(out)) == 2, notes(out)


def test_without_a_session_bus_the_mount_goes_on(emu, make_mount):
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bus"
    m = make_mount(emu, opts={"notify": True}, env=env).start()
    assert os.listdir(m.p(emu.extensions()[0]["extensionNumber"], "SMS"))
