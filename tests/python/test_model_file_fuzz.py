"""bn.load under mutation: good files of every kind (sequential with class names, graph with
shared weights, rnn of both heads, perceptron, and the files written elsewhere), changed by a
seeded random loop — values of "extra" and of the architecture swapped for hostile ones, keys
dropped and added, kinds exchanged, bytes flipped — must each load or raise ModelFileError:
never another exception, and never a crash (which would take pytest down with it). The C++
libFuzzer target (cpp/fuzz) sees only the core's loader; this covers what Python adds."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import blasnet as bn

GOOD = Path(__file__).resolve().parent.parent / "data" / "good_models"

# Values that have broken loaders: wrapping and huge sizes, wrong types, non-finite numbers.
HOSTILE: list[Any] = [
    0, 1, -1, 2, 3, 2**31 - 1, 2**31, 2**32, 2**33 - 2, 2**33, 2**63, 2**64 - 1, 2**64, 2**70,
    32768, 8192, 1.5, -0.0, 1e308, -1e308, True, False, None, "", "3", "tanh", "every",
    "float16", "float32", [], [1], ["a", "b"], {}, {"n": 1},
]
KINDS = ["sequential", "graph", "rnn", "perceptron", "svm", ""]


def good_files(folder: Path) -> list[Path]:
    """One file of each kind the package writes, in folder, and the ones written elsewhere."""
    files = []

    def keep(name: str, save: Callable[[Path], None]) -> None:
        files.append(folder / name)
        save(files[-1])

    clf = bn.Sequential([bn.Dense(3, activation="tanh"), bn.Dense(2, activation="softmax")],
                        input_dim=2, dtype="float32", seed=1)
    clf.classes = ["no", "yes"]
    keep("sequential.safetensors", lambda p: clf.save(p, optimizer=bn.Adam()))
    g = bn.Graph(seed=2)
    h = g.dense(g.input("x", 3), 4, activation="tanh", name="enc")
    g.output(g.dense(h, 3, name="dec", share="enc", transpose=True), "mse")
    keep("graph.safetensors", g.save)
    for head in ("last", "every"):
        rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, head=head, dtype="float32", seed=3)
        keep(f"rnn_{head}.safetensors", rnn.save)
    keep("perceptron.safetensors", bn.Perceptron(n_features=2, n_outputs=2, lr=0.5).save)
    return files + sorted(GOOD.glob("*.safetensors"))


def split(data: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(header, blasnet description, tensor bytes) of a model file."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    return header, json.loads(header["__metadata__"]["blasnet"]), data[8 + n:]


def join(header: dict[str, Any], description: dict[str, Any], tensors: bytes) -> bytes:
    header["__metadata__"]["blasnet"] = json.dumps(description)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + tensors


def numbers_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every number of the architecture (dims, units, weights, dropouts)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in numbers_in(v, path + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in numbers_in(v, path + (i,))]
    return [path] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def mutate(data: bytes, rng: random.Random) -> bytes:
    header, description, tensors = split(data)
    extra = description["extra"]
    how = rng.randrange(6)
    if how == 0 and extra:  # a value of extra made hostile
        extra[rng.choice(sorted(extra))] = rng.choice(HOSTILE)
    elif how == 1 and extra:  # a key of extra dropped
        del extra[rng.choice(sorted(extra))]
    elif how == 2:  # a key added, known to some kind or not
        key = rng.choice(["seed", "classes", "lr", "hidden", "n_features", "n_outputs", "head",
                          "dtype", "activation", "loss", "unknown"])
        extra[key] = rng.choice(HOSTILE)
    elif how == 3:  # another kind
        description["kind"] = rng.choice(KINDS)
    elif how == 4:  # an architecture number made hostile
        paths = numbers_in(description["architecture"])
        where: Any = description["architecture"]
        path = rng.choice(paths)
        for step in path[:-1]:
            where = where[step]
        where[path[-1]] = rng.choice(HOSTILE)
    else:  # bytes of the file flipped, anywhere
        raw = bytearray(join(header, description, tensors))
        for _ in range(rng.randrange(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    return join(header, description, tensors)


def use(model: Any) -> None:
    """A loaded model must work: one prediction of zeros."""
    if isinstance(model, bn.RNN):
        p = model.parameters()
        model.forward(np.zeros((1, 2, p["cell.W"].shape[1] - p["cell.b"].shape[0])))
    elif isinstance(model, bn.Graph):
        model.predict({name: np.zeros((1, dim)) for name, dim in model.inputs.items()})
    elif isinstance(model, bn.Perceptron):
        model.predict(np.zeros((1, model.n_features)))
    else:
        model.predict(np.zeros((1, model.input_dim)))


@pytest.mark.parametrize("seed", range(4))
def test_mutated_files_load_or_raise_model_file_error(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    originals = [(p.name, p.read_bytes()) for p in good_files(tmp_path)]
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(150):
        name, data = rng.choice(originals)
        mutated = mutate(data, rng)
        path = tmp_path / f"mutant_{i}.safetensors"
        path.write_bytes(mutated)
        try:
            model = bn.load(path)
        except bn.ModelFileError:
            outcomes["refused"] += 1
            continue
        except Exception as error:  # noqa: BLE001 -- what the test exists to find
            pytest.fail(f"mutant {i} of {name} (seed {seed}) raised {type(error).__name__}: "
                        f"{error}\nheader: {mutated[:400]!r}")
        use(model)
        outcomes["loaded"] += 1
    # Both outcomes occur, or the mutations are too tame or too wild to test anything.
    assert outcomes["loaded"] > 0 and outcomes["refused"] > 0, outcomes
