"""Hydra configs shipped inside the package (``hydra.initialize_config_module`` needs a module)."""
