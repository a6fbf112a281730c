"""Per-user, per-group request rate limits with the real server's penalty rule.

This module owns the rate-limit configuration and the request history.

- Groups: Light, Medium, Heavy, Auth.  A key is (owner, group): the token's
  extension for API calls, the client id for the token endpoint.
- A sliding window of `window` seconds counts the requests that were let
  through.  Over the group's limit the answer is 429 and the key is penalised
  for `penalty` seconds; every request during a penalty is refused too and
  restarts it.  Refused requests are not counted in the window.
- With limits off every group announces 1,000,000 and nothing is refused.
  With a JSON object, groups it leaves out are not limited.
"""

import collections
import math
import threading
import time

GROUPS = ("Light", "Medium", "Heavy", "Auth")
DEFAULT_LIMITS = {"Light": 50, "Medium": 40, "Heavy": 10, "Auth": 5}
UNLIMITED = 1_000_000


class Decision:
    __slots__ = ("allowed", "group", "limit", "remaining", "window", "retry_after")

    def __init__(self, allowed, group, limit, remaining, window, retry_after=None):
        self.allowed = allowed
        self.group = group
        self.limit = limit
        self.remaining = remaining
        self.window = window
        self.retry_after = retry_after

    def headers(self):
        h = [("X-Rate-Limit-Group", self.group),
             ("X-Rate-Limit-Limit", str(self.limit)),
             ("X-Rate-Limit-Remaining", str(self.remaining)),
             ("X-Rate-Limit-Window", str(self.window))]
        if self.retry_after is not None:
            h.append(("Retry-After", str(self.retry_after)))
        return h


def parse_limits(value):
    """'off' | 'default' | dict -> dict of group limits, or None for off."""
    if value is None or value == "off":
        return None
    if value == "default":
        return dict(DEFAULT_LIMITS)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k not in GROUPS:
                raise ValueError("unknown rate-limit group %r" % k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError("limit for %s must be a positive integer" % k)
            out[k] = v
        return out
    raise ValueError("rate limits must be off, default or a JSON object")


class RateLimiter:
    """Thread-safe limiter; see the module docstring for the rules."""

    def __init__(self, limits=None, window=60.0, penalty=None):
        self.lock = threading.Lock()
        self.limits = limits
        self.window = float(window)
        self.penalty = float(penalty) if penalty is not None else float(window)
        self.history = collections.defaultdict(collections.deque)
        self.penalised_until = {}

    def configure(self, limits=False, window=None, penalty=None):
        """Change settings; limits=False leaves them, None turns them off."""
        with self.lock:
            if limits is not False:
                self.limits = limits
            if window is not None:
                self.window = float(window)
            if penalty is not None:
                self.penalty = float(penalty)
            self.history.clear()
            self.penalised_until.clear()

    def _announce(self):
        return int(self.window) if self.window == int(self.window) else self.window

    def check(self, owner, group, count=True):
        """Decide on one request.  count=False only reports the state."""
        now = time.monotonic()
        with self.lock:
            limit = UNLIMITED if self.limits is None else self.limits.get(group, UNLIMITED)
            enforced = self.limits is not None and group in self.limits
            key = (owner, group)
            hist = self.history[key]
            while hist and hist[0] <= now - self.window:
                hist.popleft()
            if enforced and count:
                until = self.penalised_until.get(key)
                if until is not None and now < until:
                    self.penalised_until[key] = now + self.penalty
                    return Decision(False, group, limit, 0, self._announce(),
                                    max(1, math.ceil(self.penalty)))
                if len(hist) >= limit:
                    self.penalised_until[key] = now + self.penalty
                    return Decision(False, group, limit, 0, self._announce(),
                                    max(1, math.ceil(self.penalty)))
            if count:
                hist.append(now)
            return Decision(True, group, limit, max(0, limit - len(hist)), self._announce())
