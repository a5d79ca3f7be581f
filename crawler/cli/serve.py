"""``scamradar serve`` (the review console) and ``scamradar users …`` (console accounts)."""

from __future__ import annotations

import sys

import typer

from crawler.cli.common import open_database
from crawler.errors import UserError

users_app = typer.Typer(
    help="Console accounts: add, list, change password, disable.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users")


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
) -> None:
    """The review console for analysts (sign in with an account made by `scamradar users add`).

    Put it behind a TLS-terminating proxy for anything but localhost; session cookies are marked
    Secure when the request came over https (SCAMRADAR_COOKIE_SECURE=auto|1|0)."""
    import uvicorn

    from crawler.config import AppSettings
    from review.app import create_app
    from review.config import ConsoleSettings

    settings = AppSettings.from_env()
    console = ConsoleSettings.from_env()
    with open_database(settings):  # refuse to start on an unreachable or unmigrated database
        pass
    app = create_app(settings, console)
    typer.echo(f"scamradar console on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=console.forwarded_allow_ips,
        server_header=False,
        log_level=settings.log_level.lower(),
    )


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserError("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option("analyst", help="analyst or admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Add a console account (the password is prompted for, or read with --password-stdin)."""
    from review.accounts import check_name, check_password, check_role, create_user

    check_name(name)
    check_role(role)
    password = _read_password(password_stdin)
    check_password(password)
    with open_database() as Session, Session.begin() as session:
        create_user(session, name, password, role)
    typer.echo(f"added {role} {name}", err=True)


@users_app.command("list")
def users_list() -> None:
    """Every account with its role and state."""
    from sqlalchemy import select

    from storage.models import User

    with open_database() as Session, Session() as session:
        for u in session.scalars(select(User).order_by(User.name)):
            state = "disabled" if u.disabled else "active"
            typer.echo(f"{u.name}\t{u.role}\t{state}\t{u.created_at.isoformat()}")


@users_app.command("passwd")
def users_passwd(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set an account's password (its sessions end)."""
    from review.accounts import check_password, get_user, set_password

    password = _read_password(password_stdin)
    check_password(password)
    with open_database() as Session, Session.begin() as session:
        set_password(session, get_user(session, name), password)
    typer.echo(f"password of {name} changed", err=True)


@users_app.command("disable")
def users_disable(name: str = typer.Argument(...)) -> None:
    """Disable an account (its sessions end at once)."""
    from review.accounts import get_user, set_disabled

    with open_database() as Session, Session.begin() as session:
        set_disabled(session, get_user(session, name), True)
    typer.echo(f"{name} disabled", err=True)


@users_app.command("enable")
def users_enable(name: str = typer.Argument(...)) -> None:
    """Enable a disabled account."""
    from review.accounts import get_user, set_disabled

    with open_database() as Session, Session.begin() as session:
        set_disabled(session, get_user(session, name), False)
    typer.echo(f"{name} enabled", err=True)


@users_app.command("role")
def users_role(name: str = typer.Argument(...), role: str = typer.Argument(...)) -> None:
    """Change an account's role (analyst or admin)."""
    from review.accounts import check_role, get_user

    check_role(role)
    with open_database() as Session, Session.begin() as session:
        get_user(session, name).role = role
    typer.echo(f"{name} is now {role}", err=True)
