"""One generic registry for everything the tool looks up by name: training methods, experiment kinds,
data sets, research tables (leaf module, imports nothing of ours).

An entry is either an object registered directly (`@METHODS.register("rs-da")` on a class, or
`DATASETS.register("xnli", spec)`) or a lazy `"package.module:object"` string that is imported on the
first lookup, so listing names never imports heavy code:

    KINDS = Registry("experiment kind")
    KINDS.register("probe", "xlt_claims.reproduce.kinds.layer_probe:LayerProbe")
    KINDS["probe"]                         # imports the module, returns the object (cached)
    KINDS.get("nope")                      # None, as for a dict; KINDS["nope"] lists the known names

A registry may also name a package to `discover`: on the first miss or listing, every module of that
package whose name does not start with "_" is imported once, so a module that registers itself with
the decorator is found without being listed anywhere else (adding a method is one module). An import
error in such a module propagates: a broken module must fail loudly, not vanish from the list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A lookup of a name nobody registered; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote its message
        return str(self.args[0]) if self.args else "unknown name"


def import_object(target: str) -> Any:
    """The object named by "package.module:attribute" (dots after the colon walk attributes)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"lazy registry entry {target!r} must look like 'package.module:object'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Mapping[str, T]):
    """Name -> object (a read-only mapping), with lazy "module:object" entries, aliases and optional
    package discovery. `registry[name]` raises UnknownNameError naming the known entries; `.get(name)`
    returns None for an unknown name, as a dict does."""

    def __init__(self, what: str, *, discover: Optional[str] = None,
                 check: Optional[Callable[[str, Any], None]] = None) -> None:
        self.what = what  # "method", "data set", ... (used in messages)
        self._entries: dict[str, Any] = {}  # name -> object, or a "module:object" string not imported yet
        self._aliases: dict[str, str] = {}
        self._discover_package = discover
        self._discovered = discover is None
        self._check = check

    # --- registering ----------------------------------------------------------------------------
    def register(self, name: str, target: Any = None, *, aliases: Iterable[str] = ()) -> Any:
        """register(name, obj_or_lazy_string) adds an entry; register(name) is a decorator."""
        if target is None:
            def deco(obj: Any) -> Any:
                self._add(name, obj, tuple(aliases))
                return obj

            return deco
        self._add(name, target, tuple(aliases))
        return target

    def _add(self, name: str, target: Any, aliases: tuple[str, ...]) -> None:
        if not isinstance(target, str) and self._check is not None:
            self._check(name, target)
        old = self._entries.get(name)
        if old is not None and old is not target and not self._same_definition(old, target):
            raise ValueError(f"{self.what} {name!r} is already registered ({self._describe(old)})")
        self._entries[name] = target
        for a in aliases:
            self._aliases[a] = name

    @staticmethod
    def _same_definition(old: Any, new: Any) -> bool:
        """A module imported twice (e.g. by a test that reloads it) registers an equal object again."""
        if isinstance(old, str) or isinstance(new, str):
            return False
        qual = getattr(old, "__qualname__", None)
        return qual is not None and (getattr(old, "__module__", None), qual) == \
            (getattr(new, "__module__", None), getattr(new, "__qualname__", None))

    @staticmethod
    def _describe(obj: Any) -> str:
        if isinstance(obj, str):
            return obj
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"

    # --- looking up -----------------------------------------------------------------------------
    def discover(self) -> None:
        """Import every public module of the discovery package once (errors propagate)."""
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self._discover_package)  # type: ignore[arg-type]
        for mod in pkgutil.iter_modules(package.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{mod.name}")

    def canonical(self, name: str) -> str:
        """The registered name for `name` or one of its aliases."""
        return self._aliases.get(name, name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self.canonical(name) not in self._entries:
            self.discover()
        return self.canonical(name) in self._entries

    def __getitem__(self, name: str) -> T:
        if name not in self:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.what} {name!r}; known: {known}")
        key = self.canonical(name)
        obj = self._entries[key]
        if isinstance(obj, str):
            obj = import_object(obj)
            if self._check is not None:
                self._check(key, obj)
            self._entries[key] = obj
        return obj

    def __iter__(self) -> Iterator[str]:
        """Registered names in registration order (aliases not included)."""
        self.discover()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self._entries)} entries)"
