"""Fault injection settings and the per-request fault decision.

This module owns the fault settings (README "Faults") and the seeded random
generator that draws probabilistic faults.  It decides *which* fault a request
gets; the HTTP layer (emu_http) carries it out on the socket.

Order of decision for one request on the platform or media listener:
1. The first script entry that still has a count left and whose route matches
   (a missing or null "route" matches every route) fires and is used up by one.
2. Otherwise, when "routes" is null or names the request's route, the rates
   are drawn in this order: error, reset, truncate, malformed_json,
   json_error_content (content requests only); the first hit wins.
`delay_ms` then applies to every request that "routes" selects.
"""

import random
import threading

ACTIONS = ("status", "reset", "reset_after", "truncate", "truncate_no_length", "delay",
           "malformed_json", "json_error_200")
DEFAULTS = {
    "error_rate": 0.0, "error_status": 503, "reset_rate": 0.0, "truncate_rate": 0.0,
    "malformed_json_rate": 0.0, "json_error_content_rate": 0.0, "delay_ms": 0,
    "routes": None, "seed": 1, "script": [],
}
ROUTES = ("token", "revoke", "extension_list", "extension_get", "list", "get", "get_batch",
          "put", "patch", "delete", "sync_fsync", "sync_isync", "content",
          "platform_content", "other", "fax", "sms", "pager", "phone_numbers", "cover_pages")


class Fault:
    __slots__ = ("action", "status", "ms")

    def __init__(self, action, status=None, ms=0):
        self.action = action
        self.status = status
        self.ms = ms


def _rate(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise ValueError("%s must be a number from 0 to 1" % name)
    return float(v)


def validate(settings):
    """Return a complete, checked copy of a fault settings object."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ValueError("faults must be a JSON object")
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError("unknown fault settings: %s" % ", ".join(sorted(unknown)))
    out = dict(DEFAULTS)
    out.update(settings)
    for name in ("error_rate", "reset_rate", "truncate_rate", "malformed_json_rate",
                 "json_error_content_rate"):
        out[name] = _rate(name, out[name])
    for name in ("error_status", "delay_ms", "seed"):
        if isinstance(out[name], bool) or not isinstance(out[name], int):
            raise ValueError("%s must be an integer" % name)
    if not 100 <= out["error_status"] <= 599:
        raise ValueError("error_status must be an HTTP status")
    if out["delay_ms"] < 0:
        raise ValueError("delay_ms must not be negative")
    routes = out["routes"]
    if routes is not None:
        if not isinstance(routes, list) or any(r not in ROUTES for r in routes):
            raise ValueError("routes must be null or a list of route names: %s" % ", ".join(ROUTES))
    script = out["script"]
    if script is None:
        script = []
    if not isinstance(script, list):
        raise ValueError("script must be a list")
    checked = []
    for entry in script:
        if not isinstance(entry, dict):
            raise ValueError("script entries must be objects")
        extra = set(entry) - {"route", "action", "status", "count", "ms"}
        if extra:
            raise ValueError("unknown script keys: %s" % ", ".join(sorted(extra)))
        e = {"route": entry.get("route"), "action": entry.get("action"),
             "count": entry.get("count", 1)}
        if e["route"] is not None and e["route"] not in ROUTES:
            raise ValueError("unknown route %r" % e["route"])
        if e["action"] not in ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(ACTIONS))
        if isinstance(e["count"], bool) or not isinstance(e["count"], int) or e["count"] < 0:
            raise ValueError("count must be a non-negative integer")
        if e["action"] == "status":
            st = entry.get("status", 503)
            if isinstance(st, bool) or not isinstance(st, int) or not 100 <= st <= 599:
                raise ValueError("status must be an HTTP status")
            e["status"] = st
        if e["action"] == "delay":
            ms = entry.get("ms", 1000)
            if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
                raise ValueError("ms must be a non-negative integer")
            e["ms"] = ms
        checked.append(e)
    out["script"] = checked
    return out


class Faults:
    """Current settings plus the generator; thread-safe."""

    def __init__(self, settings=None):
        self.lock = threading.Lock()
        self.set(settings)

    def set(self, settings):
        checked = validate(settings)
        with self.lock:
            self.settings = checked
            self.rng = random.Random(checked["seed"])

    def get(self):
        with self.lock:
            s = dict(self.settings)
            s["script"] = [dict(e) for e in self.settings["script"]]
            return s

    def decide(self, route):
        """(Fault or None, delay_ms) for one request on `route`."""
        with self.lock:
            s = self.settings
            selected = s["routes"] is None or route in s["routes"]
            delay = s["delay_ms"] if selected else 0
            for entry in s["script"]:
                if entry["count"] > 0 and (entry["route"] is None or entry["route"] == route):
                    entry["count"] -= 1
                    return Fault(entry["action"], entry.get("status"), entry.get("ms", 0)), delay
            if not selected:
                return None, 0
            fault = None
            draws = (("error_rate", "status"), ("reset_rate", "reset"),
                     ("truncate_rate", "truncate"), ("malformed_json_rate", "malformed_json"))
            for name, action in draws:
                if s[name] > 0 and self.rng.random() < s[name]:
                    fault = Fault(action, s["error_status"] if action == "status" else None)
                    break
            if fault is None and route == "content" and s["json_error_content_rate"] > 0 \
                    and self.rng.random() < s["json_error_content_rate"]:
                fault = Fault("json_error_200")
            return fault, delay
