"""Synthetic landing data with ground truth for worklink (see docs/synthetic-data.md).

Usage::

    from worklink.synth import generate
    summary = generate("/tmp/wl", seed=1, participants=2000, defect_rate=0.02)
"""

from .generator import DEFAULT_PARTICIPANTS, DEFAULT_SEED, generate
from .params import DEFAULT_RATES, Rates

__all__ = ["generate", "Rates", "DEFAULT_RATES", "DEFAULT_SEED", "DEFAULT_PARTICIPANTS"]
