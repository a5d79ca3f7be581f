"""The ``scamradar`` command line.

Each command group lives in its own module and registers itself on the app in :func:`build_app`.
Expected failures (:class:`crawler.errors.UserError`) print one line on stderr and exit 2; bugs
propagate with their traceback.
"""

from __future__ import annotations

import sys

import typer

from crawler.errors import UserError


def build_app() -> typer.Typer:
    from crawler.cli import db, export

    app = typer.Typer(
        name="scamradar",
        help="Watch the Kazakhstan media space for scam advertising.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module in (db, export):
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    app = build_app()
    try:
        app(args=argv, prog_name="scamradar", standalone_mode=True)
    except UserError as exc:
        print(f"scamradar: error: {exc}", file=sys.stderr)
        sys.exit(2)
