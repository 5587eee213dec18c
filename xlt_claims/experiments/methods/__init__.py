"""Method registry: every training method the one train loop can run.

    from xlt_claims.experiments.methods import register_method, get_method, list_methods

    @register_method("rs-da")
    class RSDA(Method): ...

    method = get_method("rs-da", copies=3)     # -> an instance; params are recorded in the run manifest

"baseline" (plain fine-tuning) is registered here. Other methods live in sibling modules (robust.py,
fusion.py, ot.py, ...) that are imported lazily the first time a name is looked up, so adding a method
means adding one module that registers itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, TypeVar

from xlt_claims.experiments.types import Method

_REGISTRY: dict[str, type[Method]] = {}
_DISCOVERED = False
M = TypeVar("M", bound=type)


class UnknownMethodError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown method"


def register_method(name: str) -> Callable[[M], M]:
    """Class decorator: register a Method subclass under `name` (sets cls.name when it is the default)."""

    def deco(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"register_method({name!r}) expects a Method subclass, got {cls!r}")
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"method name {name!r} is already registered by {existing.__module__}.{existing.__qualname__}")
        if getattr(cls, "name", "baseline") in ("baseline", None) and name != "baseline":
            cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _discover() -> None:
    """Import every module of this package once so their @register_method decorators run."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{__name__}.{mod.name}")
        except ImportError as exc:  # a method whose optional dependency is missing stays unavailable
            _BROKEN[mod.name] = f"{type(exc).__name__}: {exc}"


_BROKEN: dict[str, str] = {}


def list_methods() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_method(name: str, **params: Any) -> Method:
    """A fresh instance of the registered method `name` with `params`."""
    if name not in _REGISTRY:
        _discover()
    cls = _REGISTRY.get(name)
    if cls is None:
        hint = f"; modules that failed to import: {_BROKEN}" if _BROKEN else ""
        raise UnknownMethodError(f"unknown method {name!r}; registered: {', '.join(sorted(_REGISTRY))}{hint}")
    return cls(**params)


@register_method("baseline")
class Baseline(Method):
    """Plain fine-tuning: the loop's default head, cross-entropy, no perturbation."""

    name = "baseline"


__all__ = ["Baseline", "Method", "UnknownMethodError", "get_method", "list_methods", "register_method"]
