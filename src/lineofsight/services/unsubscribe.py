"""Unsubscribe links: signed tokens that stop a person's emails without a login.

A token names the person and what they leave (all emails, or the digest) and is signed with
the app's secret key (LOS_SECRET_KEY, the one that signs the web app's sessions), so that
`los notify` and the web app agree on it. It does not expire: an unsubscribe link must keep
working as long as the emails that carry it may be read.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os

from lineofsight.domain.notifications import PersonPreferences
from lineofsight.errors import UsageError
from lineofsight.services.notify_settings import person_preferences, set_person_preferences
from lineofsight.store.database import Store

SECRET_ENV = "LOS_SECRET_KEY"
WHAT = ("email", "digest")
_SALT = b"lineofsight-unsubscribe:"


@dataclasses.dataclass(frozen=True)
class Unsubscribe:
    """What a valid token asks for."""

    person_id: str
    what: str  # "email": every email; "digest": the digest only


def secret_key(explicit: str | None = None) -> str:
    """The app's secret key; UsageError when none is configured (links could not be checked)."""
    key = explicit or os.environ.get(SECRET_ENV)
    if not key:
        raise UsageError(
            f"set {SECRET_ENV} (the web app's secret key) to send emails: their unsubscribe "
            "links are signed with it"
        )
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), _SALT + payload.encode(), hashlib.sha256).digest())


def make_token(key: str, person_id: str, what: str) -> str:
    payload = _b64(json.dumps({"p": person_id, "w": what}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(key, payload)}"


def read_token(key: str, token: str) -> Unsubscribe | None:
    """The request a token carries, or None when it is not one this key signed."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        return None
    if not hmac.compare_digest(signature, _signature(key, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("w") not in WHAT:
        return None
    if not isinstance(data.get("p"), str):
        return None
    return Unsubscribe(data["p"], data["w"])


def unsubscribe(store: Store, request: Unsubscribe) -> PersonPreferences:
    """Stop what the request names, for good (until the person turns it on again)."""
    prefs = person_preferences(store, request.person_id)
    if request.what == "digest":
        changed = dataclasses.replace(prefs, digest=False)
    else:
        changed = dataclasses.replace(prefs, email=False)
    return set_person_preferences(store, request.person_id, changed, changed_by="unsubscribe")
