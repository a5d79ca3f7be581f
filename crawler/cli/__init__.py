"""The ``scamradar`` command line.

Each command group lives in its own module and registers itself on the app in :func:`build_app`.
Expected failures (:class:`crawler.errors.UserError`) print one line on stderr and exit 2; bugs
propagate with their traceback.
"""

from __future__ import annotations

import sys

import typer

try:  # recent typer carries its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import ClickException, UsageError

from crawler.errors import UserError

# Commands whose module is all the app needs: ``scamradar classify`` then imports neither
# SQLAlchemy nor Scrapy (~0.2 s of start-up). Any other command, or none, builds the whole app.
_RULES_COMMANDS = frozenset({"classify", "eval", "rules"})


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command group, or only the rules commands when ``command`` is one."""
    app = typer.Typer(
        name="scamradar",
        help="Watch the Kazakhstan media space for scam advertising.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    if command in _RULES_COMMANDS:
        from crawler.cli import rules as rules_module

        rules_module.register(app)
        return app
    from crawler.cli import bench, crawl, db, export, rules, runs, schedule, serve

    for module in (db, export, runs, schedule, crawl, bench, rules, serve):
        module.register(app)
    from crawler.cli import certstream

    certstream.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    app = build_app(args[0] if args else None)
    try:
        code = app(args=argv, prog_name="scamradar", standalone_mode=False)
    except UserError as exc:
        print(f"scamradar: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        print(f"scamradar: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(2)
    except ClickException as exc:
        print(f"scamradar: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("scamradar: aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
