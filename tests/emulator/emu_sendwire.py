"""Wire details of sending: the fax request's two multipart forms, the
documents it carries, the fax the server renders from them, and the shape
of the message API's refusals.

This module owns the parsing and checking of a POST .../fax body (README
"Sending"): multipart/form-data (the spec's fields as parts, or a JSON
envelope part as the official JavaScript SDK sends it) and multipart/mixed
(a JSON envelope first, then one part per document), Content-Transfer-Encoding
base64 and quoted-printable, document types and sizes, page counts, and the
rendered PDF.  It knows nothing of the mailbox.
"""

import binascii
import email.message
import email.parser
import email.policy
import json
import quopri
import re

import emu_content
from emu_http import ApiError, error_body

MB = 1024 * 1024
FAX_ATTACHMENT_MAX = 50 * MB  # per attachment and in total ("limited to 50Mb")
FAX_BODY_MAX = 55 * MB        # x-request-max-body-size: 55m
COVER_TEXT_MAX = 1024         # UTF-16 code units (coverPageText maxLength)
FAX_FIELDS = ("to", "faxResolution", "coverIndex", "coverPageText", "sendTime", "isoCode")
TEXT_LINES_PER_PAGE = 60

OOXML = "application/vnd.openxmlformats-officedocument."
# The document types a fax may carry, each with the start its bytes must have
# to render (None: anything); a document that does not render fails later
# (SendingFailed, faxErrorCode RenderingFailed), as the real renderer does.
_ZIP, _OLE = (b"PK\x03\x04",), (b"\xd0\xcf\x11\xe0",)
FAX_TYPES = {
    "application/pdf": None,  # "%PDF-" within the first 1024 bytes, checked below
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "text/plain": None,
    "application/rtf": (b"{\\rtf",), "text/rtf": (b"{\\rtf",),
    "application/msword": _OLE, OOXML + "wordprocessingml.document": _ZIP,
    "application/vnd.ms-excel": _OLE, OOXML + "spreadsheetml.sheet": _ZIP,
    "application/vnd.ms-powerpoint": _OLE, OOXML + "presentationml.presentation": _ZIP,
    "application/vnd.oasis.opendocument.text": _ZIP,
    "application/vnd.oasis.opendocument.spreadsheet": _ZIP,
    "image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
BY_EXTENSION = {
    "pdf": "application/pdf", "tif": "image/tiff", "tiff": "image/tiff", "txt": "text/plain",
    "rtf": "application/rtf", "doc": "application/msword",
    "docx": OOXML + "wordprocessingml.document", "xls": "application/vnd.ms-excel",
    "xlsx": OOXML + "spreadsheetml.sheet", "ppt": "application/vnd.ms-powerpoint",
    "pptx": OOXML + "presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
}


# ------------------------------------------------------------------ errors
def send_error(status, code, message, parameter=None):
    """A message-API refusal as the real server shapes it: the specific code
    in errors[0]; at the top a category for 400 (InvalidParameter) and for
    403 MSG-* (FeatureNotAvailable), otherwise the code again."""
    body = error_body(code, message, parameter)
    if status == 400:
        body["errorCode"] = "InvalidParameter"
    elif status == 403 and code.startswith("MSG-"):
        body["errorCode"] = "FeatureNotAvailable"
    return ApiError(status, code, message, parameter, body=body)


def mandatory(name):
    return send_error(400, "CMN-100", "Mandatory parameter [%s] not specified." % name, name)


def invalid(name):
    return send_error(400, "CMN-101", "Parameter [%s] value is invalid." % name, name)


def envelope_error():
    return send_error(400, "MSG-349", "Unable to parse fax envelope")


def utf16_units(text):
    """Length as the API counts it: UTF-16 code units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------- multipart
def header_message(raw):
    """Parsed MIME headers (an email.message.Message with no body)."""
    return email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        raw + b"\r\n\r\n", headersonly=True)


def split_multipart(body, boundary):
    """[(headers, start, end)]: each part's headers and its payload's span in
    body.  CRLF line ends, a closing delimiter required; MSG-349 otherwise."""
    delim = b"--" + boundary.encode("latin-1")
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(b"\r\n" + delim)
        if pos < 0:
            raise envelope_error()
        pos += 2
    parts = []
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise envelope_error()
        start = eol + 2
        nxt = body.find(b"\r\n" + delim, start)
        if nxt < 0:
            raise envelope_error()
        if body.startswith(b"\r\n", start):
            msg, payload = header_message(b""), start + 2
        else:
            hend = body.find(b"\r\n\r\n", start, nxt + 2)
            if hend < 0:
                raise envelope_error()
            msg, payload = header_message(body[start:hend]), hend + 4
        parts.append((msg, payload, max(payload, nxt)))
        pos = nxt + 2


def decoded(msg, data):
    cte = (msg.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte in ("", "binary", "8bit", "7bit"):
        return data
    if cte == "base64":
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            raise envelope_error()
    if cte == "quoted-printable":
        return quopri.decodestring(data)
    raise envelope_error()


class Doc:
    """One document of a fax request."""

    __slots__ = ("filename", "ctype", "data", "pages", "looks_valid")

    def __init__(self, filename, ctype, data):
        self.filename = filename
        self.ctype = ctype
        self.data = data
        self.pages = page_count(ctype, data)
        self.looks_valid = renders(ctype, data)


def attachment(msg, data):
    """A document part: Content-Disposition with a file name (MSG-350,
    MSG-351); its type from Content-Type, or from the file name when that is
    absent or application/octet-stream."""
    if msg.get("Content-Disposition") is None:
        raise send_error(400, "MSG-350", "No content disposition")
    filename = msg.get_filename()
    if filename is None:
        raise send_error(400, "MSG-351", "No file name in content disposition")
    ctype = msg.get_content_type() if msg.get("Content-Type") is not None else None
    if ctype in (None, "application/octet-stream"):
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        ctype = BY_EXTENSION.get(ext, ctype or "application/octet-stream")
    return Doc(filename, ctype, decoded(msg, data))


def json_part(data):
    try:
        env = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise envelope_error()
    if not isinstance(env, dict):
        raise envelope_error()
    return env


def parse_fax_request(req):
    """(envelope dict, [Doc], encoding) from a POST .../fax request."""
    header = req.headers.get("Content-Type") or ""
    ct = email.message.Message()
    ct["Content-Type"] = header
    ctype = ct.get_content_type() if header else ""
    if ctype == "application/json":
        raise ApiError(501, "CMN-202", "Operation is not supported: rcemu does not emulate "
                       "resending a fax (originalMessageId)")
    if ctype not in ("multipart/form-data", "multipart/mixed"):
        raise ApiError(415, "CMN-415", "Unsupported Media Type: a fax is multipart/form-data "
                       "or multipart/mixed")
    boundary = ct.get_param("boundary")
    if not boundary or not isinstance(boundary, str):
        raise envelope_error()
    body = req.body
    parts = split_multipart(body, boundary)
    env, docs, fields = None, [], {}
    for k, (msg, a, b) in enumerate(parts):
        data = body[a:b]
        is_json = msg.get("Content-Type") is not None and \
            msg.get_content_type() == "application/json"
        if ctype == "multipart/mixed":
            if k == 0:
                if not is_json:
                    raise envelope_error()
                env = json_part(decoded(msg, data))
            else:
                docs.append(attachment(msg, data))
            continue
        if msg.get_content_disposition() is None:
            raise send_error(400, "MSG-350", "No content disposition")
        name = msg.get_param("name", header="content-disposition")
        if is_json:
            if env is not None:
                raise envelope_error()
            env = json_part(decoded(msg, data))
        elif name in FAX_FIELDS:
            try:
                value = decoded(msg, data).decode("utf-8")
            except UnicodeDecodeError:
                raise envelope_error()
            if name == "to":  # a text field holds the number alone
                fields.setdefault("to", []).append({"phoneNumber": value.strip()})
            else:
                fields[name] = value if name == "coverPageText" else value.strip()
        else:
            docs.append(attachment(msg, data))
    if env is None and ctype == "multipart/mixed":
        raise envelope_error()
    merged = dict(env or {})
    merged.update(fields)
    return merged, docs, {"encoding": ctype, "envelope": "json" if env is not None else "fields"}


# ---------------------------------------------------------------- documents
def check_documents(docs):
    """Refuse what the server refuses: an empty document (MSG-347), a type it
    does not fax (415 MSG-348), over 50 MB alone (MSG-337) or together
    (MSG-338)."""
    total = 0
    for n, d in enumerate(docs, 1):
        if not d.data:
            raise send_error(400, "MSG-347", "Attachment body is empty")
        if d.ctype not in FAX_TYPES:
            raise send_error(415, "MSG-348", "Unsupported attachment media type, attachment "
                             "[%d]: [%s]" % (n, d.filename))
        if len(d.data) > FAX_ATTACHMENT_MAX:
            raise send_error(400, "MSG-337", "Attachment size limit exceeded")
        total += len(d.data)
    if total > FAX_ATTACHMENT_MAX:
        raise send_error(400, "MSG-338", "Message size limit exceeded")


def renders(ctype, data):
    if ctype == "application/pdf":
        return b"%PDF-" in data[:1024]
    starts = FAX_TYPES.get(ctype)
    return starts is None or any(data.startswith(s) for s in starts)


def _tiff_pages(data):
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None or len(data) < 8:
        return 1
    off, n = int.from_bytes(data[4:8], order), 0
    while 8 <= off <= len(data) - 2 and n < 10000:
        entries = int.from_bytes(data[off:off + 2], order)
        n += 1
        nxt = off + 2 + 12 * entries
        if nxt + 4 > len(data):
            break
        off = int.from_bytes(data[nxt:nxt + 4], order)
    return max(1, n)


def page_count(ctype, data):
    """Pages a document becomes: a PDF's page objects, a TIFF's images, a
    text's lines by 60; one for anything else."""
    if ctype == "application/pdf":
        return max(1, len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data)))
    if ctype == "image/tiff":
        return _tiff_pages(data)
    if ctype == "text/plain":
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        return max(1, -(-lines // TEXT_LINES_PER_PAGE))
    return 1


def render(docs, cover, cover_name, cover_text, to, ext):
    """The fax's RenderedDocument: the document itself when it is a single
    PDF without a cover page, else a PDF with one page per fax page (the
    cover page, then each document's pages naming it, text shown as text)."""
    if len(docs) == 1 and docs[0].ctype == "application/pdf" and not cover:
        return docs[0].data
    pages = []
    total = sum(d.pages for d in docs) + (1 if cover else 0)
    if cover:
        pages.append(["FAX", "Cover page: %s" % cover_name,
                      "To: %s" % ", ".join(t["phoneNumber"] for t in to),
                      "From: %s (%s)" % (ext.phone, ext.name), "Pages: %d" % total]
                     + (cover_text or "").splitlines())
    for k, d in enumerate(docs, 1):
        text = d.data.decode("utf-8", "replace").splitlines() if d.ctype == "text/plain" else []
        for p in range(d.pages):
            pages.append(["Document %d of %d: %s" % (k, len(docs), d.filename),
                          "%s, %d bytes, page %d of %d" % (d.ctype, len(d.data), p + 1, d.pages)]
                         + text[p * TEXT_LINES_PER_PAGE:(p + 1) * TEXT_LINES_PER_PAGE])
    return emu_content.make_pdf(pages, title="Fax")
