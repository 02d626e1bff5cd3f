"""CSRF tokens for the inbox's form posts, bound to the signed-in browser session.

The session cookie is ``SameSite=Strict`` already; the token is the second lock, for browsers
or proxies that do not honour SameSite. It is an HMAC of the session token under a key only
the service holds, so it needs no server-side state and survives a restart.
"""

from __future__ import annotations

import hashlib
import hmac


class CsrfTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def for_session(self, session_token: str) -> str:
        return hmac.new(self._key, session_token.encode(), hashlib.sha256).hexdigest()

    def valid(self, session_token: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(
            self.for_session(session_token), presented or ""
        )
