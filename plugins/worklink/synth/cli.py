"""``worklink generate``: click command for the synthetic data generator."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .generator import DEFAULT_PARTICIPANTS, DEFAULT_SEED, generate


@click.command(name="generate")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder. Writes OUT/landing/... and OUT/_truth/... (both are replaced if present).",
)
@click.option(
    "--seed",
    default=DEFAULT_SEED,
    show_default=True,
    type=int,
    help="Random seed. The same seed and arguments give byte-identical files.",
)
@click.option(
    "--participants",
    default=DEFAULT_PARTICIPANTS,
    show_default=True,
    type=click.IntRange(min=10),
    help="Programme participants (Manchester ETB + BwD WorkWell people). 60,000 gives ~1M DWP rows.",
)
@click.option(
    "--defect-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of VCSE/NHS rows given an injected defect (0 = clean files). Any value > 0 also "
    "adds file-level defects (wrong encoding, missing column, empty file).",
)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def generate_command(out_dir: Path, seed: int, participants: int, defect_rate: float, quiet: bool) -> None:
    """Generate synthetic partner, NHS, DWP and HMRC landing files with ground truth.

    Everything is synthetic (names from Faker pools, NHS numbers in the 999 test range, Ofcom drama phone
    numbers, example.* e-mail domains). See docs/synthetic-data.md for the layout and every column.
    """
    started = time.perf_counter()

    def progress(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    summary = generate(
        out_dir, seed=seed, participants=participants, defect_rate=defect_rate, progress=progress
    )
    click.echo(
        f"wrote {summary['files_total']} files, {summary['rows_total']:,} rows, {summary['defects_total']} defects "
        f"to {out_dir} in {time.perf_counter() - started:.1f}s",
        err=True,
    )


if __name__ == "__main__":  # pragma: no cover
    generate_command()
