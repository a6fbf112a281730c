"""OAuth for rcemu: the app's credentials, the JWT, sessions and tokens.

This module owns every credential of a run: the random client id/secret and
JWT (written only to the ready file), and the access/refresh tokens it issues.

Rules (as the real server):
- JWT grant needs HTTP Basic client credentials and the exact JWT.
- A session has one live access token and one live refresh token.  A refresh
  token is single use; a successful refresh replaces both tokens of the
  session, and the previous access token stops working at once.
- Revoking any token of a session ends the whole session.
- Access tokens expire after the configured lifetime (POST /control/config
  changes it for tokens issued later); /control/tokens/expire expires every
  access token now (refresh tokens keep working).

OAuth errors use the token endpoint's shape:
``{"error": ..., "errors": [{"errorCode": ..., "message": ...}], "error_description": ...}``.
"""

import base64
import json
import secrets
import threading
import time


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class OAuthError(Exception):
    """A token-endpoint failure: HTTP status and the OAuth error body."""

    def __init__(self, status, error, code, message, parameter=None):
        super().__init__(message)
        self.status = status
        item = {"errorCode": code, "message": message}
        if parameter:
            item["parameters"] = [{"parameterName": parameter}]
        self.body = {"error": error, "errors": [item], "error_description": message}


class ApiAuthError(Exception):
    """A 401 from the API gateway for a bad Authorization header or token."""

    def __init__(self, code, message, legacy=None):
        super().__init__(message)
        self.code = code
        item = {"errorCode": code, "message": message}
        # The real gateway names token failures at the top level with a legacy
        # code (TokenInvalid, TokenExpired) and puts the OAU-nnn code in errors[].
        self.body = {"errorCode": legacy or code, "message": message, "errors": [item]}


class Session:
    __slots__ = ("id", "owner", "access", "refresh")

    def __init__(self, sid, owner):
        self.id = sid
        self.owner = owner
        self.access = None
        self.refresh = None


class Auth:
    """Credentials and token store.  Thread-safe."""

    SCOPE = "ReadAccounts ReadMessages EditMessages"

    def __init__(self, owner_id, token_lifetime=3600, refresh_lifetime=604800):
        self.owner_id = str(owner_id)
        self.client_id = _b64url(secrets.token_bytes(16))
        self.client_secret = _b64url(secrets.token_bytes(24))
        header = _b64url(json.dumps({"kid": secrets.token_hex(8), "alg": "RS256"}).encode())
        payload = _b64url(json.dumps({"aud": "rcemu", "sub": self.owner_id,
                                      "iss": "rcemu", "exp": 3999999999,
                                      "iat": int(time.time()),
                                      "jti": secrets.token_urlsafe(12)}).encode())
        self.jwt = "%s.%s.%s" % (header, payload, _b64url(secrets.token_bytes(64)))
        self.token_lifetime = float(token_lifetime)
        self.refresh_lifetime = float(refresh_lifetime)
        self.lock = threading.Lock()
        self.access = {}     # token -> [session, expires_at]
        self.refresh = {}    # token -> [session, expires_at]
        self.used_refresh = {}  # token -> time used (for the "revoked" answer)
        self.issued = []        # every access and refresh token issued (control API)
        self.sessions = {}

    # ----------------------------------------------------------- token endpoint
    def check_client(self, authorization):
        """Validate HTTP Basic client credentials; returns the client id."""
        if not authorization or not authorization.lower().startswith("basic "):
            raise OAuthError(400, "invalid_client", "OAU-123", "Client authentication is required")
        try:
            raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            cid, _, secret = raw.partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(400, "invalid_client", "OAU-153", "Invalid client", "client_id")
        if not (secrets.compare_digest(cid, self.client_id)
                and secrets.compare_digest(secret, self.client_secret)):
            raise OAuthError(400, "invalid_client", "OAU-153", "Invalid client", "client_id")
        return cid

    def _issue(self, session, now):
        access = _b64url(secrets.token_bytes(32))
        refresh = _b64url(secrets.token_bytes(32))
        if session.access:
            self.access.pop(session.access, None)
        if session.refresh:
            self.refresh.pop(session.refresh, None)
        session.access = access
        session.refresh = refresh
        self.issued += [access, refresh]
        self.access[access] = [session, now + self.token_lifetime]
        self.refresh[refresh] = [session, now + self.refresh_lifetime]
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime),
            "refresh_token": refresh,
            "refresh_token_expires_in": int(self.refresh_lifetime),
            "scope": self.SCOPE,
            "owner_id": session.owner,
            "endpoint_id": _b64url(secrets.token_bytes(12)),
            "session_id": session.id,
        }

    def grant(self, form):
        """Handle a token request form (dict of lists) after check_client."""
        grant_type = (form.get("grant_type") or [""])[0]
        now = time.time()
        with self.lock:
            if grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                assertion = (form.get("assertion") or [""])[0]
                if not assertion:
                    raise OAuthError(400, "invalid_request", "OAU-101",
                                     "Parameter [assertion] is not specified", "assertion")
                if not secrets.compare_digest(assertion, self.jwt):
                    raise OAuthError(400, "invalid_grant", "OAU-140",
                                     "Invalid resource owner credentials")
                sid = str(secrets.randbelow(10 ** 12) + 10 ** 12)
                session = Session(sid, self.owner_id)
                self.sessions[sid] = session
                return self._issue(session, now)
            if grant_type == "refresh_token":
                token = (form.get("refresh_token") or [""])[0]
                if not token:
                    raise OAuthError(400, "invalid_request", "OAU-101",
                                     "Parameter [refresh_token] is not specified", "refresh_token")
                entry = self.refresh.get(token)
                if entry is None:
                    if token in self.used_refresh:
                        raise OAuthError(400, "invalid_grant", "OAU-211", "Token is revoked")
                    raise OAuthError(400, "invalid_grant", "OAU-213", "Token not found")
                session, expires = entry
                if now >= expires:
                    raise OAuthError(400, "invalid_grant", "OAU-210", "Token expired")
                self.used_refresh[token] = now
                return self._issue(session, now)
            if not grant_type:
                raise OAuthError(400, "invalid_request", "OAU-101",
                                 "Parameter [grant_type] is not specified", "grant_type")
            raise OAuthError(400, "unsupported_grant_type", "OAU-250",
                             "Unsupported grant type")

    def revoke(self, token):
        """End the session the token belongs to (unknown tokens are ignored)."""
        with self.lock:
            entry = self.access.get(token) or self.refresh.get(token)
            if entry is None:
                return False
            session = entry[0]
            self.access.pop(session.access, None)
            self.refresh.pop(session.refresh, None)
            if session.refresh:
                self.used_refresh[session.refresh] = time.time()
            self.sessions.pop(session.id, None)
            return True

    # ------------------------------------------------------------- API calls
    def authenticate(self, authorization, with_session=False):
        """Owner extension id of a request's bearer token (with_session: (owner,
        session id)), or ApiAuthError."""
        if authorization is None:
            raise ApiAuthError("AGW-401", "Authorization header is not specified")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer":
            raise ApiAuthError("OAU-151", "Authorization method not supported")
        if not token:
            raise ApiAuthError("AGW-402", "Invalid Authorization header")
        with self.lock:
            entry = self.access.get(token)
            if entry is None:
                raise ApiAuthError("OAU-149", "Invalid token", "TokenInvalid")
            session, expires = entry
            if time.time() >= expires:
                raise ApiAuthError("OAU-128", "Access token expired", "TokenExpired")
            return (session.owner, session.id) if with_session else session.owner

    def expire_all(self):
        with self.lock:
            now = time.time()
            for entry in self.access.values():
                entry[1] = min(entry[1], now)
