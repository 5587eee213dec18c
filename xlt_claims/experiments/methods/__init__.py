"""Method registry: every training method the one train loop can run.

    from xlt_claims.experiments.methods import register_method, get_method, list_methods

    @register_method("rs-da")
    class RSDA(Method): ...

    method = get_method("rs-da", copies=3)     # -> an instance; params are recorded in the run manifest

"baseline" (plain fine-tuning) is registered here. Other methods live in sibling modules (robust.py,
fusion.py, ot.py, ...) found by the registry's package discovery the first time a name is missing or
the list is asked for, so adding a method means adding one module that registers itself. A method
module that fails to import fails the lookup loudly.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from xlt_claims.experiments.types import Method
from xlt_claims.registry import Registry, UnknownNameError

M = TypeVar("M", bound=type)

UnknownMethodError = UnknownNameError


def _check_method(name: str, cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"register_method({name!r}) expects a Method subclass, got {cls!r}")


METHODS: Registry[type[Method]] = Registry("method", discover=__name__, check=_check_method)


def register_method(name: str) -> Callable[[M], M]:
    """Class decorator: register a Method subclass under `name` (sets cls.name when it is the default)."""

    def deco(cls: M) -> M:
        _check_method(name, cls)
        METHODS.register(name, cls)
        if getattr(cls, "name", "baseline") in ("baseline", None) and name != "baseline":
            cls.name = name
        return cls

    return deco


def list_methods() -> list[str]:
    return sorted(METHODS)


def get_method(name: str, **params: Any) -> Method:
    """A fresh instance of the registered method `name` with `params`."""
    return METHODS[name](**params)


@register_method("baseline")
class Baseline(Method):
    """Plain fine-tuning: the loop's default head, cross-entropy, no perturbation."""

    name = "baseline"


__all__ = ["Baseline", "METHODS", "Method", "UnknownMethodError", "get_method", "list_methods", "register_method"]
