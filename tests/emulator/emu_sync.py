"""Message sync (FSync / ISync) and its opaque, tamper-evident tokens.

This module owns the sync-token key and generation and the sync semantics
(README "Message sync"):

- A token is urlsafe base64 of a packed frame (extension, dateFrom, dateTo or
  open, type/direction masks, conversation id, distinctConversations) plus the
  sync time and the generation, followed by a truncated HMAC-SHA256 under a
  key drawn at start.  Tokens do not survive a restart (the state does not
  either), and POST /control/sync/invalidate bumps the generation so every
  token issued before is refused with 400 MSG-333.
- FSync returns the Alive messages of the frame, newest first, at most
  min(recordCount, 250); syncInfo.olderRecordsExist tells whether more exist.
- ISync returns every message of the frame whose lastModifiedTime is at or
  after (token time - 5 s): Alive ones as full records, Deleted and Purged ones
  as {"id", "availability"} only.  It is not capped.
"""

import base64
import hashlib
import hmac
import secrets
import struct
import threading

import emu_mailbox as mbx

MAX_RECORDS = 250
OVERLAP_MS = 5000
_FMT = "<BBHIqqqBBBq"   # version, flags, ext index, generation, sync time, from, to,
#                         type mask, direction mask, distinct, conversation id
_VERSION = 1
_MAC_LEN = 16


class SyncTokenError(Exception):
    pass


class Frame:
    __slots__ = ("ext_index", "date_from", "date_to", "types", "direction",
                 "conversation_id", "distinct")

    def __init__(self, ext_index, date_from, date_to, types, direction, conversation_id, distinct):
        self.ext_index = ext_index
        self.date_from = date_from
        self.date_to = date_to          # None = open (follows the present)
        self.types = types              # set of names or None
        self.direction = direction      # set of names or None
        self.conversation_id = conversation_id
        self.distinct = distinct


def _mask(names, universe):
    if names is None:
        return 0
    m = 0
    for k, n in enumerate(universe):
        if n in names:
            m |= 1 << k
    return m


def _unmask(m, universe):
    if m == 0:
        return None
    return {n for k, n in enumerate(universe) if m & (1 << k)}


class SyncService:
    def __init__(self, mailbox):
        self.mailbox = mailbox
        self.key = secrets.token_bytes(32)
        self.generation = 0
        self.lock = threading.Lock()
        self.is_hidden = None   # f(ext, index, now_ms): a pushed change not visible yet (emu_ws)

    def invalidate(self):
        with self.lock:
            self.generation += 1

    # ---------------------------------------------------------------- tokens
    def encode(self, frame, sync_ms):
        flags = 1 if frame.date_to is not None else 0
        payload = struct.pack(_FMT, _VERSION, flags, frame.ext_index, self.generation, sync_ms,
                              frame.date_from, frame.date_to or 0,
                              _mask(frame.types, mbx.TYPES), _mask(frame.direction, mbx.DIRECTIONS),
                              1 if frame.distinct else 0, frame.conversation_id or 0)
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()[:_MAC_LEN]
        return base64.urlsafe_b64encode(payload + mac).decode("ascii").rstrip("=")

    def decode(self, token):
        """(Frame, sync time ms) or SyncTokenError."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise SyncTokenError("not base64")
        size = struct.calcsize(_FMT)
        if len(raw) != size + _MAC_LEN:
            raise SyncTokenError("bad length")
        payload, mac = raw[:size], raw[size:]
        want = hmac.new(self.key, payload, hashlib.sha256).digest()[:_MAC_LEN]
        if not hmac.compare_digest(mac, want):
            raise SyncTokenError("bad signature")
        (version, flags, ext_index, gen, sync_ms, dfrom, dto, tmask, dmask, distinct,
         conv) = struct.unpack(_FMT, payload)
        if version != _VERSION or gen != self.generation:
            raise SyncTokenError("invalidated")
        frame = Frame(ext_index, dfrom, dto if flags & 1 else None, _unmask(tmask, mbx.TYPES),
                      _unmask(dmask, mbx.DIRECTIONS), conv or None, bool(distinct))
        return frame, sync_ms

    # ------------------------------------------------------------ operations
    def fsync(self, ext, frame, record_count):
        mb = self.mailbox
        with mb.lock:
            now = mb.tick()
            idx = mb.select(ext, frame.date_from, frame.date_to if frame.date_to is not None
                            else now + 1, frame.types, {"Alive"}, None, frame.direction,
                            frame.conversation_id, None, frame.distinct)
            limit = min(MAX_RECORDS, record_count)
            records = [mb.record(ext, i) for i in idx[:limit]]
            token = self.encode(frame, now)
        return records, {"syncType": "FSync", "syncToken": token, "syncTime": mbx.iso_ms(now),
                         "olderRecordsExist": len(idx) > limit}

    def isync(self, ext, token):
        frame, since = self.decode(token)
        if frame.ext_index != ext.index:
            raise SyncTokenError("other extension")
        mb = self.mailbox
        with mb.lock:
            now = mb.tick()
            records = []
            for i in mb.changed_since(ext, since - OVERLAP_MS):
                if self.is_hidden is not None and self.is_hidden(ext, i, now):
                    continue  # the next ISync's overlap (5 s before this token) brings it
                if not mb.in_frame(ext, i, frame.date_from, frame.date_to, frame.types,
                                   frame.direction, frame.conversation_id):
                    continue
                if ext.avail[i] == mbx.ALIVE:
                    records.append(mb.record(ext, i))
                else:
                    records.append(mb.tombstone(ext, i))
            new_token = self.encode(frame, now)
        return records, {"syncType": "ISync", "syncToken": new_token, "syncTime": mbx.iso_ms(now),
                         "olderRecordsExist": False}
