"""``model_card.md``: what an exported model is, written beside it from the run's records.

Built from the training run's ``manifest.json`` (its data and model config, final metrics,
versions and git state), the checkpoint (the model's and datamodule's saved hyperparameters,
among them the preprocessing fitted at training) and the export's parity results. Sections
only a person can write (intended use, limitations) are left as marked placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .run_log import read_json

PLACEHOLDER = "_To fill in:_"
# Lists longer than this (vocabularies, per-column statistics) are shortened in the card.
LONGEST_LIST = 12


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Return the training run's manifest, or an empty one when the run directory has none."""
    return read_json(run_dir / "manifest.json")


def model_card(
    *,
    title: str,
    checkpoint: Path,
    hparams: Mapping[str, Any],
    datamodule: str,
    data_hparams: Mapping[str, Any],
    manifest: Mapping[str, Any],
    inputs: Sequence[int],
    input_dtype: str,
    outputs: Sequence[int],
    parity: Sequence[Mapping[str, Any]],
    tolerance: Mapping[str, float],
) -> str:
    """Return the card's Markdown text."""
    config = manifest.get("config") or {}
    metrics = manifest.get("metrics") or {}
    versions = manifest.get("versions") or {}
    git = manifest.get("git") or {}
    preprocessing = data_hparams.get("preprocessing")
    settings = {k: v for k, v in data_hparams.items() if k != "preprocessing"}
    classes = (preprocessing or {}).get("classes") if isinstance(preprocessing, dict) else None
    lines = [
        f"# Model card: {title}",
        "",
        f"Exported from `{checkpoint}`"
        + (f", trained in `{manifest['run_dir']}`" if manifest.get("run_dir") else "")
        + (f" ({manifest['status']}, {manifest.get('end_time')})" if manifest.get("status") else "")
        + ".",
        "",
        "## Intended use",
        "",
        f"{PLACEHOLDER} who should use this model, for what, and what it must not be used for.",
        "",
        "## Limitations and risks",
        "",
        f"{PLACEHOLDER} where it fails, what its training data leaves out, known biases.",
        "",
        "## Files",
        "",
        "| File | Format | Largest error vs the eager model (abs / rel) | Export time |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{Path(r['path']).name}` | {_format_name(r['format'])} | "
            f"{r['max_abs_error']:.3g} / {r['max_rel_error']:.3g} | {r['export_s']:.1f} s |"
            for r in parity
        ),
        "",
        f"Parity: {parity[0]['samples'] if parity else 0} held-out inputs, all at once and one "
        f"alone; tolerance atol={tolerance['atol']}, rtol={tolerance['rtol']}.",
        "",
        "## Inputs and outputs",
        "",
        f"- Input `inputs`: `{input_dtype}`, shape `(batch, {', '.join(map(str, inputs))})`; "
        "the batch dimension is dynamic.",
        f"- Output `outputs`: shape `(batch, {', '.join(map(str, outputs))})`"
        + (
            f": logits over the classes, in this order: {_short(classes)}. Softmax gives "
            "probabilities."
            if classes
            else "."
        ),
        f"- Inputs are preprocessed as datamodule `{datamodule}` serves them to the model, with "
        "the statistics fitted on the training split (below). `predict` applies the same "
        "preprocessing to raw files.",
        "",
        "### Preprocessing fitted at training",
        "",
        *(
            ["```json", json.dumps(_shortened(preprocessing), indent=2, ensure_ascii=False), "```"]
            if preprocessing
            else ["None: the datamodule serves its inputs as they are."]
        ),
        "",
        "## Training data",
        "",
        f"Datamodule `{datamodule}` with:",
        "",
        "```json",
        json.dumps(_shortened(settings), indent=2, ensure_ascii=False, default=str),
        "```",
        "",
        "## Model",
        "",
        "```json",
        json.dumps(_shortened(dict(hparams)), indent=2, ensure_ascii=False, default=str),
        "```",
        "",
        "## Metrics",
        "",
        *(_metric_table(metrics) or ["No final metrics were recorded for this run."]),
        "",
        "## Training run",
        "",
        f"- Seed: {config.get('seed', 'unknown')}; deterministic: "
        f"{manifest.get('deterministic', 'unknown')}",
        f"- Trainer: {_short(config.get('trainer', {}))}",
        f"- Git: {git.get('commit', 'unknown')}"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        f"- Versions: {', '.join(f'{k} {v}' for k, v in sorted(versions.items())) or 'unknown'}",
        "",
    ]
    return "\n".join(lines)


def _format_name(fmt: str) -> str:
    return {"pt2": "torch.export ExportedProgram", "onnx": "ONNX"}.get(fmt, fmt)


def _metric_table(metrics: Mapping[str, Any]) -> list[str]:
    if not metrics:
        return []
    rows = [f"| `{name}` | {value:.4g} |" for name, value in sorted(metrics.items())]
    return ["| Metric | Value |", "| --- | --- |", *rows]


def _shortened(value: Any) -> Any:
    """Return the value with long lists cut to their first items and a count."""
    if isinstance(value, Mapping):
        return {str(k): _shortened(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_shortened(v) for v in value[:LONGEST_LIST]]
        if len(value) > LONGEST_LIST:
            items.append(f"... {len(value) - LONGEST_LIST} more")
        return items
    return value


def _short(value: Any) -> str:
    return json.dumps(_shortened(value), ensure_ascii=False, default=str)
