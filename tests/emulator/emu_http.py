"""HTTP plumbing shared by rcemu's listeners: requests, responses, socket faults.

This module owns the wire: it parses a request (path, repeated query
parameters, body by Content-Length or chunked), writes responses with a
correct Content-Length so HTTP/1.1 keep-alive works, and carries out the
socket-level faults (abortive reset with SO_LINGER 0, truncated bodies).
It also defines the API error body and ApiError, raised by handlers anywhere.

Nothing here knows about messages or tokens; the listeners subclass
BaseHandler and implement dispatch().
"""

import json
import re
import socket
import struct
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JSON_TYPE = "application/json;charset=UTF-8"
MAX_BODY = 32 * 1024 * 1024
_CODE_RE = re.compile(rb'"(?:errorCode|error)": ?"([A-Za-z0-9_.-]{1,40})"')
REASONS = {200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content",
           207: "Multi-Status", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
           415: "Unsupported Media Type", 416: "Requested Range Not Satisfiable",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def error_body(code, message, parameter=None):
    item = {"errorCode": code, "message": message}
    body = {"errorCode": code, "message": message, "errors": [item]}
    if parameter is not None:
        item["parameterName"] = parameter
        body["parameterName"] = parameter
    return body


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def json_response(status, obj, headers=None):
    return Response(status, dumps(obj), JSON_TYPE, headers)


class ApiError(Exception):
    """Raised by handlers: answered with the API's error body."""

    def __init__(self, status, code, message, parameter=None, headers=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else error_body(code, message, parameter)
        self.headers = headers or []

    def response(self):
        return json_response(self.status, self.body, self.headers)


def bad_param(name, message=None):
    return ApiError(400, "CMN-101", message or "Parameter [%s] value is invalid." % name, name)


class Request:
    __slots__ = ("method", "path", "segments", "query", "headers", "body", "raw_path")

    def __init__(self, method, raw_path, headers, body):
        self.method = method
        self.raw_path = raw_path
        split = urllib.parse.urlsplit(raw_path)
        self.path = split.path
        self.segments = [urllib.parse.unquote(s) for s in split.path.split("/") if s != ""]
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def one(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def many(self, name):
        return self.query.get(name, [])


class BodyError(Exception):
    pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, handler, app):
        self.app = app
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request, client_address):
        # A client that went away is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError)):
            return
        super().handle_error(request, client_address)


class BaseHandler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle
    # and delayed ACKs add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "rcemu/1.0"
    sys_version = ""
    timeout = 300
    listener = "?"

    # -- entry points -----------------------------------------------------
    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_OPTIONS(self):
        self._handle("OPTIONS")

    @property
    def app(self):
        return self.server.app

    def _handle(self, method):
        self._sent = False
        self._aborted = False
        self._status = None
        try:
            try:
                body = self._read_body()
            except BodyError as e:
                self.close_connection = True
                self.send(json_response(400, error_body("CMN-101", str(e))))
                return
            except ValueError:
                self.close_connection = True
                self.send(json_response(413, error_body("CMN-101", "Request body is too large")))
                return
            req = Request(method, self.path, self.headers, body)
            self.dispatch(req)
        except (ConnectionError, BrokenPipeError, socket.timeout):
            self.close_connection = True
        except Exception:  # never let a bad request kill the thread silently
            traceback.print_exc()
            if not self._sent and not self._aborted:
                try:
                    self.send(json_response(500, error_body("CMN-201", "Internal Server Error")))
                except OSError:
                    pass
            self.close_connection = True

    def dispatch(self, req):
        raise NotImplementedError

    def body_limit(self):
        """The largest request body this request may have (413 above it)."""
        return MAX_BODY

    # -- request body ------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BodyError("truncated chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError("bad chunk size")
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                if len(out) + size > self.body_limit():
                    raise ValueError("too large")
                out += self.rfile.read(size)
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError("bad Content-Length")
        if n < 0:
            raise BodyError("bad Content-Length")
        if n > self.body_limit():
            raise ValueError("too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("short body")
        return data

    # -- responses ---------------------------------------------------------
    def _write_head(self, resp, length):
        """Status line and headers; length None leaves Content-Length out."""
        self.send_response_only(resp.status, REASONS.get(resp.status))
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", self.server_version)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.status not in (204, 304) and resp.status >= 200 and length is not None:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def decorate(self, resp):
        """Hook: add listener-wide headers to a response about to be written."""

    def send(self, resp):
        """Write a complete response (no body for HEAD, 204 and 304)."""
        self.decorate(resp)
        self._status = resp.status
        self.on_answer(resp.status)
        self._write_head(resp, len(resp.body))
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.wfile.write(resp.body)
        self.wfile.flush()
        self._sent = True
        note = ""
        if resp.status >= 400:  # say why in the log: the error code, never the body
            m = _CODE_RE.search(resp.body[:300])
            note = m.group(1).decode("ascii", "replace") if m else ""
        self.log_line(resp.status, note)

    def send_truncated(self, resp):
        """Headers announcing the full body, half of it, then close."""
        self.close_connection = True
        self.decorate(resp)
        self._status = resp.status
        self.on_answer(resp.status)
        self._write_head(resp, len(resp.body))
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.wfile.write(resp.body[:len(resp.body) // 2])
        self.wfile.flush()
        self._sent = True
        self.log_line(resp.status, "truncated")
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_truncated_no_length(self, resp):
        """Headers with neither Content-Length nor Transfer-Encoding (so the
        body ends where the connection closes, as HTTP/1.1 allows), half of
        the body, then close: to the client it looks like a complete but
        shorter body, unless it insists on a framed one."""
        self.close_connection = True
        self.decorate(resp)
        self._status = resp.status
        self.on_answer(resp.status)
        self._write_head(resp, None)
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.wfile.write(resp.body[:len(resp.body) // 2])
        self.wfile.flush()
        self._sent = True
        self.log_line(resp.status, "truncated, no length")
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def abort(self):
        """Abortive close: the peer gets a TCP RST and no answer."""
        self._aborted = True
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.log_line(None, "reset")

    def on_answer(self, status):
        """Hook: a response with this status is being written."""

    # -- logging -----------------------------------------------------------
    def log_line(self, status, note=""):
        path = urllib.parse.urlsplit(self.path).path if self.path else "-"
        sys.stderr.write("%s %s %s %s %s %s\n" % (
            time.strftime("%H:%M:%S"), self.listener, self.command, path,
            status if status is not None else "-", note))

    def log_message(self, fmt, *args):  # base class chatter (bad request lines, ...)
        sys.stderr.write("%s %s %s\n" % (time.strftime("%H:%M:%S"), self.listener, fmt % args))

    def log_request(self, code="-", size="-"):
        pass  # we log in send()
