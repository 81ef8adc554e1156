"""Evaluation report: a self-contained HTML file built from the published (disclosure-controlled) marts.

`worklink report --out FILE.html`. Reads only the `published` schema (as the worklink_public role
by default), re-checks every cell against the same disclosure-control policy as the dbt macro
(thresholds read from dbt_project.yml), and embeds charts as inline SVG so it opens offline.
"""

from worklink.report.build import build_report

__all__ = ["build_report"]
