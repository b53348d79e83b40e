"""What the models offer that other modules of the package provide: data-parallel training
behind ``fit(..., comm=)`` (blasnet.distributed) and ONNX export behind ``to_onnx``
(blasnet.onnx_export). Those modules import the models and register here when they are
imported (``import blasnet`` imports both); the models call through here and import neither,
so dependencies point one way: from the modules that use models to the models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A training run on one process of a data-parallel job: given the job's collective (shard
#: and hook for the core's fit), it trains and returns what it returns.
Train = Callable[[Any], Any]

_providers: dict[str, Callable[..., Any]] = {}


def register(service: str, provider: Callable[..., Any]) -> None:
    """Makes ``provider`` the implementation of ``service`` ("data_parallel" or "onnx")."""
    _providers[service] = provider


def provider(service: str, module: str) -> Callable[..., Any]:
    """The registered implementation of ``service``; ImportError naming ``module`` when it
    has not been imported (a program that imports a submodule of blasnet alone)."""
    try:
        return _providers[service]
    except KeyError:
        raise ImportError(f"{service} is provided by {module}: import it first") from None


def data_parallel(comm: Any, train: Train) -> Any:
    """Runs ``train(collective)`` as one rank of the job over ``comm``."""
    return provider("data_parallel", "blasnet.distributed")(comm, train)


def export_onnx(model: Any, path: Any, opset: int | None) -> None:
    """Writes ``model`` to an ONNX file."""
    provider("onnx", "blasnet.onnx_export")(model, path, opset=opset)
