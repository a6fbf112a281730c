"""The naming contract of docs/design.md ("Layout"), written independently of
the C code, so tests can say what every name must be for a server record."""

import datetime

EXT_FOR_TYPE = {
    "application/pdf": "pdf", "image/tiff": "tiff", "audio/mpeg": "mp3", "audio/mp3": "mp3",
    "audio/x-wav": "wav", "audio/wav": "wav", "text/plain": "txt", "image/jpeg": "jpg",
    "image/png": "png", "image/gif": "gif", "video/mp4": "mp4", "text/vcard": "vcf",
    "text/x-vcard": "vcf",
}
FOLDERS = ("Fax", "SMS", "VoiceMail", "Pager", "Text")


def ext_for(ctype):
    return EXT_FOR_TYPE.get((ctype or "").split(";")[0].strip().lower(), "bin")


def compact_time(iso):
    t = datetime.datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")
    return t.strftime("%Y-%m-%dT%H%M%SZ")


def _party(p):
    p = p or {}
    return p.get("phoneNumber") or p.get("extensionNumber") or p.get("name")


def peer_raw(rec):
    if rec.get("direction") == "Outbound":
        to = rec.get("to") or [{}]
        return _party(to[0])
    return _party(rec.get("from"))


def peer(raw):
    """Letters, digits, + . - kept; one '-' per other character; 64 bytes."""
    if not raw:
        return "unknown"
    out = []
    for ch in raw:
        if ch.isascii() and (ch.isalnum() or ch in "+.-"):
            out.append(ch)
        else:
            out.append("-")
    s = "".join(out)[:64]
    if not s.strip(".-"):
        return "unknown"
    if s.startswith("."):
        s = "-" + s[1:]
    return s


def message_folder(rec):
    return "%s_%s_%s" % (compact_time(rec["creationTime"]), peer(peer_raw(rec)), rec["id"])


def is_safe(name):
    if not name or name.startswith(".") or name == "meta.json":
        return False
    if len(name.encode("utf-8")) > 255:
        return False
    return all(ord(c) >= 0x20 and c not in "/\x7f" and not (0x80 <= ord(c) <= 0x9f)
               for c in name)


def _with_suffix(name, k):
    stem, dot, ext = name.rpartition(".")
    if dot and stem and len(ext) <= 15:
        return "%s-%d.%s" % (stem, k, ext)
    return "%s-%d" % (name, k)


def attachment_names(rec):
    names = []
    source_n = 0
    for a in rec.get("attachments") or []:
        t, ext = a.get("type"), ext_for(a.get("contentType"))
        if t == "Text":
            n = "message.txt"
        elif t == "AudioTranscription":
            n = "transcription.txt"
        elif t == "RenderedDocument":
            n = "fax." + ext
        elif t == "AudioRecording":
            n = "voicemail." + ext
        elif t == "SourceDocument":
            source_n += 1
            n = "source-%d.%s" % (source_n, ext)
        elif t == "MmsAttachment" and is_safe(a.get("fileName")):
            n = a["fileName"]
        else:
            n = "attachment-%s.%s" % (a["id"], ext)
        names.append(n)
    out = list(names)
    for i in range(len(out)):
        if out[i] in out[:i]:
            k = 2
            while _with_suffix(names[i], k) in out:
                k += 1
            out[i] = _with_suffix(names[i], k)
    return out
