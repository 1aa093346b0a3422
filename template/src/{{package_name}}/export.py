"""Export a checkpoint: ``python -m <package>.export ckpt_path=PATH [formats=[pt2,onnx]]``.

Writes into ``<the checkpoint's run dir>/export/`` (``output_dir``): ``model.pt2`` (a
``torch.export`` ExportedProgram), ``model.onnx`` (the dynamo ONNX exporter; the ``export``
extra), both with a dynamic batch dimension; ``parity.json``, the largest absolute and relative
errors of each exported model against the eager model on held-out inputs; and
``model_card.md``, built from the training run's manifest. Export fails, with one line and
nothing written, when a model cannot be exported or an export is outside the tolerance.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, InvalidValueError

if TYPE_CHECKING:
    from lightning.pytorch import LightningDataModule
    from torch import Tensor

PARITY_FILE = "parity.json"
CARD_FILE = "model_card.md"


def export(cfg: DictConfig) -> dict[str, Any]:
    """Export the checkpoint at ``cfg.ckpt_path``; return the parity results by format."""
    from .run import services
    from .run.exporting import FILENAMES, export_formats, missing_packages
    from .run.manifest import RunManifest
    from .run.model_card import model_card, read_manifest
    from .run.restore import (
        checkpoint_path,
        load_checkpoint,
        restore_datamodule,
        restore_model,
        run_dir_of,
    )

    with RunManifest(cfg, task="export") as manifest:
        ckpt_path = checkpoint_path(cfg, "export")
        formats = chosen_formats(cfg.get("formats"))
        atol, rtol, samples = tolerances(cfg)
        missing = missing_packages(formats)
        if missing:
            raise ConfigError(
                f"formats=[{','.join(formats)}]: onnx needs the export extra "
                f"({', '.join(missing)} missing): uv sync --extra export"
            )
        services.prepare(cfg)
        checkpoint = load_checkpoint(ckpt_path)
        datamodule = restore_datamodule(cfg, checkpoint)
        model = restore_model(cfg, checkpoint, datamodule)
        inputs = heldout_inputs(datamodule, cfg.get("input"), samples)
        run_dir = run_dir_of(ckpt_path)
        out_dir = Path(str(cfg.output_dir)) if cfg.get("output_dir") else run_dir / "export"
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # Everything is written into a staging folder first: a failure leaves nothing behind.
        with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir.parent) as staging:
            staged = Path(staging)
            results = export_formats(model, inputs, formats, staged, atol=atol, rtol=rtol)
            parity = [{**r.as_dict(), "path": str(out_dir / FILENAMES[r.format])} for r in results]
            (staged / PARITY_FILE).write_text(json.dumps(parity, indent=2) + "\n")
            card = model_card(
                title=f"{type(model).__name__} ({run_dir.name})",
                checkpoint=ckpt_path,
                hparams=dict(checkpoint.get("hyper_parameters") or {}),
                datamodule=type(datamodule).__name__,
                data_hparams=dict(checkpoint.get("datamodule_hyper_parameters") or {}),
                manifest=read_manifest(run_dir),
                inputs=list(inputs.shape[1:]),
                input_dtype=str(inputs.dtype).removeprefix("torch."),
                outputs=list(_output_shape(model, inputs)),
                parity=parity,
                tolerance={"atol": atol, "rtol": rtol},
            )
            (staged / CARD_FILE).write_text(card)
            out_dir.mkdir(parents=True, exist_ok=True)
            for item in staged.iterdir():
                item.replace(out_dir / item.name)
        by_format = {entry["format"]: entry for entry in parity}
        manifest.update(checkpoint=str(ckpt_path), export_dir=str(out_dir), parity=by_format)
        manifest.finish({})
    for entry in parity:
        print(
            f"{entry['path']}: max abs error {entry['max_abs_error']:.3g}, max rel error "
            f"{entry['max_rel_error']:.3g} on {entry['samples']} held-out inputs "
            f"({entry['export_s']:.1f} s)"
        )
    print(f"Model card: {out_dir / CARD_FILE}")
    return by_format


def chosen_formats(value: Any) -> list[str]:
    """Return the ``formats`` setting as a list of known formats, in order, without repeats."""
    from .run.exporting import FORMATS

    listed = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not listed:
        raise InvalidValueError("formats", value, f"a non-empty list of {', '.join(FORMATS)}")
    for fmt in listed:
        if fmt not in FORMATS:
            raise InvalidValueError("formats", fmt, f"one of {', '.join(FORMATS)}")
    return list(dict.fromkeys(str(fmt) for fmt in listed))


def tolerances(cfg: DictConfig) -> tuple[float, float, int]:
    """``parity.atol``, ``parity.rtol`` and ``parity.samples``, checked."""
    from .validation import non_negative, positive_int

    parity = cfg.get("parity") or {}
    atol = non_negative("parity.atol", parity.get("atol", 1e-4))
    rtol = non_negative("parity.rtol", parity.get("rtol", 1e-3))
    samples = positive_int("parity.samples", parity.get("samples", 256))
    return atol, rtol, samples


def heldout_inputs(datamodule: LightningDataModule, source: Any, samples: int) -> Tensor:
    """Up to ``samples`` model inputs, as the datamodule serves them to the model.

    From ``source`` (a prediction input file or folder) when given, else from the test split
    of the data the checkpoint was trained on. The datamodule's batch hooks are applied as in
    evaluation (``on_after_batch_transfer`` with no training going on).
    """
    import torch

    if source:
        from .predict import check_predicts

        check_predicts(datamodule).predict_inputs(str(source))
        loader = datamodule.predict_dataloader()
    else:
        try:
            datamodule.prepare_data()
            datamodule.setup("test")
        except ConfigError as error:
            raise ConfigError(
                f"the parity check needs held-out inputs and the training data cannot be read "
                f"({error}): pass input=PATH, new inputs in the data's prediction format"
            ) from error
        loader = datamodule.test_dataloader()
    taken: list[Tensor] = []
    count = 0
    for batch in loader:
        served = datamodule.on_after_batch_transfer(batch, 0)
        inputs = served[0] if isinstance(served, tuple | list) else served
        taken.append(inputs)
        count += len(inputs)
        if count >= samples:
            break
    if not taken:
        raise ConfigError("the parity check found no held-out inputs: pass input=PATH")
    return torch.cat(taken)[:samples]


def _output_shape(model: Any, inputs: Tensor) -> tuple[int, ...]:
    import torch

    with torch.no_grad():
        return tuple(model(inputs[:1]).shape[1:])


@hydra.main(version_base="1.3", config_path="configs", config_name="export")
def main(cfg: DictConfig) -> None:
    """Command-line entry point: exits with status 1 and one line on a config error."""
    from .run.services import run_entry_point

    run_entry_point(export, cfg)


if __name__ == "__main__":
    main()
