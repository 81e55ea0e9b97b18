"""Sending: email through SMTP (smtplib) and JSON to chat webhooks (urllib), each with a timeout.

Failures become `SendFailure` with a reason fit to store and show: it never carries a password
or a webhook URL (the URL of an incoming webhook is itself the secret).
"""

from __future__ import annotations

import email.policy
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from lineofsight.domain.notifications import Smtp, SmtpSecurity
from lineofsight.domain.secrets import SecretUnavailable, read_secret

TIMEOUT = 30.0  # seconds an SMTP server or a webhook may take to answer
# Headers are folded only past RFC 5322's hard limit: folded at 78, the long List-Unsubscribe
# URL (no spaces to fold at) became encoded words, which mail clients do not read as a link.
MESSAGE_POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    """A file an email carries (a briefing book's PDF)."""

    filename: str
    content_type: str
    data: bytes


class SendFailure(Exception):
    """A send did not go through; `str()` is the reason, safe to store and show."""


def resolve_secret(reference: str, what: str) -> str:
    """The value of an `env:NAME` reference, read now from the environment."""
    try:
        return read_secret(reference, os.environ)
    except SecretUnavailable as unavailable:
        if unavailable.name is None:
            raise SendFailure(f"{what} is not an env:NAME reference") from None
        raise SendFailure(f"{what}: {unavailable}") from None


def build_email(
    smtp: Smtp,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str,
    key: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A multipart/alternative message (plain text, then HTML) with List-Unsubscribe; with
    attachments, those after it in a multipart/mixed one."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = smtp.from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = smtp.from_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # The outbox key: a receiving system can tell a resend (an admin's decision) by it.
    message["X-LineOfSight-Key"] = key
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def send_email(smtp: Smtp, message: EmailMessage, *, timeout: float = TIMEOUT) -> None:
    """Hand one message to the SMTP server (TLS or STARTTLS and login as the settings say)."""
    password = None
    if smtp.password is not None:
        password = resolve_secret(smtp.password, "smtp.password")
    where = f"SMTP server {smtp.host}:{smtp.port}"
    try:
        client: smtplib.SMTP
        if smtp.security is SmtpSecurity.TLS:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security is SmtpSecurity.STARTTLS:
                client.starttls(context=ssl.create_default_context())
            if smtp.username is not None and password is not None:
                client.login(smtp.username, password)
            refused = client.send_message(message)
            if refused:
                raise SendFailure(f"{where} refused {', '.join(sorted(refused))}")
    except SendFailure:
        raise
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        raise SendFailure(f"{where} answered {exc.smtp_code} {_scrub(reply, password)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailure(f"{where} refused {', '.join(sorted(exc.recipients))}") from None
    except TimeoutError:
        raise SendFailure(f"{where} did not answer within {timeout:g} s") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailure(f"{where}: {_scrub(_describe(exc), password)}") from None


def post_webhook(
    hook_id: str, url_reference: str, body: dict[str, Any], *, timeout: float = TIMEOUT
) -> None:
    """POST the JSON body to the webhook whose URL the environment holds."""
    url = resolve_secret(url_reference, f"webhook {hook_id}: url")
    if not url.startswith(("https://", "http://")):
        raise SendFailure(
            f"webhook {hook_id}: the URL in {url_reference} is not an http or https URL"
        )
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendFailure(f"webhook {hook_id} answered HTTP {exc.code}") from None
    except TimeoutError:
        raise SendFailure(f"webhook {hook_id} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = _scrub(_describe(exc.reason), url)
        raise SendFailure(f"webhook {hook_id} unreachable: {reason}") from None
    except OSError as exc:
        raise SendFailure(f"webhook {hook_id}: {_scrub(_describe(exc), url)}") from None


def _describe(exc: object) -> str:
    if isinstance(exc, BaseException):
        text = str(exc) or type(exc).__name__
        return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
    return str(exc)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "[secret]") if secret else text
