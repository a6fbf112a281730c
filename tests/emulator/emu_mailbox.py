"""The generated mailbox: extensions, messages, their records and content.

This module owns the emulator's message-store state.  It is a pure function of
(seed, number of extensions, messages per extension, anchor time) plus an
overlay of changes made since start:

- Per extension it keeps only small arrays indexed by message index
  (creation time, kind, peer, read status, availability); everything else in a
  record (parties, subject, attachments, durations, ...) and every attachment's
  bytes are derived on demand from (seed, extension index, message index).
- Changes (read status, availability, messages added through the control API)
  live in those arrays plus two small dicts (lastModifiedTime overrides and
  added-message fields), so 100,000 messages per extension fit in a few MB.
- Messages created by the send endpoints (emu_send) are added messages whose
  fields carry a "sent" spec: parties, text, status, fax facts and the
  rendered document's bytes; their status changes through set_sent_status.
- Peers beyond the generated ones (a number someone sent to) are appended per
  extension (peer_for), each with its own conversation.

Message index order is creation-time order, so a date window is a bisection
and "newest first" is descending index.  Message ids are
``(400000000 + ext_index * 10**7 + index) * 1000 + 4`` -- above 2**32, unique
across extensions, increasing with time, ending in 004 as real ones do.

Every public method takes the mailbox lock; callers never touch the arrays.
"""

import array
import bisect
import hashlib
import random
import threading
import time
from collections import OrderedDict

import emu_content
import emu_faxpage

TYPES = ("Fax", "SMS", "VoiceMail", "Pager", "Text")
DIRECTIONS = ("Inbound", "Outbound")
AVAILABILITIES = ("Alive", "Deleted", "Purged")
READ_STATUSES = ("Unread", "Read")
ALIVE, DELETED, PURGED = 0, 1, 2
UNREAD, READ = 0, 1

MSG_BASE = 400_000_000
EXT_STRIDE = 10 ** 7
ACCOUNT_ID = "37439510"
EXT_ID_BASE = 5_000_000_004
TWO53 = 2 ** 53
DAY_MS = 86_400_000

# Message kinds: (type index, direction index, description)
(K_FAX_IN, K_FAX_IN_TIFF, K_FAX_OUT, K_FAX_OUT_SRC2, K_VM_WAV, K_VM_WAV_TRANS,
 K_VM_MP3, K_SMS_IN, K_SMS_OUT, K_MMS_IN, K_MMS_OUT, K_MMS_HOSTILE_A,
 K_MMS_HOSTILE_B, K_PAGER_IN, K_PAGER_OUT, K_TEXT_IN, K_TEXT_OUT) = range(17)
KIND_TYPE = (0, 0, 0, 0, 2, 2, 2, 1, 1, 1, 1, 1, 1, 3, 3, 4, 4)
KIND_DIR = (0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1)
N_KINDS = len(KIND_TYPE)
CONVERSATION_KINDS = frozenset(k for k in range(N_KINDS) if KIND_TYPE[k] in (1, 3))
MMS_KINDS = frozenset((K_MMS_IN, K_MMS_OUT, K_MMS_HOSTILE_A, K_MMS_HOSTILE_B))

# Weighted kinds for ordinary (non-guaranteed) messages.
_KIND_WEIGHTS = [
    (K_FAX_IN, 12), (K_FAX_IN_TIFF, 2), (K_FAX_OUT, 5), (K_VM_WAV, 14), (K_VM_MP3, 4),
    (K_SMS_IN, 17), (K_SMS_OUT, 13), (K_MMS_IN, 2), (K_MMS_OUT, 1),
    (K_PAGER_IN, 9), (K_PAGER_OUT, 7), (K_TEXT_IN, 9), (K_TEXT_OUT, 2),
]
_KIND_CUM = []
_acc = 0
for _k, _w in _KIND_WEIGHTS:
    _acc += _w
    _KIND_CUM.append(_acc)
_KIND_TOTAL = _acc

N_PHONE_PEERS = 40
N_PAGER_PEERS = 8

# Guaranteed messages (see README "The generated mailbox"): role, kind, read, availability, peer
SPECIALS = (
    ("tiff_fax", K_FAX_IN_TIFF, READ, ALIVE, None),
    ("fax_two_sources", K_FAX_OUT_SRC2, READ, ALIVE, None),
    ("mp3_voicemail", K_VM_MP3, READ, ALIVE, None),
    ("wav_transcribed", K_VM_WAV_TRANS, READ, ALIVE, None),
    ("mms_hostile_a", K_MMS_HOSTILE_A, READ, ALIVE, 3),
    ("mms_hostile_b", K_MMS_HOSTILE_B, READ, ALIVE, 4),
    ("deleted_sms", K_SMS_IN, READ, DELETED, 5),
    ("deleted_fax", K_FAX_IN, UNREAD, DELETED, None),
    ("unread_fax", K_FAX_IN, UNREAD, ALIVE, None),
    ("unread_sms", K_SMS_IN, UNREAD, ALIVE, 6),
    ("unread_voicemail", K_VM_WAV, UNREAD, ALIVE, None),
    ("unread_pager", K_PAGER_IN, UNREAD, ALIVE, None),
    ("unread_text", K_TEXT_IN, UNREAD, ALIVE, None),
    ("conversation_above_2_53", K_SMS_IN, READ, ALIVE, 0),
    ("conversation_at_2_53", K_SMS_OUT, READ, ALIVE, 1),
)

HOSTILE_A = (("../../etc/passwd", "image/png"), ("a/b.png", "image/png"),
             ("line1\nline2.jpg", "image/jpeg"), ("photo.jpg", "image/jpeg"),
             ("photo.jpg", "image/jpeg"))
HOSTILE_B = (("long-" + "n" * 291 + ".gif", "image/gif"), ("..", "image/png"),
             ("café-Ω.png", "image/png"), ("sunset.png", "image/png"))
assert len(HOSTILE_B[0][0].encode()) == 300

WORDS = ("invoice", "contract", "quarterly", "shipment", "purchase", "receipt",
         "warranty", "appointment", "referral", "prescription", "statement",
         "proposal", "estimate", "agreement", "deadline", "payment", "delivery",
         "schedule", "inventory", "lease", "insurance", "claim", "audit", "budget",
         "memo", "notice", "renewal", "signature", "approval", "pallet")

PEER_NAMES = ("O'Brien / Sales", "Zoë Łukasiewicz", "📞 Front Desk", "Ana María Núñez",
              "Dr. Smith, Jr.", 'Acme "Quotes" Ltd', "李小龙", "Back\\slash & Co",
              "Jane Smith", "John Smith", "Pat Lee", "Fax Machine", "RingCentral",
              "Møller Shipping", "#1 Plumbing <24h>", "Émile Zola")
LOCATIONS = ("San Mateo, CA", "Benton, AR", "Warner Springs, CA", "Palo Alto, CA",
             "Austin, TX", "Portland, OR")
EXT_NAMES = ("Alice Anders", "Bob Brennan", "Carol Chen", "Dave Duarte", "Erin Eze",
             "Frank Fischer", "Grace Gómez", "Hank Hill")
SMS_TEXTS = ("Running 10 min late 🚗", "Café at 3? ☕", "Über-quick question: are you in today?",
             "Call me back\nThanks", "Your code is {n}", "Meeting moved to Thursday",
             "👍", "Can you send the invoice?", "Ünïcödé test ✓ ñ", "Order #{n} has shipped",
             "Reminder: appointment tomorrow at 9:30", "OK", "Where are the keys?",
             "Happy birthday! 🎂🎉", "The pallet arrives at dock {n}")
PAGER_TEXTS = ("Lunch?", "Build is green", "Please review the contract",
               "Standup in 5", "Can you cover the front desk?", "Fax for you on the printer",
               "Ticket {n} closed", "Ping me when free")
MESSAGE_STATUS_OUT_SMS = ("Delivered", "Delivered", "Delivered", "Sent", "DeliveryFailed")
TRANSCRIPTION = ("Completed", "Completed", "Completed", "NotAvailable", "NotAvailable",
                 "Failed", "CompletedPartially")


def iso_ms(ms):
    """ISO 8601 UTC with milliseconds: 2018-12-24T10:39:24.000Z."""
    secs, frac = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % frac


def _h64(*parts):
    data = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class _Draw:
    """Cheap deterministic draws from a hash chain (faster to seed than random.Random)."""

    __slots__ = ("key", "buf", "pos", "n")

    def __init__(self, *parts):
        self.key = ":".join(str(p) for p in parts).encode()
        self.n = 0
        self.buf = hashlib.blake2b(self.key, digest_size=64).digest()
        self.pos = 0

    def _u32(self):
        if self.pos > 60:
            self.n += 1
            self.buf = hashlib.blake2b(self.key + b"#%d" % self.n, digest_size=64).digest()
            self.pos = 0
        v = int.from_bytes(self.buf[self.pos:self.pos + 4], "little")
        self.pos += 4
        return v

    def random(self):
        return self._u32() / 4294967296.0

    def randrange(self, a, b=None):
        if b is None:
            a, b = 0, a
        return a + self._u32() % (b - a)

    def choice(self, seq):
        return seq[self._u32() % len(seq)]

    def sample(self, seq, k):
        pool = list(seq)
        return [pool.pop(self._u32() % len(pool)) for _ in range(k)]


class Extension:
    """One extension's identity and its message arrays."""

    def __init__(self, index, ext_id, number, name, phone):
        self.index = index
        self.id = ext_id            # int
        self.number = number        # "101"
        self.name = name
        self.phone = phone
        self.ctime = array.array("q")   # creation time, ms, non-decreasing
        self.kind = bytearray()
        self.peer = array.array("H")
        self.read = bytearray()
        self.avail = bytearray()
        self.lastmod = {}           # index -> lastModifiedTime ms (changed since start)
        self.added = {}             # index -> fields given to POST /control/messages
        self.specials = {}          # role -> index
        self.n_generated = 0
        self.extra_peers = []       # peers added by sends: (phone, number, name, location, ext id)

    def public(self):
        return {"id": str(self.id), "extensionNumber": self.number, "name": self.name}


class Mailbox:
    """The account: extensions and their messages.  Thread-safe."""

    def __init__(self, seed=1, extensions=3, messages=200, now_ms=None, anchor_ms=None):
        self.seed = int(seed)
        self.lock = threading.RLock()
        self.start_ms = int(now_ms if now_ms is not None else time.time() * 1000)
        # Generated times hang off the start of the hour (or a given anchor), so
        # a restart serves the same mailbox; "recent" ones end 5 minutes before it.
        self.anchor_ms = (int(anchor_ms) if anchor_ms is not None
                          else self.start_ms - self.start_ms % 3_600_000)
        self.account_id = ACCOUNT_ID
        self.server_url = "http://127.0.0.1"
        self.media_url = "http://127.0.0.1"
        self._last_tick = self.start_ms
        self._detail_cache = OrderedDict()
        self._content_cache = OrderedDict()
        self._replaced = {}  # (ext index, i, att id) -> bytes given to PUT .../content/{attId}
        self._size_cache = {}       # (ext, index, attachment id) -> size of MMS images
        self._peer_cache = {}
        self._conv_cache = {}
        self.listeners = []        # f(ext, index, new) after every add or change
        self.exts = []
        for e in range(int(extensions)):
            ext = Extension(e, EXT_ID_BASE + e * 1000, str(101 + e),
                            EXT_NAMES[e % len(EXT_NAMES)] + ("" if e < len(EXT_NAMES) else " %d" % e),
                            "+1650555%04d" % (101 + e))
            self._generate(ext, int(messages))
            self.exts.append(ext)
        self.by_id = {ext.id: ext for ext in self.exts}
        self.by_number = {ext.number: ext for ext in self.exts}

    # ------------------------------------------------------------ generation
    def _generate(self, ext, n):
        if n > EXT_STRIDE:
            raise ValueError("at most %d messages per extension" % EXT_STRIDE)
        rng = random.Random(self.seed * 1_000_003 + ext.index * 7919 + 17)
        recent = min(n, max(4, n // 50))
        old = n - recent
        oldest = self.anchor_ms - 730 * DAY_MS
        newest_old = self.anchor_ms - 25 * 3_600_000
        times = sorted(rng.randrange(oldest, newest_old) // 1000 * 1000 for _ in range(old))
        times += sorted(rng.randrange(self.anchor_ms - 20 * 3_600_000,
                                      self.anchor_ms - 300_000) // 1000 * 1000
                        for _ in range(recent))
        ext.ctime = array.array("q", times)
        kind = bytearray(n)
        peer = array.array("H", bytes(2 * n))
        read = bytearray(n)
        avail = bytearray(n)
        cum, total = _KIND_CUM, _KIND_TOTAL
        rnd = rng.random
        for i in range(n):
            k = _KIND_WEIGHTS[bisect.bisect_right(cum, rnd() * total)][0]
            kind[i] = k
            if KIND_TYPE[k] == 3:
                peer[i] = N_PHONE_PEERS + int(rnd() * N_PAGER_PEERS)
            else:
                peer[i] = int(rnd() * N_PHONE_PEERS)
            read[i] = READ if rnd() < 0.66 else UNREAD
            avail[i] = DELETED if (i < old and rnd() < 0.05) else ALIVE
        if old >= len(SPECIALS):
            for k, (role, skind, sread, savail, speer) in enumerate(SPECIALS):
                i = ((2 * k + 1) * old) // (2 * len(SPECIALS))
                kind[i] = skind
                read[i] = sread
                avail[i] = savail
                if speer is not None:
                    peer[i] = speer
                elif KIND_TYPE[skind] == 3:
                    peer[i] = N_PHONE_PEERS + (i % N_PAGER_PEERS)
                ext.specials[role] = i
        if recent:
            ext.specials["recent"] = n - 1
        ext.kind, ext.peer, ext.read, ext.avail = kind, peer, read, avail
        ext.n_generated = n

    # --------------------------------------------------------------- helpers
    def tick(self):
        """A fresh lastModifiedTime: now in ms, strictly increasing."""
        with self.lock:
            now = int(time.time() * 1000)
            if now <= self._last_tick:
                now = self._last_tick + 1
            self._last_tick = now
            return now

    def msg_id(self, e, i):
        return (MSG_BASE + e * EXT_STRIDE + i) * 1000 + 4

    def locate(self, mid):
        """(Extension, index) of a message id, or None when it never existed."""
        try:
            mid = int(mid)
        except (TypeError, ValueError):
            return None
        q, r = divmod(mid, 1000)
        if r != 4 or q < MSG_BASE:
            return None
        e, i = divmod(q - MSG_BASE, EXT_STRIDE)
        if e >= len(self.exts):
            return None
        ext = self.exts[e]
        with self.lock:
            if i >= len(ext.kind):
                return None
        return ext, i

    def extension(self, key):
        """Extension by id (int or str) or by extension number."""
        if isinstance(key, Extension):
            return key
        s = str(key)
        if s in self.by_number:
            return self.by_number[s]
        try:
            return self.by_id.get(int(s))
        except ValueError:
            return None

    def peer_info(self, ext, p):
        """(phone or None, ext number or None, name or None, location or None, ext id or None)."""
        if p >= N_PHONE_PEERS + N_PAGER_PEERS:
            return ext.extra_peers[p - N_PHONE_PEERS - N_PAGER_PEERS]
        cache = self._peer_cache.get(ext.index)
        if cache is None:
            cache = [self._peer_info(ext, k) for k in range(N_PHONE_PEERS + N_PAGER_PEERS)]
            self._peer_cache[ext.index] = cache
        return cache[p]

    def _peer_info(self, ext, p):
        if p >= N_PHONE_PEERS:
            k = p - N_PHONE_PEERS
            others = [x for x in self.exts if x is not ext]
            if k < len(others):
                o = others[k]
                return None, o.number, o.name, None, o.id
            number = str(201 + k)
            return None, number, PEER_NAMES[_h64(self.seed, "pname", number) % len(PEER_NAMES)], None, None
        h = _h64(self.seed, "peer", ext.index, p)
        phone = "+1650555%04d" % (2000 + h % 8000)
        name = PEER_NAMES[(h >> 16) % len(PEER_NAMES)] if (h >> 8) % 3 else None
        location = LOCATIONS[(h >> 24) % len(LOCATIONS)] if (h >> 32) % 2 else None
        return phone, None, name, location, None

    def n_peers(self, ext):
        return N_PHONE_PEERS + N_PAGER_PEERS + len(ext.extra_peers)

    def peer_for(self, ext, phone=None, number=None):
        """The peer index of a phone number (or, without one, an extension
        number) for ext: a generated peer when one has it, else a new peer."""
        with self.lock:
            for p in range(self.n_peers(ext)):
                info = self.peer_info(ext, p)
                if (phone is not None and info[0] == phone) or \
                        (phone is None and number is not None and info[1] == number):
                    return p
            if self.n_peers(ext) >= 65535:
                raise ValueError("too many peers")
            other = self.by_number.get(number) if number is not None else None
            ext.extra_peers.append((phone, number, other.name if other else None, None,
                                    other.id if other else None))
            return self.n_peers(ext) - 1

    def conversation_id(self, ext, p):
        if p >= N_PHONE_PEERS + N_PAGER_PEERS:
            phone, number = self.peer_info(ext, p)[:2]
            h = _h64(self.seed, "xconv", ext.index, phone or number)
            return 10 ** 12 + h % (TWO53 - 10 ** 13)
        cache = self._conv_cache.get(ext.index)
        if cache is None:
            cache = [self._conversation_id(ext, k) for k in range(N_PHONE_PEERS + N_PAGER_PEERS)]
            self._conv_cache[ext.index] = cache
        return cache[p]

    def _conversation_id(self, ext, p):
        if p == 0:
            return TWO53 + 1 + 2 * ext.index        # above 2**53, not a double
        if p == 1:
            return TWO53 - 2 * ext.index            # at (or just below) 2**53
        h = _h64(self.seed, "conv", ext.index, p)
        if p % 2:
            return TWO53 + 1 + (h % (2 ** 62)) | 1
        return 10 ** 12 + h % (TWO53 - 10 ** 13)

    # --------------------------------------------------------------- details
    def _details(self, ext, i):
        """Derived, immutable facts of message i (cached, small LRU)."""
        key = (ext.index, i)
        cache = self._detail_cache
        d = cache.get(key)
        if d is not None:
            cache.move_to_end(key)
            return d
        d = self._make_details(ext, i)
        cache[key] = d
        if len(cache) > 4096:
            cache.popitem(last=False)
        return d

    def _make_details(self, ext, i):
        rng = _Draw(self.seed, "msg", ext.index, i)
        kind = ext.kind[i]
        p = ext.peer[i]
        added = ext.added.get(i, {})
        typ = TYPES[KIND_TYPE[kind]]
        direction = DIRECTIONS[KIND_DIR[kind]]
        mid = self.msg_id(ext.index, i)
        phone, number, name, location, peer_ext_id = self.peer_info(ext, p)
        d = {"kind": kind, "type": typ, "direction": direction, "id": mid,
             "lastmod_delta": 50 + rng.randrange(4000)}
        # parties
        me_phone = {"phoneNumber": ext.phone, "name": ext.name}
        if typ == "Pager":
            other = {"extensionNumber": number}
            if peer_ext_id:
                other["extensionId"] = str(peer_ext_id)
            me = {"extensionNumber": ext.number, "extensionId": str(ext.id)}
            if direction == "Inbound":
                frm = dict(other, name=name) if name else other
                to = [me]
            else:
                frm = dict(me, name=ext.name)
                to = [other]
        else:
            other = {"phoneNumber": phone}
            if name and typ != "Text":
                other["name"] = name
            if location:
                other["location"] = location
            if direction == "Inbound":
                frm = other
                to = [{"name": ext.name}] if typ == "VoiceMail" else [dict(me_phone)]
            else:
                frm = None if typ == "Fax" else {"phoneNumber": ext.phone}
                to = [dict(other)]
                if kind == K_MMS_OUT and rng.random() < 0.4:
                    to.append({"phoneNumber": "+1650555%04d" % (2000 + rng.randrange(8000))})
        if "from" in added:
            frm = added["from"]
        d["from"] = frm
        d["to"] = to
        d["peer_label"] = phone or number or name
        # type specifics
        subject = None
        n = rng.randrange(100, 99999)
        if typ == "Fax":
            d["pages"] = 1 + rng.randrange(4)
            d["resolution"] = "High" if rng.random() < 0.7 else "Low"
            words = rng.sample(WORDS, 3 + rng.randrange(3))
            d["words"] = words
            d["unique_word"] = "ref%d" % mid
            if direction == "Inbound":
                subject = phone
                d["status"] = "Received"
            else:
                d["status"] = "Sent" if rng.random() < 0.9 else "DeliveryFailed"
                d["cover"] = rng.choice((0, 0, 1, 22, 7))
                if d["status"] == "DeliveryFailed":
                    d["to"][0]["messageStatus"] = "DeliveryFailed"
                    d["to"][0]["faxErrorCode"] = rng.choice(("LineBusy", "NoAnswer", "NoFaxMachine"))
                else:
                    d["to"][0]["messageStatus"] = "Sent"
            d["tiff"] = kind == K_FAX_IN_TIFF
            d["sources"] = 2 if kind == K_FAX_OUT_SRC2 else (
                1 if kind == K_FAX_OUT and rng.random() < 0.5 else 0)
        elif typ == "VoiceMail":
            d["duration"] = 3 + rng.randrange(38)
            d["mp3"] = kind == K_VM_MP3
            d["transcription"] = "Completed" if kind == K_VM_WAV_TRANS else rng.choice(TRANSCRIPTION)
            d["freq"] = rng.choice((330, 400, 440, 500, 620))
            d["status"] = "Received"
            if rng.random() < 0.1:
                subject = "Welcome to RingCentral!"
        else:
            if typ == "Pager":
                text = rng.choice(PAGER_TEXTS)
            elif kind in MMS_KINDS:
                text = rng.choice(("Look at these 📷", "See attached", "", "photos from today"))
            else:
                text = rng.choice(SMS_TEXTS)
            subject = text.replace("{n}", str(n))
            if direction == "Inbound":
                d["status"] = "Received"
            elif typ == "SMS":
                d["status"] = rng.choice(MESSAGE_STATUS_OUT_SMS)
            else:
                d["status"] = "Sent"
            if kind in MMS_KINDS:
                if kind == K_MMS_HOSTILE_A:
                    names = HOSTILE_A
                elif kind == K_MMS_HOSTILE_B:
                    names = HOSTILE_B
                else:
                    choices = (("IMG_%04d.jpg" % (n % 10000), "image/jpeg"),
                               ("photo.png", "image/png"), ("image.gif", "image/gif"),
                               ("Screenshot 2024-01-0%d.png" % (1 + n % 9), "image/png"))
                    names = tuple(rng.choice(choices) for _ in range(1 + rng.randrange(2)))
                images = []
                for fname, ctype in names:
                    w = rng.choice((64, 96, 120, 160))
                    h = rng.choice((48, 72, 90, 120))
                    images.append((fname, ctype, w, h, rng.randrange(256)))
                d["images"] = images
        if "subject" in added and added["subject"] is not None:
            subject = added["subject"]
        sent = added.get("sent")
        if sent is not None:  # made by a send endpoint: its spec decides
            d["sent"] = sent
            d["from"] = dict(sent["from"]) if sent.get("from") is not None else None
            d["to"] = [dict(t) for t in sent["to"]]
            d["status"] = sent["status"]
            subject = sent.get("text")
            if typ == "Fax":
                d["pages"] = sent["page_count"]
                d["resolution"] = sent["resolution"]
                d["cover"] = sent["cover"]
                d["tiff"] = False
                d["sources"] = 0
        d["subject"] = subject
        d["content_query"] = added.get("content_query")
        return d

    def _attachments(self, ext, i, d):
        """[(att_id, type, contentType, extra fields, generator key)]."""
        mid = d["id"]
        media = "%s/restapi/v1.0/account/%s/extension/%s/message-store/%d/content/" % (
            self.media_url, self.account_id, ext.id, mid)
        out = []

        query = "?" + d["content_query"] if d.get("content_query") else ""

        def add(att_id, typ, ctype, **extra):
            rec = {"id": att_id, "uri": media + str(att_id) + query, "type": typ,
                   "contentType": ctype}
            rec.update(extra)
            out.append(rec)

        typ = d["type"]
        if typ == "Fax":
            add(mid, "RenderedDocument", "image/tiff" if d["tiff"] else "application/pdf")
            for k in range(d["sources"]):
                if k == 0:
                    add(mid + 1, "SourceDocument", "application/pdf", fileName="quote-%d.pdf" % mid)
                else:
                    add(mid + 1 + k, "SourceDocument", "text/plain", fileName="cover notes.txt")
        elif typ == "VoiceMail":
            add(mid, "AudioRecording", "audio/mpeg" if d["mp3"] else "audio/x-wav",
                vmDuration=d["duration"])
            if d["transcription"] in ("Completed", "CompletedPartially"):
                add(mid + 1, "AudioTranscription", "text/plain")
        else:
            text = (d["subject"] or "").encode("utf-8")
            add(mid, "Text", "text/plain", size=len(text))
            for k, (fname, ctype, w, h, hue) in enumerate(d.get("images", ())):
                att_id = mid + 1 + k
                key = (ext.index, i, att_id)
                size = self._size_cache.get(key)
                if size is None:
                    size = self._size_cache[key] = len(self._content_bytes(ext, i, d, att_id))
                add(att_id, "MmsAttachment", ctype, size=size, fileName=fname, width=w, height=h)
        return out

    # --------------------------------------------------------------- records
    def lastmod(self, ext, i, d=None):
        lm = ext.lastmod.get(i)
        if lm is not None:
            return lm
        if d is None:
            d = self._details(ext, i)
        return ext.ctime[i] + d["lastmod_delta"]

    def record(self, ext, i):
        """The message record exactly as the API returns it."""
        with self.lock:
            d = self._details(ext, i)
            mid = d["id"]
            av = ext.avail[i]
            kind = d["kind"]
            typ = d["type"]
            rec = {"uri": "%s/restapi/v1.0/account/%s/extension/%s/message-store/%d" % (
                self.server_url, self.account_id, ext.id, mid), "id": mid}
            rec["to"] = [dict(t) for t in d["to"]]
            if d["from"] is not None:
                rec["from"] = dict(d["from"])
            rec["type"] = typ
            rec["creationTime"] = iso_ms(ext.ctime[i])
            rec["readStatus"] = READ_STATUSES[ext.read[i]]
            rec["priority"] = "Normal"
            if av != PURGED:
                rec["attachments"] = self._attachments(ext, i, d)
            rec["direction"] = d["direction"]
            rec["availability"] = AVAILABILITIES[av]
            if d["subject"] is not None:
                rec["subject"] = d["subject"]
            rec["messageStatus"] = d["status"]
            if typ == "SMS" and d["direction"] == "Outbound":
                rec["smsSendingAttemptsCount"] = 1
            if kind in CONVERSATION_KINDS:
                cid = self.conversation_id(ext, ext.peer[i])
                rec["conversationId"] = cid
                rec["conversation"] = {"id": str(cid),
                                       "uri": "%s/restapi/v1.0/conversation/%d" % (self.server_url, cid)}
            rec["lastModifiedTime"] = iso_ms(self.lastmod(ext, i, d))
            if typ == "Fax":
                rec["faxResolution"] = d["resolution"]
                rec["faxPageCount"] = d["pages"]
                if d["direction"] == "Outbound":
                    rec["coverIndex"] = d["cover"]
                    if d.get("sent") and d["sent"].get("cover_text") is not None:
                        rec["coverPageText"] = d["sent"]["cover_text"]
            elif typ == "VoiceMail":
                rec["vmTranscriptionStatus"] = d["transcription"]
            elif typ == "Pager":
                rec["pgToDepartment"] = False
            if d.get("sent") and d["sent"].get("delivery_error"):
                rec["deliveryErrorCode"] = d["sent"]["delivery_error"]
            return rec

    def tombstone(self, ext, i):
        return {"id": self.msg_id(ext.index, i), "availability": AVAILABILITIES[ext.avail[i]]}

    def truth(self, ext, i):
        """Control-API view: server truth plus what tests need to check content."""
        with self.lock:
            d = self._details(ext, i)
            out = {"extension_id": str(ext.id), "availability": AVAILABILITIES[ext.avail[i]],
                   "record": self.record(ext, i)}
            if d["type"] == "Fax" and not d.get("sent"):
                out["content_words"] = list(d["words"]) + [d["unique_word"]]
                out["unique_word"] = d["unique_word"]
            roles = [r for r, idx in ext.specials.items() if idx == i]
            if roles:
                out["roles"] = roles
            return out

    # --------------------------------------------------------------- content
    def attachment(self, ext, i, att_id):
        """(bytes, contentType) of an attachment whatever the availability, or None."""
        with self.lock:
            d = self._details(ext, i)
            for att in self._attachments(ext, i, d):
                if att["id"] == att_id:
                    return self._content_bytes(ext, i, d, att_id), att["contentType"]
            return None

    def replace_content(self, ext, i, att_id, data):
        """Serve data as the attachment's bytes from now on (the record, with
        no size for faxes, is unchanged).  False when there is no such one."""
        with self.lock:
            d = self._details(ext, i)
            if not any(att["id"] == att_id for att in self._attachments(ext, i, d)):
                return False
            self._replaced[(ext.index, i, att_id)] = bytes(data)
            return True

    def _content_bytes(self, ext, i, d, att_id):
        key = (ext.index, i, att_id)
        if key in self._replaced:
            return self._replaced[key]
        cache = self._content_cache
        data = cache.get(key)
        if data is not None:
            cache.move_to_end(key)
            return data
        data = self._render(ext, i, d, att_id)
        cache[key] = data
        while len(cache) > 64:
            cache.popitem(last=False)
        return data

    def _render(self, ext, i, d, att_id):
        mid = d["id"]
        typ = d["type"]
        if typ == "Fax" and d.get("sent"):
            return d["sent"]["rendered"]
        k = att_id - mid
        created = iso_ms(ext.ctime[i])
        if typ == "Fax":
            if k == 2:
                return ("Cover notes for fax %d\nPlease find the %s attached.\n"
                        % (mid, " and ".join(d["words"][:2]))).encode()
            pages = self._fax_pages(ext, d, k, created)
            if k == 0 and d["direction"] == "Inbound":
                return self._image_fax(d, pages, created)
            return emu_content.make_pdf(pages, title="Fax %d" % mid)
        if typ == "VoiceMail":
            if k == 0:
                if d["mp3"]:
                    return emu_content.make_mp3(d["duration"], title="Voicemail %d" % mid)
                return emu_content.make_wav(d["duration"], d["freq"], "rcemu voicemail %d" % mid)
            caller = (d["from"] or {}).get("name") or "a caller"
            text = ("Hi, this is %s calling about the %s. Please call me back at %s. "
                    "Thanks, bye." % (caller, WORDS[mid % len(WORDS)],
                                      (d["from"] or {}).get("phoneNumber", "my usual number")))
            if d["transcription"] == "CompletedPartially":
                text = text[:len(text) // 2] + "..."
            return text.encode("utf-8")
        if k == 0:
            return (d["subject"] or "").encode("utf-8")
        fname, ctype, w, h, hue = d["images"][k - 1]
        comment = "rcemu %d/%d" % (mid, att_id)
        if ctype == "image/png":
            return emu_content.make_png(w, h, hue, comment)
        if ctype == "image/gif":
            return emu_content.make_gif(w, h, hue, comment)
        return emu_content.make_jpeg(w, h, hue, comment)

    @staticmethod
    def _fax_pages(ext, d, k, created):
        """The text lines of each page of a fax's document k (0: rendered)."""
        pages = []
        for p in range(d["pages"]):
            if p == 0:
                lines = ["FAX" if k == 0 else "SOURCE DOCUMENT",
                         "From: %s" % (d["from"] or {}).get("phoneNumber", ext.phone),
                         "To: %s" % d["to"][0].get("phoneNumber", ext.phone),
                         "Date: %s" % created,
                         "Pages: %d" % d["pages"],
                         "Regarding: %s" % " ".join(d["words"]),
                         "Reference: %s" % d["unique_word"]]
            else:
                lines = ["Page %d of %d" % (p + 1, d["pages"]),
                         "This page continues the %s for reference %s." % (
                             d["words"][p % len(d["words"])], d["unique_word"])]
            pages.append(lines)
        return pages

    def _image_fax(self, d, pages, created):
        """An inbound fax as received: G4 TIFF or image-only PDF pages, each
        under the line the sending machine stamps at the top."""
        mid = d["id"]
        high = d["resolution"] == "High"
        sender = (d["from"] or {}).get("phoneNumber", "")
        drawn = []
        for p, lines in enumerate(pages):
            stamp = "%s %s  From: %s  P.%d/%d" % (created[:10], created[11:16], sender,
                                                 p + 1, len(pages))
            drawn.append(emu_faxpage.draw_page([stamp] + lines,
                                               "%d:%d:%d" % (self.seed, mid, p), high))
        yres = 196 if high else 98
        if d["tiff"]:
            return emu_content.make_g4_tiff(drawn, emu_faxpage.WIDTH, 204, yres)
        return emu_content.make_image_pdf(drawn, emu_faxpage.WIDTH, 204, yres,
                                          title="Fax %d" % mid)

    # --------------------------------------------------------------- queries
    def select(self, ext, date_from=None, date_to=None, types=None, avail=None,
               read=None, direction=None, conversation_id=None, phone=None,
               distinct=False):
        """Indices of matching messages, newest first.  Dates in ms,
        dateFrom inclusive, dateTo exclusive; sets of names (None = any)."""
        with self.lock:
            ct = ext.ctime
            lo = 0 if date_from is None else bisect.bisect_left(ct, date_from)
            hi = len(ct) if date_to is None else bisect.bisect_left(ct, date_to)
            kok = bytearray(256)
            for k in range(N_KINDS):
                if (types is None or TYPES[KIND_TYPE[k]] in types) and \
                        (direction is None or DIRECTIONS[KIND_DIR[k]] in direction):
                    kok[k] = 1
            aok = bytearray(256)
            for a, name in enumerate(AVAILABILITIES):
                aok[a] = 1 if (avail is None or name in avail) else 0
            rok = bytearray(256)
            for r, name in enumerate(READ_STATUSES):
                rok[r] = 1 if (read is None or name in read) else 0
            K, A, R = ext.kind, ext.avail, ext.read
            if read is None:
                res = [i for i in range(hi - 1, lo - 1, -1) if kok[K[i]] and aok[A[i]]]
            else:
                res = [i for i in range(hi - 1, lo - 1, -1) if kok[K[i]] and aok[A[i]] and rok[R[i]]]
            if conversation_id is not None:
                peers = {p for p in range(self.n_peers(ext))
                         if self.conversation_id(ext, p) == conversation_id}
                P = ext.peer
                res = [i for i in res if K[i] in CONVERSATION_KINDS and P[i] in peers]
            if phone is not None:
                want = "".join(ch for ch in phone if ch.isdigit())
                peers = set()
                for p in list(range(N_PHONE_PEERS)) + list(range(
                        N_PHONE_PEERS + N_PAGER_PEERS, self.n_peers(ext))):
                    ph = self.peer_info(ext, p)[0]
                    if ph and "".join(ch for ch in ph if ch.isdigit()) == want:
                        peers.add(p)
                P = ext.peer
                res = [i for i in res if P[i] in peers]
            if distinct:
                seen = set()
                out = []
                P = ext.peer
                for i in res:
                    if K[i] in CONVERSATION_KINDS:
                        c = self.conversation_id(ext, P[i])
                        if c in seen:
                            continue
                        seen.add(c)
                    out.append(i)
                res = out
            return res

    def changed_since(self, ext, since_ms):
        """Indices whose lastModifiedTime >= since_ms, any availability."""
        with self.lock:
            res = {i for i, lm in ext.lastmod.items() if lm >= since_ms}
            if since_ms < self.start_ms:
                lo = bisect.bisect_left(ext.ctime, since_ms - 10_000)
                for i in range(lo, ext.n_generated):
                    if i not in ext.lastmod and self.lastmod(ext, i) >= since_ms:
                        res.add(i)
            return sorted(res, reverse=True)

    def in_frame(self, ext, i, date_from, date_to, types, direction, conversation_id):
        k = ext.kind[i]
        t = ext.ctime[i]
        if date_from is not None and t < date_from:
            return False
        if date_to is not None and t >= date_to:
            return False
        if types is not None and TYPES[KIND_TYPE[k]] not in types:
            return False
        if direction is not None and DIRECTIONS[KIND_DIR[k]] not in direction:
            return False
        if conversation_id is not None:
            if k not in CONVERSATION_KINDS or self.conversation_id(ext, ext.peer[i]) != conversation_id:
                return False
        return True

    def all_messages(self, ext):
        with self.lock:
            return [{"id": str(self.msg_id(ext.index, i)), "type": TYPES[KIND_TYPE[ext.kind[i]]],
                     "availability": AVAILABILITIES[ext.avail[i]],
                     "readStatus": READ_STATUSES[ext.read[i]]}
                    for i in range(len(ext.kind))]

    # ------------------------------------------------------------- mutations
    def set_read(self, ext, i, status):
        with self.lock:
            v = READ if status == "Read" else UNREAD
            if ext.read[i] != v:
                ext.read[i] = v
                ext.lastmod[i] = self.tick()
                self.touched(ext, i)

    def set_availability(self, ext, i, name):
        with self.lock:
            v = AVAILABILITIES.index(name)
            if ext.avail[i] != v:
                ext.avail[i] = v
                ext.lastmod[i] = self.tick()
                self.touched(ext, i)

    def add_message(self, ext, typ, direction="Inbound", read_status="Unread",
                    frm=None, subject=None):
        """Append a message created now; returns its index."""
        kinds = {("Fax", "Inbound"): K_FAX_IN, ("Fax", "Outbound"): K_FAX_OUT,
                 ("VoiceMail", "Inbound"): K_VM_WAV, ("SMS", "Inbound"): K_SMS_IN,
                 ("SMS", "Outbound"): K_SMS_OUT, ("Pager", "Inbound"): K_PAGER_IN,
                 ("Pager", "Outbound"): K_PAGER_OUT, ("Text", "Inbound"): K_TEXT_IN,
                 ("Text", "Outbound"): K_TEXT_OUT}
        kind = kinds.get((typ, direction))
        if kind is None:
            raise ValueError("no %s %s messages" % (direction, typ))
        with self.lock:
            i = len(ext.kind)
            pager = KIND_TYPE[kind] == 3
            peer = N_PHONE_PEERS + (i % N_PAGER_PEERS) if pager else 2 + i % 30
            if isinstance(frm, dict) and frm.get("phoneNumber"):
                if pager:
                    for p in range(N_PHONE_PEERS):
                        if self.peer_info(ext, p)[0] == frm["phoneNumber"]:
                            peer = p
                            break
                else:
                    # The conversation is the other party's number, as on the
                    # real server: a number no message had yet starts one.
                    peer = self.peer_for(ext, phone=frm["phoneNumber"])
            fields = {}
            if frm is not None:
                fields["from"] = frm
            if subject is not None:
                fields["subject"] = subject
            return self._append(ext, kind, peer, read_status, fields)

    def add_sent(self, ext, typ, direction, peer, read_status, spec):
        """Append a message made by a send endpoint (see emu_send); spec is
        kept by reference and read whenever the record is built."""
        kinds = {("Fax", "Outbound"): K_FAX_OUT, ("SMS", "Outbound"): K_SMS_OUT,
                 ("Pager", "Outbound"): K_PAGER_OUT, ("Pager", "Inbound"): K_PAGER_IN}
        with self.lock:
            return self._append(ext, kinds[(typ, direction)], peer, read_status, {"sent": spec})

    def _append(self, ext, kind, peer, read_status, fields):
        with self.lock:
            i = len(ext.kind)
            if i >= EXT_STRIDE:
                raise ValueError("extension is full")
            lm = self.tick()
            ct = lm // 1000 * 1000
            if len(ext.ctime) and ext.ctime[-1] > ct:
                ct = ext.ctime[-1]
            ext.ctime.append(ct)
            ext.kind.append(kind)
            ext.peer.append(peer)
            ext.read.append(READ if read_status == "Read" else UNREAD)
            ext.avail.append(ALIVE)
            ext.added[i] = fields
            ext.lastmod[i] = lm
            self.touched(ext, i, new=True)
            return i

    def set_sent_status(self, ext, i, status, to=None, page_count=None, delivery_error=None):
        """A sent message's status moves on (Queued -> Sent / SendingFailed):
        its spec changes and lastModifiedTime moves, so ISync reports it."""
        with self.lock:
            spec = ext.added[i]["sent"]
            spec["status"] = status
            if to is not None:
                spec["to"] = to
            if page_count is not None:
                spec["page_count"] = page_count
            if delivery_error is not None:
                spec["delivery_error"] = delivery_error
            self._detail_cache.pop((ext.index, i), None)
            ext.lastmod[i] = self.tick()
            self.touched(ext, i)

    def set_content_query(self, ext, i, query):
        """From now on message i's attachment URIs end in "?" + query (None:
        nothing), as the content endpoint accepts; lastModifiedTime moves."""
        with self.lock:
            ext.added.setdefault(i, {})["content_query"] = query
            self._detail_cache.pop((ext.index, i), None)
            ext.lastmod[i] = self.tick()
            self.touched(ext, i)

    def touched(self, ext, i, new=False):
        """Tell the listeners (push notifications) that message i was added or changed."""
        with self.lock:
            for f in self.listeners:
                f(ext, i, new)
