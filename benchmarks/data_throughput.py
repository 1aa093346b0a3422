"""Data throughput of the starters: the training loader against reading the processed cache.

Run with a rendered project's interpreter (every starter selected)::

    python benchmarks/data_throughput.py --package smoke_project [--json PATH] [--quick]

For each starter it writes a dataset of a size this machine handles in seconds (a table, a
folder of images, a file of texts), builds the processed cache (timed on its own), then
measures, alternating, in one process:

- ``loader``: samples per second of the datamodule's ``train_dataloader()`` (shuffled whole
  batches, as training gets them);
- ``direct``: samples per second of indexing the cached tensors with a shuffled order in
  batches of the same size, the least any loader has to do.

``ratio`` is ``loader / direct`` (the goal is at least 0.8 on CPU). For images it also reports
the rate of the augmentation (crop, flip, scaling) that runs after a batch reaches the device.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

SIZES = {"tabular": 100_000, "image": 3_000, "text": 50_000}
QUICK_SIZES = {"tabular": 20_000, "image": 600, "text": 10_000}
WORDS = ["great", "awful", "fine", "the", "café", "über", "was", "quite", "日本", "so"]


def write_table(path: Path, rows: int) -> dict[str, Any]:
    generator = random.Random(0)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f"x{i}" for i in range(12)), "color", "city", "label"])
        for _ in range(rows):
            numbers = [f"{generator.gauss(0, 1):.4f}" for _ in range(12)]
            writer.writerow(
                [
                    *numbers,
                    generator.choice("rgb"),
                    generator.choice(["a", "b, c"]),
                    generator.randrange(4),
                ]
            )
    return {"path": str(path), "target": "label"}


def write_images(root: Path, count: int) -> dict[str, Any]:
    from PIL import Image

    generator = random.Random(0)
    for index in range(count):
        folder = root / f"class_{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        color = tuple(generator.randrange(256) for _ in range(3))
        Image.new("RGB", (48, 48), color).save(folder / f"{index}.png")
    return {"root": str(root)}


def write_texts(path: Path, count: int) -> dict[str, Any]:
    generator = random.Random(0)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            words = " ".join(generator.choice(WORDS) for _ in range(generator.randrange(5, 40)))
            handle.write(json.dumps({"text": words, "label": index % 3}) + "\n")
    return {"path": str(path)}


def datamodule(package: str, starter: str, settings: dict[str, Any], cache_dir: Path) -> Any:
    data = importlib.import_module(f"{package}.data")
    registry = importlib.import_module(f"{package}.registry")
    del data  # imported so that the starters register themselves
    name = {"tabular": "tabular", "image": "images", "text": "texts"}[starter]
    return registry.DATAMODULES.build(
        name, cache_dir=str(cache_dir), batch_size=256, pin_memory=False, **settings
    )


def loader_rate(data: Any) -> float:
    start, seen = time.perf_counter(), 0
    for batch in data.train_dataloader():
        seen += len(batch[1])
    return seen / (time.perf_counter() - start)


def augment_rate(data: Any) -> float:
    """Images: samples per second of the random crop, flip and scaling on the CPU."""
    batches = list(data.train_dataloader())
    # What on_after_batch_transfer reads of the trainer while training: crop at random.
    data.trainer = SimpleNamespace(training=True, global_step=0)
    start, seen = time.perf_counter(), 0
    for images, labels in batches:
        data.on_after_batch_transfer((images, labels), 0)
        seen += len(labels)
    return seen / (time.perf_counter() - start)


def direct_rate(features: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor) -> float:
    start, seen = time.perf_counter(), 0
    order = rows[torch.randperm(len(rows))]
    for batch in order.split(256):
        x, y = features[batch], labels[batch]
        seen += len(y)
    del x
    return seen / (time.perf_counter() - start)


def measure(package: str, starter: str, size: int, repeats: int, work: Path) -> dict[str, Any]:
    writers = {"tabular": write_table, "image": write_images, "text": write_texts}
    target = work / {"tabular": "table.csv", "image": "images", "text": "texts.jsonl"}[starter]
    start = time.perf_counter()
    settings = writers[starter](target, size)
    written = time.perf_counter() - start
    data = datamodule(package, starter, settings, work / "processed")
    start = time.perf_counter()
    data.prepare_data()
    built = time.perf_counter() - start
    data.setup("fit")
    tensors, _ = data._cache().load()
    key = {"tabular": "features", "image": "images", "text": "tokens"}[starter]
    cached = tensors[key]
    labels = tensors["targets" if starter == "tabular" else "labels"]
    loader, direct = [], []
    for _ in range(repeats):
        loader.append(loader_rate(data))
        direct.append(direct_rate(cached, labels, tensors["train_rows"]))
    ratios = [a / b for a, b in zip(loader, direct, strict=True)]
    extra = {"augment_samples_per_s": round(augment_rate(data))} if starter == "image" else {}
    return {
        **extra,
        "samples": size,
        "write_s": round(written, 2),
        "cache_build_s": round(built, 2),
        "loader_samples_per_s": round(statistics.median(loader)),
        "direct_samples_per_s": round(statistics.median(direct)),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="the rendered project's import name")
    parser.add_argument("--starters", nargs="+", default=["tabular", "image", "text"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller datasets, 3 repeats")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sizes = QUICK_SIZES if args.quick else SIZES
    results = {}
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        for starter in args.starters:
            work = Path(tmp) / starter
            work.mkdir()
            repeats = 3 if args.quick else args.repeats
            results[starter] = measure(args.package, starter, sizes[starter], repeats, work)
            print(starter, json.dumps(results[starter]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
