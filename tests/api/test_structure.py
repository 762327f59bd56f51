"""The structure the hardening asked for, checked on the code itself: routers never open a
transaction, and no untyped ``dict[str, Any]`` crosses a router signature or a service's
return type. (The package layers are checked by ``lint-imports``.)"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.routing import APIRoute

import app

DOMAINS = sorted(info.name for info in pkgutil.iter_modules(app.__path__) if info.ispkg)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


ROUTERS = [m for d in DOMAINS if (m := _module(f"app.{d}.router")) is not None]
SERVICES = [m for d in DOMAINS if (m := _module(f"app.{d}.service")) is not None]


def _untyped(hint: object) -> bool:
    """``dict[str, Any]`` anywhere inside the hint (e.g. in ``list[...]`` or ``X | None``)."""
    if typing.get_origin(hint) is dict and typing.get_args(hint) == (str, Any):
        return True
    return any(_untyped(arg) for arg in typing.get_args(hint))


def test_the_checks_see_the_code() -> None:
    assert len(ROUTERS) >= 9 and len(SERVICES) >= 9
    assert _untyped(list[dict[str, Any]]) and _untyped(dict[str, Any] | None)
    assert not _untyped(dict[str, int]) and not _untyped(list[str])


@pytest.mark.parametrize("router", ROUTERS, ids=lambda m: m.__name__)
def test_routers_never_open_a_transaction(router: ModuleType) -> None:
    source = Path(inspect.getfile(router)).read_text(encoding="utf-8")
    assert "transaction(" not in source
    assert ".commit(" not in source


@pytest.mark.parametrize("router", ROUTERS, ids=lambda m: m.__name__)
def test_route_signatures_are_typed(router: ModuleType) -> None:
    routes = [r for r in router.router.routes if isinstance(r, APIRoute)]
    assert routes
    for route in routes:
        hints = typing.get_type_hints(route.endpoint, include_extras=False)
        untyped = [name for name, hint in hints.items() if _untyped(hint)]
        assert untyped == [], f"{route.path}: {untyped}"


@pytest.mark.parametrize("service", SERVICES, ids=lambda m: m.__name__)
def test_service_results_are_typed(service: ModuleType) -> None:
    functions = [
        f
        for name, f in inspect.getmembers(service, inspect.isfunction)
        if f.__module__ == service.__name__ and not name.startswith("_")
    ]
    for function in functions:
        returned = typing.get_type_hints(function).get("return")
        assert not _untyped(returned), function.__qualname__
