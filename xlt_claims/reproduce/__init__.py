"""Reproductions: the registry of reproductions/*.toml, claim links, and the resumable runner.

    from xlt_claims.reproduce import load_registry, reproduce, Options
"""

from .registry import Experiment, Registry, RegistryError, load_registry
from .runner import Options, ReproduceResult, reproduce

__all__ = ["Experiment", "Options", "Registry", "RegistryError", "ReproduceResult", "load_registry", "reproduce"]
