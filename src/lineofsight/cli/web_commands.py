"""`los serve` (the web app) and `los user ...` (its accounts and API tokens).

Both need the `web` extra (the server, and argon2 for passwords); without it they say so and
exit 2. Nothing here imports the web stack until a command runs, so that the rest of `los`
works on a plain install.
"""

from __future__ import annotations

import datetime as dt
import getpass
import inspect
import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from types import ModuleType
from typing import Annotated, Any

import typer

from lineofsight.cli.common import DbOption, add_command, err, escape, out
from lineofsight.errors import UsageError
from lineofsight.extras import require
from lineofsight.services.workspace import local_user, open_store, resolve_url

WEB_APP = "the web app"
WORKER_HEALTHCHECK_SECONDS = 60


def _accounts() -> ModuleType:
    """The accounts service, once the web extra (argon2 for passwords) is known installed."""
    require("web", WEB_APP)
    from lineofsight.services import accounts

    return accounts


def _can_listen(host: str, port: int) -> None:
    """UsageError when the server could not listen on `host:port` (the port taken, a host
    unknown): said at once, before the scorecards are kept and the scheduler starts, rather
    than by uvicorn after "Serving ..." (with its exit code 3, which says "store busy" here).

    Probes as asyncio's server binds: every address the host names ("" is every interface),
    IPv6 sockets for IPv6 only, an address family the machine lacks skipped."""
    import errno
    import os
    import socket

    shown = f"[{host}]" if ":" in host else host
    where = f"cannot listen on {shown}:{port}"
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"{where}: {getattr(exc, 'strerror', None) or exc}") from None
    bound = 0
    for family, kind, proto, _, address in dict.fromkeys(found):
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:
            continue  # this machine has no such address family (IPv6 turned off)
        with probe:
            if os.name == "posix":
                # As uvicorn binds: a port left in TIME_WAIT by an earlier server is free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue  # an address of a family this machine cannot bind
                reason = (exc.strerror or str(exc)).lower()
                raise UsageError(f"{where}: {reason} (give another --port or --host)") from None
            bound += 1
    if not bound:
        raise UsageError(f"{where}: no address of it can be bound here (give another --host)")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on (1-65535).")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes (each keeps its own cache; one scheduler serves them all).",
        ),
    ] = 1,
    no_scheduler: Annotated[
        bool,
        typer.Option(
            "--no-scheduler",
            help="Run no background scheduler (source refreshes, notifications): for several "
            "servers where cron runs `los jobs --due` instead.",
        ),
    ] = False,
    scheduler_interval: Annotated[
        float,
        typer.Option(
            "--scheduler-interval",
            metavar="SECONDS",
            min=1,
            help="Seconds between two looks of the scheduler for due jobs.",
        ),
    ] = 30.0,
    db: DbOption = None,
) -> None:
    """Run the web app (pages and the JSON API at /api/v1; API docs at /api/docs) and the
    scheduler that runs due source refreshes and notifications in the background."""
    import secrets

    require("web", WEB_APP)
    import uvicorn

    from lineofsight.store.database import Store

    url = resolve_url(db)
    _can_listen(host, port)
    opened = Store(url)  # migrate (and report a bad URL) once, before any worker starts
    shown = opened.display_url  # its password hidden: this line goes to the service's log
    opened.close()
    # Every worker must sign sessions with the same key, or a login would last one request.
    os.environ.setdefault("LOS_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["LOS_SERVE_DATABASE_URL"] = url
    # Today's scorecards kept in the store first, once, so that every worker starts from them
    # instead of each computing them in full (and holding that computation's memory).
    from lineofsight.services.serve_start import keep_before_start

    keep_before_start(url)
    # One scheduler for the whole server, in this process: with several workers, one each
    # would wake as many times and each keep a store open for nothing (the store's job claims
    # would still keep them from running a job twice). The workers run none.
    from lineofsight.services.scheduler_runner import start_scheduler

    scheduler = None if no_scheduler else start_scheduler(url, scheduler_interval, None)
    os.environ["LOS_SERVE_SCHEDULER"] = "off"
    err.print(f"Serving Line of Sight on http://{host}:{port} (store {escape(shown)})")
    settings: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        # uvicorn replaces a worker that does not answer its ping within 5 s; a worker making
        # the scorecard of 100,000 KPIs on a busy machine can take longer, and its
        # replacement would start that over, keeping nothing.
        settings["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK_SECONDS
    try:
        uvicorn.run(
            "lineofsight.web.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            **settings,
        )
    finally:
        # A job still running after the stop's wait ends with the process (its lease then
        # runs out): its store stays open under it.
        if scheduler is not None and scheduler.stop():
            scheduler.store.close()


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password again: ")
    if first != second:
        raise UsageError("the two passwords differ")
    return first


def user_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="admin, editor, owner or viewer, on the whole organisation, or ROLE:UNIT for "
            "that unit and the units below it. Repeat for several.",
        ),
    ],
    person: Annotated[
        str | None,
        typer.Option("--person", help="The person this user is (owners: whose KPIs they enter)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a user of the web app (the password is asked for, or read with --password-stdin)."""
    accounts = _accounts()
    # Every role that is not one is said with the request's other problems, at once.
    grants, problems = accounts.parse_grants(role)
    password = _read_password(password_stdin)
    with open_store(db) as store:
        account = accounts.add_user(
            store,
            username,
            password,
            grants,
            name=name,
            person_id=person,
            actor=local_user(),
            problems=problems,
        )
        warnings = accounts.reach_warnings(store, account)
    out.print(
        f"Added user {escape(account.username)} ({escape(accounts.grants_text(account.grants))})"
    )
    for warning in warnings:
        out.print(f"[yellow]warning[/]: {escape(warning)}", soft_wrap=True)


class ListFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[ListFormat, typer.Option("--format", help="text or json.")]


def user_list(output_format: FormatOption = ListFormat.TEXT, db: DbOption = None) -> None:
    """List the users with their roles, person, API tokens and live sessions."""
    accounts = _accounts()
    from lineofsight.services import sessions

    with open_store(db) as store:
        users = accounts.list_users(store)
        tokens = accounts.list_tokens(store)
        live = sessions.session_counts(store, dt.datetime.now(dt.UTC))
    if output_format is ListFormat.JSON:
        rows = []
        for a in users:
            count, seen = live.get(a.id, (0, None))
            rows.append(
                {
                    **accounts.account_plain(a),
                    "tokens": [_token_plain(k) for k in tokens if k.username == a.username],
                    "sessions": count,
                    "last_seen": seen.isoformat() if seen else None,
                }
            )
        sys.stdout.write(json.dumps({"users": rows}, ensure_ascii=False, indent=2) + "\n")
        return
    if not users:
        out.print("No users yet: add one with `los user add NAME --role admin`.")
        return
    counts: dict[str, int] = {}
    for token in tokens:
        counts[token.username] = counts.get(token.username, 0) + 1
    for a in users:
        person = f"  person {a.person_id}" if a.person_id else ""
        n = counts.get(a.username, 0)
        tokens_text = f"  {n} API token{'s' if n != 1 else ''}" if n else ""
        n_sessions = live.get(a.id, (0, None))[0]
        sessions_text = (
            f"  {n_sessions} session{'s' if n_sessions != 1 else ''}" if n_sessions else ""
        )
        out.print(
            escape(f"{a.username}  {a.name}  roles {accounts.grants_text(a.grants)}{person}")
            + tokens_text
            + sessions_text
        )


def _as_utc(value: dt.datetime) -> dt.datetime:
    from lineofsight.services.history import as_utc

    return as_utc(value)


def _token_plain(token: Any) -> dict[str, Any]:
    return {
        "id": token.id,
        "username": token.username,
        "label": token.label,
        "created_at": _as_utc(token.created_at).isoformat(),
    }


def user_change(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="The user's roles from now on (replacing the ones they have): ROLE or "
            "ROLE:UNIT. Repeat for several.",
        ),
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="The person this user is from now on.")
    ] = None,
    no_person: Annotated[
        bool, typer.Option("--no-person", help="Link the user to no person.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Change a user's roles or person. Their sessions and API tokens end at once: they log
    in again, and need new tokens."""
    accounts = _accounts()

    if person is not None and no_person:
        raise UsageError("give --person or --no-person, not both")
    if not role and person is None and not no_person:
        raise UsageError("nothing to change: give --role, --person or --no-person")
    # Every role that is not one is said with the request's other problems, at once.
    grants, problems = accounts.parse_grants(role or [])
    grants_given = grants if role else None
    changes: dict[str, Any] = {}
    if person is not None or no_person:
        changes["person_id"] = None if no_person else person
    with open_store(db) as store:
        account, changed = accounts.change_user(
            store, username, grants=grants_given, actor=local_user(), problems=problems, **changes
        )
    person_text = f", person {account.person_id}" if account.person_id else ", no person"
    summary = f"{account.username} ({accounts.grants_text(account.grants)}{person_text})"
    if not changed:
        out.print(escape(f"User {summary} already had these roles and person: nothing changed"))
        return
    out.print(escape(f"Changed user {summary}; their sessions and API tokens have ended"))


def user_password(
    username: Annotated[str, typer.Argument(help="The login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set a new password for a user (asked for, or read with --password-stdin). Their
    sessions and API tokens end at once, and a lockout after failed logins is lifted."""
    accounts = _accounts()

    password = _read_password(password_stdin)
    with open_store(db) as store:
        accounts.set_password(store, username, password, actor=local_user())
    out.print(
        f"Set a new password for {escape(username)}; their sessions and API tokens have ended"
    )


def user_remove(
    username: Annotated[str, typer.Argument(help="The login name.")],
    db: DbOption = None,
) -> None:
    """Remove a user with its roles and API tokens."""
    accounts = _accounts()
    with open_store(db) as store:
        accounts.remove_user(store, username, actor=local_user())
    out.print(f"Removed user {escape(username)}")


def user_token(
    username: Annotated[str, typer.Argument(help="The login name.")],
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for (shown in lists).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Make an API token for a user and print it (once: only its hash is kept)."""
    accounts = _accounts()
    with open_store(db) as store:
        token = accounts.create_token(store, username, actor=local_user(), label=label)
    sys.stdout.write(token + "\n")
    err.print(
        "Send it as 'Authorization: Bearer <token>'. It is not shown again; "
        "`los user revoke ID` revokes it (ids: `los user tokens`)."
    )


def user_tokens(
    username: Annotated[
        str | None, typer.Argument(help="Only this user's tokens (default: everyone's).")
    ] = None,
    output_format: FormatOption = ListFormat.TEXT,
    db: DbOption = None,
) -> None:
    """List API tokens: id, user, label and when each was made (never the token itself)."""
    accounts = _accounts()

    with open_store(db) as store:
        if username is not None:
            accounts.require_user(store, username)
        tokens = accounts.list_tokens(store, username)
    if output_format is ListFormat.JSON:
        rows = [_token_plain(k) for k in tokens]
        sys.stdout.write(json.dumps({"tokens": rows}, ensure_ascii=False, indent=2) + "\n")
        return
    if not tokens:
        out.print("No API tokens.")
        return
    for k in tokens:
        label = f"  {k.label}" if k.label else ""
        out.print(escape(f"{k.id}  {k.username}  made {k.created_at:%Y-%m-%d %H:%M}{label}"))


def user_revoke(
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="The token's id (see `los user tokens`).")
    ],
    db: DbOption = None,
) -> None:
    """Revoke one API token: it stops working on its next request."""
    accounts = _accounts()

    with open_store(db) as store:
        info = accounts.revoke_token(store, token_id, actor=local_user())
    label = f" ({info.label})" if info.label else ""
    out.print(escape(f"Revoked token {token_id} of {info.username}{label}"))


def user_group() -> typer.Typer:
    """`los user` with its commands, in the order its help lists them."""
    users = typer.Typer(
        name="user",
        help="Accounts of the web app: add, list, change, remove users; reset passwords; make, "
        "list and revoke API tokens.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    commands: dict[str, Callable[..., Any]] = {
        "add": user_add,
        "list": user_list,
        "change": user_change,
        "password": user_password,
        "remove": user_remove,
        "token": user_token,
        "tokens": user_tokens,
        "revoke": user_revoke,
    }
    for name, fn in commands.items():
        add_command(users, fn, name)
    return users
