"""The project's own OmegaConf resolvers, registered when the package is imported.

``${run_suffix:}`` is a random suffix of 8 hex digits, the same wherever one config reads it
(resolved once per config, like Hydra's ``${now:...}``). The run and sweep directories end
with it (``configs/hydra/default.yaml``), so runs started in the same second, a job array's for
instance, never share a directory, and ``ckpt_path=auto`` never finds another run's checkpoint.
A sweep's jobs and a requeued job keep their directory: Hydra copies the resolved values of the
sweep's config to its jobs.
"""

from __future__ import annotations

import secrets

from omegaconf import OmegaConf

RUN_SUFFIX = "run_suffix"
# 32 random bits: two runs of the same second share a suffix with a probability of 2**-32.
SUFFIX_BYTES = 4


def run_suffix() -> str:
    """Return a new random suffix for a run directory (8 hex digits)."""
    return secrets.token_hex(SUFFIX_BYTES)


def register_resolvers() -> None:
    """Register ``${run_suffix:}`` (again, harmlessly, when the package is reloaded)."""
    OmegaConf.register_new_resolver(RUN_SUFFIX, run_suffix, use_cache=True, replace=True)
