"""Explicit registry of publisher classes by channel kind; duplicates fail loudly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_REGISTRY: dict[str, type[Any]] = {}

T = TypeVar("T", bound=type[Any])


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make a publisher available under `name`."""

    def decorate(cls: T) -> T:
        if name in _REGISTRY:
            raise ValueError(f"publisher {name!r} is registered twice")
        _REGISTRY[name] = cls
        return cls

    return decorate


def publisher_class(name: str) -> type[Any]:
    """The publisher class registered as `name`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no publisher named {name!r}; known: {sorted(_REGISTRY)}") from None


def registered() -> list[str]:
    """Names of every registered publisher."""
    return sorted(_REGISTRY)
