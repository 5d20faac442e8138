"""The ``nassim`` command.

Exit status: 0 success, 1 a check failed, 2 bad input (one clear line, no traceback).
"""

from __future__ import annotations

import sys

import click

from nassim.errors import NassimError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nassim")
def cli() -> None:
    """Simulate the multi-NAS test bed: NFS pods syncing with Windows folders by rsync."""


@cli.command()
def demo() -> None:
    """Run the rsync model on a built-in example and print the itemized changes."""
    from nassim.demo import run_demo

    run_demo(click.echo)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="nassim", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("nassim: aborted", err=True)
        sys.exit(2)
    except NassimError as exc:
        click.echo(f"nassim: error: {exc}", err=True)
        sys.exit(2)
