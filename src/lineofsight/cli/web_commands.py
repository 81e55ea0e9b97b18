"""`los serve` (the web app) and `los user ...` (its accounts and API tokens)."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lineofsight.cli.app import DbOption, _command, app, err, out
from lineofsight.errors import UsageError
from lineofsight.services.workspace import local_user, open_store, resolve_url

F = TypeVar("F", bound=Callable[..., Any])

user_app = typer.Typer(
    name="user",
    help="Accounts of the web app: add, list, remove users; make API tokens.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(user_app, name="user")


@_command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on (1-65535).")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, help="Server processes (each keeps its own cache)."),
    ] = 1,
    db: DbOption = None,
) -> None:
    """Run the web app (pages and the JSON API at /api/v1; API docs at /api/docs)."""
    import secrets

    import uvicorn

    from lineofsight.store.database import Store

    url = resolve_url(db)
    Store(url).close()  # migrate (and report a bad URL) once, before any worker starts
    # Every worker must sign sessions with the same key, or a login would last one request.
    os.environ.setdefault("LOS_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["LOS_SERVE_DATABASE_URL"] = url
    err.print(f"Serving Line of Sight on http://{host}:{port} (store {escape(url)})")
    uvicorn.run(
        "lineofsight.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password again: ")
    if first != second:
        raise UsageError("the two passwords differ")
    return first


@_command(user_app, name="add")
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
    from lineofsight.services import accounts

    grants = [accounts.parse_grant(text) for text in role]
    password = _read_password(password_stdin)
    with open_store(db) as store:
        account = accounts.add_user(
            store, username, password, grants, name=name, person_id=person, actor=local_user()
        )
    out.print(
        f"Added user {escape(account.username)} ({escape(accounts.grants_text(account.grants))})"
    )


@_command(user_app, name="list")
def user_list(db: DbOption = None) -> None:
    """List the users with their roles and person."""
    from lineofsight.services import accounts

    with open_store(db) as store:
        users = accounts.list_users(store)
        tokens = accounts.list_tokens(store)
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
        out.print(
            escape(f"{a.username}  {a.name}  roles {accounts.grants_text(a.grants)}{person}")
            + tokens_text
        )


@_command(user_app, name="remove")
def user_remove(
    username: Annotated[str, typer.Argument(help="The login name.")],
    db: DbOption = None,
) -> None:
    """Remove a user with its roles and API tokens."""
    from lineofsight.services import accounts

    with open_store(db) as store:
        accounts.remove_user(store, username, actor=local_user())
    out.print(f"Removed user {escape(username)}")


@_command(user_app, name="token")
def user_token(
    username: Annotated[str, typer.Argument(help="The login name.")],
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for (shown in lists).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Make an API token for a user and print it (once: only its hash is kept)."""
    from lineofsight.services import accounts

    with open_store(db) as store:
        token = accounts.create_token(store, username, actor=local_user(), label=label)
    sys.stdout.write(token + "\n")
    err.print(
        "Send it as 'Authorization: Bearer <token>'. It is not shown again; "
        "`los user remove` revokes it with the user."
    )
