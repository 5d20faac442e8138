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


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--backend",
    type=click.Choice(["sim"]),
    default="sim",
    show_default=True,
    help="Where to run the scenario: the built-in simulator.",
)
def run(scenario: str, as_json: bool, seed: int | None, backend: str) -> None:
    """Run SCENARIO (a YAML file) and print the report.

    Exit status: 0 when every check passes, 1 when one fails, 2 for bad input.
    """
    import json

    import attrs

    from nassim.cluster import simulate
    from nassim.report import build_report
    from nassim.scenario import load_scenario

    s = load_scenario(scenario)
    if seed is not None:
        s = attrs.evolve(s, seed=seed)
    trace = simulate(s)
    report = build_report(trace, scenario=s.name, duration=s.duration, expect_findings=s.expect_findings)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(report.render())
    if not report.passed:
        raise SystemExit(1)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--kind",
    type=click.Choice(["auto", "values", "manifests"]),
    default="auto",
    show_default=True,
    help="What CONFIG is: Helm values or rendered manifests (auto: manifests if it has a 'kind:').",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
def check(config: str, kind: str, as_json: bool) -> None:
    """Static checks of a Helm values file or rendered manifests, no simulation.

    Sidecar on output servers only, --delete only on input init containers,
    the sidecar's export mount read-only, and the pods' effective requests
    against a default Minikube VM. Exit status 1 when anything is found.
    """
    import json

    import attrs

    from nassim.topology import load_manifests, load_values, static_checks

    if kind == "auto":
        try:
            with open(config, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise click.UsageError(f"{config}: cannot read: {exc.strerror}") from None
        kind = "manifests" if any(line.startswith("kind:") for line in text.splitlines()) else "values"
    topology = load_manifests(config) if kind == "manifests" else load_values(config)
    findings = static_checks(topology)
    if as_json:
        click.echo(json.dumps({"config": config, "servers": len(topology),
                               "findings": [attrs.asdict(f) for f in findings]}, indent=2))
    else:
        click.echo(f"nassim check: {config} ({kind}, {len(topology)} servers)")
        for f in findings:
            click.echo(f"  [FOUND] {f.name}{f' ({f.server})' if f.server else ''}: {f.explanation}")
        if not findings:
            click.echo("  no findings: sidecars, --delete flags, read-only mounts and requests look right")
    if findings:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="nassim", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("nassim: aborted", err=True)
        sys.exit(2)
    except NassimError as exc:
        click.echo(f"nassim: error: {exc}", err=True)
        sys.exit(2)
