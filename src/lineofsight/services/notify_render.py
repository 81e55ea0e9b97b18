"""The words of a notification: subject, plain text and HTML of an email, and the JSON that
Slack and Microsoft Teams incoming webhooks accept.

Rendered from attention items (services/attention.py) only: what an email says about an item
is what the person's attention list says. The unsubscribe link is a placeholder here, signed
when the message is sent, so that the outbox never holds a working link.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lineofsight.display import score, with_measure
from lineofsight.domain.notifications import WebhookKind
from lineofsight.domain.text import plural
from lineofsight.services.attention import AttentionItem

UNSUBSCRIBE = "%%UNSUBSCRIBE_URL%%"
PREFIX = "[Line of Sight]"
KIND_WORDS = {
    "turned_red": "turned red",
    "overdue": "value overdue",
    "due_soon": "check-in due",
    "digest": "digest",
}


@dataclass(frozen=True)
class Email:
    """An email ready to send, but for the signed unsubscribe link."""

    subject: str
    text: str
    html: str

    def plain(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def app_url(base_url: str | None, path: str) -> str:
    """An absolute link into the web app (the path alone when no base URL is set)."""
    if not base_url:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _value(value: float | None, measure: str | None) -> str:
    """A value with its unit of measure as the command line and the pages write it
    (`display.with_measure`: 58 customers, 21%)."""
    if value is None:
        return "no value"
    return with_measure(value, measure)


def _status(status: Any) -> str:
    """A status as a person reads it: red, amber, green, no data, no target."""
    if status is None:
        return "no status"
    return str(getattr(status, "value", status)).replace("_", " ")


def item_line(item: AttentionItem) -> str:
    """One line about an item: name, value (score), status, period (a value not in yet: when
    due)."""
    if item.kind == "overdue" and item.due is not None:
        if len(item.missing) > 1:
            return f"{item.name}: {_values_of(item.missing)} were due since {item.due.isoformat()}"
        return f"{item.name}: the value for {item.period} was due on {item.due.isoformat()}"
    if item.kind == "due_soon" and item.due is not None:
        return f"{item.name}: the value for {item.period} is due on {item.due.isoformat()}"
    period = f" in {item.period}" if item.period else ""
    if item.kind == "finding":
        # A finding is about its subject's definition or data, not how it stands: its name
        # alone (a finding item carries no value nor score: never "no value (amber)").
        return item.name
    if item.item_type == "action":
        # An action has a title, an owner and a date, no value nor status.
        owner = f" of {item.owner_name or item.owner}" if item.owner else ""
        if item.kind == "action_new":
            due = f", due {item.due.isoformat()}" if item.due else ""
            return f"{item.name}: new action{owner}{due}"
        late = f", late since {item.due.isoformat()}" if item.due else ""
        return f"{item.name}: open action{owner}{late}"
    return f"{item.name}: {_standing(item)} ({_status(item.status)}){period}"


def _standing(item: AttentionItem) -> str:
    """A KPI's value; an objective's or unit's score (they roll up, they are not measured)."""
    if item.item_type in ("objective", "unit"):
        return "no score" if item.score is None else f"score {score(item.score)}"
    return _value(item.value, item.unit_of_measure)


def _values_of(periods: tuple[str, ...]) -> str:
    """Several missing values in a few words: two named, more counted from the first."""
    if len(periods) == 2:
        return f"the values for {periods[0]} and {periods[1]}"
    return f"{len(periods)} values since {periods[0]}"


def alert_subject(kind: str, item: AttentionItem, days: int | None = None) -> str:
    period = f" ({item.period})" if item.period else ""
    if kind == "turned_red":
        return f"{PREFIX} {item.name} turned red{period}"
    if kind == "overdue":
        if len(item.missing) > 1:
            return f"{PREFIX} {item.name}: {_values_of(item.missing)} are overdue"
        return f"{PREFIX} {item.name}: the value for {item.period} is overdue"
    if kind == "action_new":
        return f"{PREFIX} A new action is yours: {item.name}"
    when = "today" if days == 0 else ("tomorrow" if days == 1 else f"in {days} days")
    return f"{PREFIX} {item.name}: the value for {item.period} is due {when}"


@lru_cache(maxsize=16)
def _footer_text(base_url: str | None) -> str:
    return (
        "\n--\n"
        f"Your notification settings: {app_url(base_url, '/notifications/settings')}\n"
        f"Unsubscribe: {UNSUBSCRIBE}\n"
    )


@lru_cache(maxsize=16)
def _footer_html(base_url: str | None) -> str:
    settings = html.escape(app_url(base_url, "/notifications/settings"))
    return (
        '<hr><p style="color:#666;font-size:small">'
        f'<a href="{settings}">Your notification settings</a> · '
        f'<a href="{UNSUBSCRIBE}">Unsubscribe</a></p>'
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )


def alert_email(
    kind: str,
    item: AttentionItem,
    *,
    person_name: str,
    base_url: str | None,
    copy: bool,
    days: int | None = None,
) -> Email:
    """An email about one item: turned red, overdue, or a reminder before its value is due."""
    subject = alert_subject(kind, item, days)
    link = app_url(base_url, item.link)
    why = (
        "You receive this as the lead of the item's unit."
        if copy
        else "You receive this as the item's owner."
    )
    due = f"Due: {item.due.isoformat()}\n" if item.due else ""
    text = (
        f"Hello {person_name},\n\n{item.reason}\n\n{item_line(item)}\n{due}"
        f"Open it: {link}\n\n{why}\n" + _footer_text(base_url)
    )
    due_html = f"<p>Due: {item.due.isoformat()}</p>" if item.due else ""
    body = (
        f"<p>Hello {html.escape(person_name)},</p><p>{html.escape(item.reason)}</p>"
        f"<p><strong>{html.escape(item.name)}</strong>: "
        f"{html.escape(item_line(item).removeprefix(item.name + ': '))}</p>{due_html}"
        f'<p><a href="{html.escape(link)}">Open it in Line of Sight</a></p>'
        f"<p>{html.escape(why)}</p>" + _footer_html(base_url)
    )
    return Email(subject, text, _page(subject, body))


# The text and HTML of one item in a digest, by the item (and base URL): a unit lead's list
# holds their people's items, so the same item appears in many digests of one run.
Fragments = dict[tuple[int, str | None], tuple[AttentionItem, str, str]]


def _fragments(
    item: AttentionItem, base_url: str | None, cache: Fragments | None
) -> tuple[str, str]:
    key = (id(item), base_url)
    if cache is not None:
        found = cache.get(key)
        if found is not None and found[0] is item:
            return found[1], found[2]
    link = app_url(base_url, item.link)
    line = item_line(item)
    text = f"- {line}\n  {item.reason}\n  {link}"
    markup = (
        f'<li><a href="{html.escape(link)}"><strong>{html.escape(item.name)}</strong></a>'
        f"{html.escape(line.removeprefix(item.name))}"
        f"<br>{html.escape(item.reason)}</li>"
    )
    if cache is not None:
        cache[key] = (item, text, markup)  # the item is kept so that its id stays its own
    return text, markup


def digest_fragments(
    items: Iterable[AttentionItem], base_url: str | None, cache: Fragments
) -> None:
    """Each item's text and HTML in a digest, kept in `cache` for `digest_email`."""
    for item in items:
        _fragments(item, base_url, cache)


def digest_email(
    items: Sequence[AttentionItem],
    *,
    person_name: str,
    week: str,
    base_url: str | None,
    cache: Fragments | None = None,
) -> Email:
    """The weekly digest: the person's attention list, most important first. `cache` keeps
    each item's rendering for the next digest that lists it."""
    count = plural(len(items), "item needs", "items need")
    subject = f"{PREFIX} Your week {week}: {count} your attention"
    home = app_url(base_url, "/")
    lines = [f"Hello {person_name},", "", f"{count} your attention this week.", ""]
    rows = []
    for item in items:
        text_part, html_part = _fragments(item, base_url, cache)
        lines.append(text_part)
        rows.append(html_part)
    if not items:
        lines.append("Nothing needs you this week.")
    lines += ["", f"Your list in the app: {home}"]
    text = "\n".join(lines) + "\n" + _footer_text(base_url)
    listing = f"<ol>{''.join(rows)}</ol>" if rows else "<p>Nothing needs you this week.</p>"
    body = (
        f"<p>Hello {html.escape(person_name)},</p>"
        f"<p>{count} your attention this week.</p>{listing}"
        f'<p><a href="{html.escape(home)}">Your list in the app</a></p>' + _footer_html(base_url)
    )
    return Email(subject, text, _page(subject, body))


def webhook_body(
    kind: WebhookKind, alert: str, item: AttentionItem, *, base_url: str | None
) -> dict[str, Any]:
    """The JSON an incoming webhook accepts: Slack's `text` (mrkdwn), a Teams connector's
    MessageCard, or the Adaptive Card a Teams Workflows webhook posts to its channel."""
    link = app_url(base_url, item.link)
    title = f"{item.name}: {KIND_WORDS.get(alert, alert)}"
    if kind is WebhookKind.SLACK:
        head = f"*<{link}|{_slack(item.name)}>* {_slack(item.reason)}"
        return {"text": f"{head}\n{_slack(item_line(item))}"}
    if kind is WebhookKind.TEAMS_WORKFLOW:
        return _adaptive_card(title, [item.reason, item_line(item)], link)
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "title": title,
        "text": f"{_markdown(item.reason)}  \n{_markdown(item_line(item))}  \n[Open it]({link})",
    }


def _adaptive_card(title: str, lines: list[str], link: str) -> dict[str, Any]:
    """A message with one Adaptive Card, as the Workflows template "Post to a channel when a
    webhook request is received" takes it (its text blocks read Markdown: escaped here)."""
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _markdown(title), "weight": "Bolder", "wrap": True}
    ]
    blocks += [{"type": "TextBlock", "text": _markdown(line), "wrap": True} for line in lines]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
        "actions": [{"type": "Action.OpenUrl", "title": "Open it", "url": link}],
    }
    return {
        "type": "message",
        "summary": title,
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _slack(text: str) -> str:
    # Slack reads &, < and > as markup; everything else is shown as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markdown(text: str) -> str:
    for char in "\\`*_[]<>":
        text = text.replace(char, "\\" + char)
    return text
