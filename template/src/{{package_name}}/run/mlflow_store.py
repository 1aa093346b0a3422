"""MLflow on the project's one store, so that every run of the project can be compared.

``ProjectMLFlowLogger`` is Lightning's ``MLFlowLogger`` except for where it logs:
``MLFLOW_TRACKING_URI`` when that is set and not empty (a tracking server, a database), else
one SQLite file for the whole project (``logs/mlflow.db``: ``store`` in
``configs/logger/mlflow.yaml``), made on first use, with the artifacts beside it in
``mlartifacts/``. Each MLflow run is named after its run directory and tagged with its path.
See every run: ``mlflow ui --backend-store-uri sqlite:///logs/mlflow.db``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import MLFlowLogger

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
ARTIFACTS_DIR = "mlartifacts"


def sqlite_uri(store: Path) -> str:
    """Return the tracking URI of a SQLite store file (absolute, so any directory may run it)."""
    return f"sqlite:///{store.resolve().as_posix()}"


def resolve_tracking_uri(store: str | Path, configured: str | None = None) -> str:
    """Return where runs go: ``configured``, else ``MLFLOW_TRACKING_URI``, else the store."""
    uri = configured or os.environ.get(TRACKING_URI_VARIABLE, "").strip()
    return uri or sqlite_uri(Path(store))


class ProjectMLFlowLogger(MLFlowLogger):
    """Lightning's ``MLFlowLogger`` on the project's store (see the module's docstring)."""

    def __init__(
        self,
        store: str,
        *,
        run_dir: str | None = None,
        tracking_uri: str | None = None,
        artifact_location: str | None = None,
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Log to ``tracking_uri``, ``MLFLOW_TRACKING_URI`` or the SQLite file ``store``.

        ``run_dir`` (the run directory) names the MLflow run unless ``run_name`` does, and is
        recorded as its ``run_dir`` tag. Other arguments are ``MLFlowLogger``'s.
        """
        uri = resolve_tracking_uri(store, tracking_uri)
        if uri == sqlite_uri(Path(store)):
            folder = Path(store).resolve().parent
            folder.mkdir(parents=True, exist_ok=True)
            artifact_location = artifact_location or (folder / ARTIFACTS_DIR).as_uri()
        all_tags = dict(tags or {})
        if run_dir:
            all_tags.setdefault("run_dir", str(Path(run_dir).resolve()))
            run_name = run_name or Path(run_dir).name
        super().__init__(
            tracking_uri=uri,
            artifact_location=artifact_location,
            run_name=run_name,
            tags=all_tags or None,
            **kwargs,
        )
