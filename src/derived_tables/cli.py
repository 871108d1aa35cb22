"""The `derived` command line: generate curated data, build and publish the warehouse, benchmark,
run the main job across settings (robustness).

Each command lives in its own module and is imported lazily, so `derived --help` stays fast.
"""

from __future__ import annotations

import click

from derived_tables import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="derived")
def main() -> None:
    """derived-tables: synthetic curated justice data and its dbt warehouse."""


def _register() -> None:
    from derived_tables.generator.command import generate

    main.add_command(generate)

    from derived_tables.publish import build, rollback

    main.add_command(build)
    main.add_command(rollback)

    from derived_tables.bench import bench

    main.add_command(bench)

    from derived_tables.floor import floor

    main.add_command(floor)

    from derived_tables.catalogue import catalogue

    main.add_command(catalogue)

    from derived_tables.datadiff import diff

    main.add_command(diff)

    from derived_tables.robustness import robustness

    main.add_command(robustness)

    from derived_tables.spark_cluster import spark_cluster

    main.add_command(spark_cluster)
    main.add_command(linkage)


@click.command(
    "linkage",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def linkage(args: tuple[str, ...]) -> None:
    """Person linkage: evaluate, train, report (HTML), FEBRL benchmarks. See --help."""
    from derived_tables.linkage import main as linkage_main

    raise SystemExit(linkage_main(list(args) or ["--help"]))


_register()

if __name__ == "__main__":
    main()
