"""Exported models and the parity check that proves them against the eager model.

``pt2`` is a ``torch.export`` ExportedProgram, ``onnx`` an ONNX model from the dynamo-based
exporter (packages ``onnx``, ``onnxscript``; checked with ``onnxruntime``: the ``export``
extra). Both take one input tensor, preprocessed as the datamodule serves batches to the model,
with a dynamic batch dimension, and return the model's ``forward`` outputs (logits for
classification).

The parity check runs each exported model on held-out inputs, all at once and one alone (so the
batch dimension is proven dynamic), reading the files back from disk, and compares with the
eager model: the largest absolute error, and the largest error relative to the eager output's
magnitude (over outputs above ``atol``). It fails when any output is outside
``atol + rtol * |eager|``.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError

FORMATS = ("pt2", "onnx")
FILENAMES = {"pt2": "model.pt2", "onnx": "model.onnx"}
EXPORT_EXTRA = ("onnx", "onnxscript", "onnxruntime")
INPUT_NAME, OUTPUT_NAME = "inputs", "outputs"
# The ONNX exporter's passes log every step at INFO.
NOISY_LOGGERS = ("onnx_ir", "onnxscript", "torch.onnx")


class ExportError(ConfigError):
    """A model that cannot be exported, or whose export does not match it."""


@dataclass(frozen=True)
class Parity:
    """How far an exported model's outputs are from the eager model's."""

    format: str
    path: str
    samples: int
    max_abs_error: float
    max_rel_error: float
    within_tolerance: bool
    export_s: float

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


def missing_packages(formats: Iterable[str]) -> list[str]:
    """Return the export extra's packages the ``formats`` need and this environment lacks."""
    if "onnx" not in formats:
        return []
    return [name for name in EXPORT_EXTRA if importlib.util.find_spec(name) is None]


class Forward(nn.Module):
    """The model's ``forward`` on one input tensor: what the exported graphs compute."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tensor:
        """Return the wrapped model's outputs for a batch of inputs."""
        out: Tensor = self.model(inputs)
        return out


def export_program(model: nn.Module, example: Tensor) -> torch.export.ExportedProgram:
    """``torch.export`` the model with a dynamic batch dimension; ``ExportError`` if it fails."""
    batch = torch.export.Dim("batch", min=1)
    try:
        return torch.export.export(
            Forward(model).eval(), (example,), dynamic_shapes=({0: batch},), strict=False
        )
    except Exception as error:
        raise ExportError(
            f"torch.export cannot export model {type(model).__name__}: {_first_line(error)} "
            "(data-dependent Python control flow in forward is the usual cause)"
        ) from error


def write_pt2(program: torch.export.ExportedProgram, path: Path) -> None:
    """Save an ExportedProgram (``torch.export.load`` reads it back)."""
    torch.export.save(program, str(path))


def write_onnx(program: torch.export.ExportedProgram, example: Tensor, path: Path) -> None:
    """Convert an ExportedProgram to ONNX with the dynamo exporter (dynamic batch dimension)."""
    quiet = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    try:
        with redirect_stdout(io.StringIO()):  # the exporter reports its progress on stdout
            torch.onnx.export(
                program,
                (example,),
                str(path),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                external_data=False,
            )
    except Exception as error:
        raise ExportError(f"ONNX export failed: {_first_line(error)}") from error
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def pt2_runner(path: Path) -> Callable[[Tensor], Tensor]:
    """Run the saved ExportedProgram read back from ``path``."""
    module = torch.export.load(str(path)).module()

    def run(inputs: Tensor) -> Tensor:
        with torch.no_grad():
            out: Tensor = module(inputs)
        return out

    return run


def onnx_runner(path: Path) -> Callable[[Tensor], Tensor]:
    """Run the ONNX model at ``path`` with onnxruntime on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(inputs: Tensor) -> Tensor:
        (out,) = session.run([OUTPUT_NAME], {INPUT_NAME: inputs.numpy()})
        return torch.from_numpy(out)

    return run


RUNNERS = {"pt2": pt2_runner, "onnx": onnx_runner}


def errors(exported: Tensor, eager: Tensor, atol: float) -> tuple[float, float]:
    """Return the largest absolute error, and the largest relative one where ``|eager| > atol``."""
    if exported.shape != eager.shape:
        raise ExportError(
            f"exported outputs have shape {tuple(exported.shape)}, not {tuple(eager.shape)}"
        )
    difference = (exported.double() - eager.double()).abs()
    magnitude = eager.double().abs()
    large = magnitude > atol
    relative = (difference[large] / magnitude[large]).max().item() if large.any() else 0.0
    return difference.max().item(), relative


def check_parity(
    fmt: str,
    path: Path,
    eager: Callable[[Tensor], Tensor],
    inputs: Tensor,
    *,
    atol: float,
    rtol: float,
    export_s: float,
) -> Parity:
    """Compare the exported model at ``path`` with ``eager`` on ``inputs`` and on one input."""
    run = RUNNERS[fmt](path)
    worst_abs = worst_rel = 0.0
    within = True
    for batch in (inputs, inputs[:1]):
        expected, got = eager(batch), run(batch.contiguous())
        max_abs, max_rel = errors(got, expected, atol)
        worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, max_rel)
        within = within and bool(
            torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol)
        )
    return Parity(fmt, str(path), len(inputs), worst_abs, worst_rel, within, round(export_s, 3))


def export_formats(
    model: nn.Module,
    inputs: Tensor,
    formats: Iterable[str],
    out_dir: Path,
    *,
    atol: float,
    rtol: float,
) -> list[Parity]:
    """Write each format into ``out_dir`` and check its parity; ``ExportError`` past tolerance.

    ``inputs`` are held-out model inputs (at least one); the export traces the first two.
    """
    model = model.eval().cpu().float()
    example = inputs[:2] if len(inputs) > 1 else torch.cat([inputs, inputs])
    out_dir.mkdir(parents=True, exist_ok=True)

    def eager(batch: Tensor) -> Tensor:
        with torch.no_grad():
            out: Tensor = model(batch)
        return out

    started = time.perf_counter()
    program = export_program(model, example)
    traced_s = time.perf_counter() - started
    results = []
    for fmt in formats:
        path = out_dir / FILENAMES[fmt]
        started = time.perf_counter()
        if fmt == "pt2":
            write_pt2(program, path)
        else:
            write_onnx(program, example, path)
        took = traced_s + time.perf_counter() - started
        results.append(check_parity(fmt, path, eager, inputs, atol=atol, rtol=rtol, export_s=took))
    failed = [r for r in results if not r.within_tolerance]
    if failed:
        worst = failed[0]
        raise ExportError(
            f"{worst.format} export differs from the model by up to {worst.max_abs_error:.3g} "
            f"(relative {worst.max_rel_error:.3g}), beyond parity.atol={atol} and "
            f"parity.rtol={rtol}: check the model for train-only behaviour, or loosen them"
        )
    return results


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
