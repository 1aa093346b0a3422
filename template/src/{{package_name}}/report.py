"""Run reports: ``python -m <package>.report RUN_DIR [RUN_DIR ...] [--output PATH]``.

Training writes ``report.html`` into its run directory when it ends (``report: true``). The
report is one self-contained HTML file: the loss and metric curves from the CSV log (PNG
drawn as inline SVG by ``run/charts.py``: no plotting library), the final metrics, and a summary
of the manifest and the config. Given several run directories, the
command writes one comparison instead, with each metric's curves overlaid, the final metrics
side by side and the config values that differ between the runs.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .run.charts import PALETTE, Line, line_chart
from .run.run_log import RunRecord, read_run

REPORT_FILE = "report.html"
# Curves are grouped in panels by the metric's name after the stage: train/loss and val/loss
# share "loss". Test metrics are single values: the tables show them.
SKIPPED_PREFIXES = ("test/",)
# How each stage's curves are drawn.
DASHES = {"train": "dashed", "val": "solid"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { background: #f4f4f4; }
pre { padding: 0.75rem; overflow-x: auto; max-height: 32rem; }
.charts { display: flex; flex-wrap: wrap; gap: 0.75rem; }
.note { color: #666; }
"""


def panel_of(metric: str) -> str:
    """Return the panel a metric's curve goes in: its name without the stage (``acc``)."""
    return metric.split("/", 1)[1] if "/" in metric else metric


def panels(records: Sequence[RunRecord]) -> dict[str, list[str]]:
    """Panel name -> the metrics drawn in it, over all the runs."""
    grouped: dict[str, list[str]] = {}
    for record in records:
        for metric in record.curves:
            if metric.startswith(SKIPPED_PREFIXES):
                continue
            names = grouped.setdefault(panel_of(metric), [])
            if metric not in names:
                names.append(metric)
    return dict(sorted(grouped.items()))


def draw_curves(records: Sequence[RunRecord]) -> list[str]:
    """Return one SVG chart per panel: a line per run and metric (empty without curves).

    Training curves are dashed and validation curves solid; with several runs, each run has
    its own colour.
    """
    charts = []
    for panel, metrics in panels(records).items():
        lines = []
        for index, record in enumerate(records):
            for position, metric in enumerate(metrics):
                series = record.curves.get(metric)
                if not series:
                    continue
                stage = metric.split("/", 1)[0]
                color = PALETTE[(index if len(records) > 1 else position) % len(PALETTE)]
                label = metric if len(records) == 1 else f"{record.label}: {metric}"
                lines.append(Line(label, series, color, DASHES.get(stage, "dotted")))
        charts.append(line_chart(panel, lines))
    return charts


def render_html(records: Sequence[RunRecord], title: str) -> str:
    """Return the report's HTML: summary, final metrics, curves and config."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Runs</h2>",
        _table(["", *(r.label for r in records)], _summary_rows(records)),
        "<h2>Final metrics</h2>",
        _metrics_table(records),
        "<h2>Curves</h2>",
        _curves(records),
        "<h2>Config</h2>",
        _config(records),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(run_dirs: Sequence[str | Path], output: str | Path | None = None) -> Path:
    """Write the report of one run (default: ``<run>/report.html``) or a comparison of several.

    A comparison needs ``output``. The file is written beside its name and renamed into place.
    """
    if not run_dirs:
        raise ValueError("no run directory given")
    if output is None and len(run_dirs) > 1:
        raise ValueError("comparing runs needs an output path (--output)")
    records = [read_run(path) for path in run_dirs]
    if output is None:
        output = records[0].run_dir / REPORT_FILE
    title = f"Run {records[0].label}" if len(records) == 1 else f"{len(records)} runs compared"
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(render_html(records, title), encoding="utf-8")
    partial.replace(target)
    return target


def _summary_rows(records: Sequence[RunRecord]) -> list[list[str]]:
    fields = {
        "Directory": lambda r: str(r.run_dir),
        "Task": lambda r: r.manifest.get("task", ""),
        "Status": lambda r: r.manifest.get("status", ""),
        "Started": lambda r: r.manifest.get("start_time", ""),
        "Ended": lambda r: r.manifest.get("end_time", ""),
        "Best checkpoint": lambda r: r.manifest.get("best_checkpoint") or "",
        "Seed": lambda r: _get(r.manifest.get("config"), "seed"),
        "Model": lambda r: _get(r.manifest.get("config"), "model.name"),
        "Data": lambda r: _get(r.manifest.get("config"), "data.name"),
        "Git commit": lambda r: _get(r.manifest.get("git"), "commit"),
        "Versions": lambda r: ", ".join(
            f"{k} {v}" for k, v in sorted((r.manifest.get("versions") or {}).items())
        ),
    }
    return [[name, *(str(read(r)) for r in records)] for name, read in fields.items()]


def _metrics_table(records: Sequence[RunRecord]) -> str:
    names = sorted({name for r in records for name in r.metrics})
    if not names:
        return '<p class="note">No final metrics (metrics.json) in this run directory.</p>'
    rows = [[name, *(_number(r.metrics.get(name)) for r in records)] for name in names]
    return _table(["Metric", *(r.label for r in records)], rows, numbers=True)


def _curves(records: Sequence[RunRecord]) -> str:
    charts = draw_curves(records)
    if not charts:
        return '<p class="note">No curves: the run has no CSV log (logger: csv).</p>'
    return f'<div class="charts">{"".join(charts)}</div>'


def _config(records: Sequence[RunRecord]) -> str:
    configs = [_flatten(r.manifest.get("config") or {}) for r in records]
    if len(records) == 1:
        text = json.dumps(records[0].manifest.get("config") or {}, indent=2, default=str)
        return f"<pre>{html.escape(text)}</pre>"
    keys = sorted({key for config in configs for key in config})
    differing = [k for k in keys if len({json.dumps(c.get(k), default=str) for c in configs}) > 1]
    if not differing:
        return '<p class="note">The runs\' configs are the same.</p>'
    rows = [[key, *(json.dumps(c.get(key), default=str) for c in configs)] for key in differing]
    return "<p>Values that differ between the runs:</p>" + _table(
        ["Key", *(r.label for r in records)], rows
    )


def _table(header: Iterable[str], rows: Iterable[Sequence[str]], *, numbers: bool = False) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = []
    for row in rows:
        first, *rest = row
        cls = ' class="number"' if numbers else ""
        cells = "".join(f"<td{cls}>{html.escape(str(cell))}</td>" for cell in rest)
        body.append(f"<tr><th>{html.escape(str(first))}</th>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): node}


def _get(node: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(key, "")
    return node


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: one run's report, or a comparison of several runs."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write (default: RUN_DIR/report.html for one run, "
        "report-compare.html here for several)",
    )
    args = parser.parse_args(argv)
    output = args.output
    if output is None and len(args.run_dirs) > 1:
        output = Path("report-compare.html")
    try:
        written = write_report(args.run_dirs, output)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Report: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
