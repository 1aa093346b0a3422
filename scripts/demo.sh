#!/usr/bin/env bash
# Render the default project into ./demo (or $1) and train its smoke model on CPU.
# Needs .venv from scripts/bootstrap.sh; the demo's own venv reuses its CPU torch.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-demo}"
if [ -e "$DEST" ]; then
    echo "error: $DEST already exists; remove it or pass another folder: bash scripts/demo.sh OTHER" >&2
    exit 1
fi
.venv/bin/copier copy --trust --defaults --skip-tasks --vcs-ref HEAD \
    --data project_name="Demo Project" . "$DEST"
.venv/bin/python -m venv --system-site-packages "$DEST/.venv"
"$DEST/.venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$DEST"
cd "$DEST"
.venv/bin/python -m demo_project.train experiment=smoke hydra.run.dir=logs/smoke
echo "Checkpoint: $DEST/logs/smoke/checkpoints/last.ckpt"
