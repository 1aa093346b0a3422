"""Name -> factory registries for models and datamodules, open to other packages.

Built-in factories register themselves with a decorator::

    @MODELS.register("mlp_classifier")
    class ClassifierModule(LightningModule): ...

Another installed package adds entries without editing this project, by declaring an entry
point in the group ``<package>.models`` or ``<package>.datamodules`` of its ``pyproject.toml``
(``<package>`` is this project's import name)::

    [project.entry-points."<package>.models"]
    my_model = "other_package.models:MyModule"

Built-in entries are the modules of ``<package>.models`` and ``<package>.data``: every module
there is imported on the first lookup, so a new file registers itself. Entry points are read
lazily: on the first lookup of a name that is not built in, or when the registry lists its
names. A plugin is imported only when its name is requested.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from .errors import ConfigError

log = logging.getLogger(__name__)

PACKAGE = __name__.split(".")[0]

F = TypeVar("F", bound=Callable[..., Any])


class UnknownNameError(ConfigError, KeyError, ValueError):
    """A name that neither a built-in entry nor an entry point provides."""

    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.available = available
        choices = ", ".join(available) if available else "(none registered)"
        super().__init__(f"unknown {kind} name {name!r}; valid names: {choices}")

    def __str__(self) -> str:
        """Return the message itself (``KeyError`` would show its repr in quotes)."""
        return str(self.args[0])


class Registry:
    """Maps names to factories (classes or functions) that build one kind of object."""

    def __init__(self, kind: str, *, builtins: str | None = None, group: str | None = None):
        """Create an empty registry.

        Args:
            kind: What the registry holds, for messages (``"model"``).
            builtins: Module whose import registers the built-in entries; imported on first use.
            group: Entry-point group read for third-party entries (``"<package>.<kind>s"``).

        """
        self.kind = kind
        self.group = group if group is not None else f"{PACKAGE}.{kind}s"
        self._builtins = builtins
        self._factories: dict[str, Callable[..., Any]] = {}
        self._entry_points: dict[str, EntryPoint] | None = None
        self._plugins: set[str] = set()  # names whose factory came from an entry point
        self._imported = False

    def register(self, name: str) -> Callable[[F], F]:
        """Return a decorator that registers its target under ``name``."""

        def decorator(factory: F) -> F:
            self.add(name, factory)
            return factory

        return decorator

    def add(self, name: str, factory: Callable[..., Any]) -> None:
        """Register ``factory`` under ``name``; a name cannot be taken twice."""
        existing = self._factories.get(name)
        if existing is not None and existing is not factory:
            raise ValueError(f"{self.kind} name {name!r} is already registered to {existing!r}")
        self._factories[name] = factory

    def get(self, name: str) -> Callable[..., Any]:
        """Return the factory registered as ``name``; raise ``UnknownNameError`` if none is."""
        self._import_builtins()
        if name in self._factories:
            return self._factories[name]
        entry_point = self._discovered().get(name)
        if entry_point is None:
            raise UnknownNameError(self.kind, name, self.available())
        factory: Callable[..., Any] = entry_point.load()
        self._factories[name] = factory
        self._plugins.add(name)
        return factory

    def build(self, name: str, /, **kwargs: Any) -> Any:
        """Build the object registered as ``name`` with keyword arguments ``kwargs``."""
        return self.get(name)(**kwargs)

    def available(self) -> list[str]:
        """Return every valid name, built-in and from entry points, sorted."""
        self._import_builtins()
        return sorted({*self._factories, *self._discovered()})

    def __contains__(self, name: object) -> bool:
        """Tell whether ``name`` is a valid name."""
        return isinstance(name, str) and name in self.available()

    def refresh(self) -> None:
        """Forget the entry points read so far (after installing or removing a plugin)."""
        for name in self._plugins:
            self._factories.pop(name, None)
        self._plugins.clear()
        self._entry_points = None

    def _import_builtins(self) -> None:
        """Import the built-in package and every module in it: each registers what it holds.

        A new file in ``models/`` or ``data/`` (a starter added by an update, say) is found
        without editing the package's ``__init__.py``.
        """
        if self._builtins is None or self._imported:
            return
        package = importlib.import_module(self._builtins)
        for module in pkgutil.walk_packages(
            getattr(package, "__path__", []), f"{package.__name__}."
        ):
            importlib.import_module(module.name)
        self._imported = True

    def _discovered(self) -> dict[str, EntryPoint]:
        if self._entry_points is None:
            found: dict[str, EntryPoint] = {}
            for entry_point in entry_points(group=self.group):
                if entry_point.name in self._factories:
                    log.warning(
                        "Entry point %r in group %r is ignored: a built-in %s has that name.",
                        entry_point.value,
                        self.group,
                        self.kind,
                    )
                    continue
                found.setdefault(entry_point.name, entry_point)
            self._entry_points = found
        return self._entry_points


MODELS = Registry("model", builtins=f"{PACKAGE}.models")
DATAMODULES = Registry("datamodule", builtins=f"{PACKAGE}.data")
