"""Copier migration (0.2.0): keep the metric a project's checkpoints were picked by.

Until 0.2.0 the monitored metric was written three times into template-owned files:
``optimized_metric`` in ``train.yaml`` and ``monitor``/``mode`` in the ``model_checkpoint`` and
``early_stopping`` callback configs (``val/acc``, ``max``). From 0.2.0 it is one setting,
``monitor: {metric, mode}``: ``train.yaml`` holds a generic default (``val/loss``, ``min``)
and the model config sets its own. A project updated from 0.1.x keeps its old, user-owned model
config, which sets no ``monitor``: without this step its runs would silently switch to
``val/loss``.

Run by ``copier update`` in the ``after`` stage, in the project root, with Copier's own Python.
It reads the metric and mode the project used before the update from the last commit (``git
show HEAD:...``: Copier updates a clean work tree) and writes them into the updated
``train.yaml``'s ``monitor`` block, unless a model config sets ``monitor`` itself. Usable by
hand too: ``python migrations/monitor_setting.py``.

- Idempotent: once ``train.yaml`` holds the old values (or a model config sets ``monitor``),
  a second run changes nothing.
- Changes nothing and says why when there is no git history, no old setting, or the new
  ``monitor`` block is not in the shape the template renders.
- Stdlib only, no network: it runs under whatever Python runs Copier (3.9+).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TRAIN_YAML_GLOB = "src/*/configs/train.yaml"
CHECKPOINT_CONFIG = "callbacks/model_checkpoint.yaml"
# The block 0.2.0's train.yaml renders (its default values may differ in later releases).
MONITOR_BLOCK = re.compile(
    r"^monitor:\n  metric: (?P<metric>[^\n]+)\n  mode: (?P<mode>min|max)\n", re.MULTILINE
)
OLD_VALUE = re.compile(r"^  (?P<key>monitor|mode): (?P<value>[^\s#]+)", re.MULTILINE)
PREFIX = "migration monitor_setting:"


def old_setting(configs: Path, root: Path) -> tuple[str, str] | None:
    """The (metric, mode) the project's ``model_checkpoint`` config used at HEAD, if literal."""
    relative = (configs / CHECKPOINT_CONFIG).relative_to(root).as_posix()
    proc = subprocess.run(
        ["git", "show", f"HEAD:{relative}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    values = {m["key"]: m["value"].strip("'\"") for m in OLD_VALUE.finditer(proc.stdout)}
    metric, mode = values.get("monitor"), values.get("mode")
    if not metric or mode not in ("min", "max") or metric.startswith("${"):
        return None  # already the one setting, or no metric: nothing to carry over
    return metric, mode


def model_sets_monitor(configs: Path) -> bool:
    """Whether a model config sets ``monitor`` itself (the 0.2.0 way)."""
    return any(
        re.search(r"^monitor:", path.read_text(encoding="utf-8"), re.MULTILINE)
        for path in sorted((configs / "model").glob("*.yaml"))
    )


def migrate(root: Path) -> list[str]:
    """Carry the old metric and mode into each ``train.yaml``; return what was done."""
    done = []
    for train_yaml in sorted(root.glob(TRAIN_YAML_GLOB)):
        configs = train_yaml.parent
        setting = old_setting(configs, root)
        if setting is None or model_sets_monitor(configs):
            continue
        text = train_yaml.read_text(encoding="utf-8")
        block = MONITOR_BLOCK.search(text)
        if block is None:
            done.append(f"{train_yaml}: no monitor block to set; set monitor: {setting} by hand")
            continue
        metric, mode = setting
        if (block["metric"].strip(), block["mode"]) == (metric, mode):
            continue
        new_block = f"monitor:\n  metric: {metric}\n  mode: {mode}\n"
        train_yaml.write_text(text[: block.start()] + new_block + text[block.end() :], "utf-8")
        done.append(f"{train_yaml}: monitor set to {metric} ({mode}), as before the update")
    return done


def main() -> int:
    """Run in the project root; print what changed."""
    for line in migrate(Path.cwd()):
        print(f"{PREFIX} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
