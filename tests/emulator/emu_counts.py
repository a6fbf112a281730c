"""Request counters for GET /control/counts.

This module owns the counts of requests the platform and media listeners
received: by route, by message id and route, by attachment, by answered HTTP
status, 429s by rate-limit group, and injected faults by action.  A request
is counted when it arrives (route, message, attachment); its status when it
is answered (a reset connection has none).  The control listener is never
counted.  WebSocket happenings (messages by type, connects, pings, pongs,
recoveries, timeouts) are counted apart, under "ws".
"""

import collections
import threading


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.total = 0
            self.routes = collections.Counter()
            self.messages = collections.defaultdict(collections.Counter)
            self.attachments = collections.Counter()
            self.status = collections.Counter()
            self.rate_limited = collections.Counter()
            self.faults = collections.Counter()
            self.ws_counts = collections.Counter()

    def request(self, route, message_ids=(), attachment=None):
        with self.lock:
            self.total += 1
            self.routes[route] += 1
            for mid in message_ids:
                self.messages[str(mid)][route] += 1
            if attachment is not None:
                self.attachments["%s/%s" % attachment] += 1

    def answered(self, status):
        with self.lock:
            self.status[str(status)] += 1

    def limited(self, group):
        with self.lock:
            self.rate_limited[group] += 1

    def fault(self, action):
        with self.lock:
            self.faults[action] += 1

    def ws(self, what):
        """One WebSocket happening: a message type sent or received, a connect, a ping..."""
        with self.lock:
            self.ws_counts[what] += 1

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "routes": dict(self.routes),
                    "messages": {k: dict(v) for k, v in self.messages.items()},
                    "attachments": dict(self.attachments), "status": dict(self.status),
                    "rate_limited": dict(self.rate_limited), "faults": dict(self.faults),
                    "ws": dict(self.ws_counts)}
