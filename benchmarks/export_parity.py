"""Export of the example and every starter: parity errors and the time each export takes.

Run with a rendered project's interpreter (every starter selected, the export extra installed),
in the project's root::

    python benchmarks/export_parity.py --package smoke_project [--json PATH]

For the example (``experiment=smoke``) and each starter (on a generated dataset, as in
``data_throughput.py``), it trains a few epochs, then runs the project's own ``export`` with
``formats=[pt2,onnx]`` and reports, per format, the largest absolute and relative error
against the eager model on the held-out inputs and the seconds the export took (tracing
included), from the export's ``parity.json``; and the wall time of the whole ``export``
call (restoring the checkpoint, held-out inputs, both formats, the checks, the model card).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_throughput import write_images, write_table, write_texts

CASES: dict[str, tuple[tuple[str, ...], Any, int]] = {
    # name: (overrides, dataset writer or None, dataset size)
    "example": (("experiment=smoke",), None, 0),
    "tabular": (("experiment=tabular", "trainer.max_epochs=3"), write_table, 3000),
    "image": (
        ("experiment=image", "trainer.max_epochs=2", "model.widths=[8,16]"),
        write_images,
        600,
    ),
    "text": (("experiment=text", "trainer.max_epochs=2", "data.max_length=64"), write_texts, 2000),
}
DATA_KEYS = {"path": "data.path", "root": "data.root", "target": "data.target"}


def compose(package: str, name: str, output_dir: Path, overrides: list[str]) -> Any:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    with initialize_config_module(version_base="1.3", config_module=f"{package}.configs"):
        cfg = hydra_compose(config_name=name, overrides=overrides)
    cfg = copy.deepcopy(cfg)
    cfg.paths.output_dir = str(output_dir)
    cfg.paths.log_dir = str(output_dir)
    return cfg


def measure(package: str, case: str, work: Path) -> dict[str, Any]:
    overrides, writer, size = CASES[case]
    settings: list[str] = []
    if writer is not None:
        settings.append(f"data.cache_dir={work / 'processed'}")
        target = work / {"tabular": "table.csv", "image": "images", "text": "texts.jsonl"}[case]
        written = writer(target, size)
        settings += [f"{DATA_KEYS[key]}={value}" for key, value in written.items()]
    quiet = [
        "cpu_threads=1",
        "callbacks.rich_progress_bar=null",
        "report=false",
        "+trainer.enable_progress_bar=false",
    ]
    train = importlib.import_module(f"{package}.train").train
    export = importlib.import_module(f"{package}.export").export
    run_dir = work / "run"
    metrics = train(compose(package, "train", run_dir, [*overrides, *settings, *quiet]))
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    start = time.perf_counter()
    export(compose(package, "export", work / "export-run", [f"ckpt_path={ckpt}"]))
    wall = time.perf_counter() - start
    parity = json.loads((run_dir / "export" / "parity.json").read_text())
    score = next((v for k, v in metrics.items() if k in ("test/acc", "test/mae")), None)
    return {
        "test_score": score,
        "export_wall_s": round(wall, 2),
        **{
            entry["format"]: {
                key: entry[key] for key in ("samples", "max_abs_error", "max_rel_error", "export_s")
            }
            for entry in parity
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="the rendered project's import name")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    importlib.import_module(f"{args.package}.data")  # the starters register themselves
    results = {}
    with tempfile.TemporaryDirectory(prefix="export-parity-") as tmp:
        for case in args.cases:
            work = Path(tmp) / case
            work.mkdir()
            results[case] = measure(args.package, case, work)
            print(case, json.dumps(results[case]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
