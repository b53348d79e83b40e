#!/usr/bin/env python3
"""Writes the handcrafted model files under tests/data: bad_models/, each of which
blasnet::load must refuse with a ModelFileError; bad_python_models/, valid to blasnet::load
(which reads every file as a graph) but whose kind or "extra" arguments blasnet.load in Python
must refuse with a ModelFileError; and good_models/handwritten_adam.safetensors, a valid file
written without blasnet.

Each folder's expected_errors.txt maps each bad file to a phrase its error message must contain.
Only the standard library is used; the output is deterministic. Run from anywhere:

    python3 tests/data/make_bad_models.py
"""

from __future__ import annotations

import copy
import json
import random
import struct
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_models"
BAD_PYTHON = HERE / "bad_python_models"
GOOD = HERE / "good_models"

# The base model: x (3) -> h (4, tanh) -> y (2, identity), mse on y, float32, with Adam's state.
PARAMETERS: List[Tuple[str, List[int]]] = [("h.W", [4, 3]), ("h.b", [4]), ("y.W", [2, 4]), ("y.b", [2])]
COUNT = sum(s[0] * (s[1] if len(s) > 1 else 1) for _, s in PARAMETERS)  # 26


def base_description() -> Dict[str, Any]:
    return {
        "format_version": 1,
        "kind": "sequential",
        "dtype": "float32",
        "architecture": {
            "inputs": [{"name": "x", "dim": 3}],
            "nodes": [
                {"name": "h", "inputs": ["x"], "units": 4, "activation": "tanh",
                 "share": "", "transpose": False, "dropout": 0.0},
                {"name": "y", "inputs": ["h"], "units": 2, "activation": "identity",
                 "share": "", "transpose": False, "dropout": 0.0},
            ],
            "outputs": [{"node": "y", "loss": "mse", "weight": 1.0, "target": ""}],
        },
        "optimizer": {
            "name": "Adam", "lr": 0.001,
            "hyperparameters": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-08, "weight_decay": 0.0},
            "steps": 3, "state": ["m", "v"],
        },
        "extra": {},
    }


def base_tensors() -> List[Tuple[str, List[int], bytes]]:
    """(name, shape, float32 little-endian bytes) in file order."""
    tensors = []
    k = 0
    for name, shape in PARAMETERS:
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        tensors.append((name, shape, struct.pack(f"<{n}f", *[(k + i) % 7 * 0.25 - 0.75 for i in range(n)])))
        k += n
    tensors.append(("__optimizer__.m", [COUNT], struct.pack(f"<{COUNT}f", *[i * 0.01 for i in range(COUNT)])))
    tensors.append(("__optimizer__.v", [COUNT], struct.pack(f"<{COUNT}f", *[i * 1e-4 for i in range(COUNT)])))
    return tensors


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def header_of(description: Any, tensors: List[Tuple[str, List[int], bytes]], dtype: str = "F32") -> Dict[str, Any]:
    header: Dict[str, Any] = {"__metadata__": {"format": "blasnet", "blasnet": dumps(description)}}
    offset = 0
    for name, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    return header


def pack(header_text: str | bytes, data: bytes) -> bytes:
    raw = header_text.encode() if isinstance(header_text, str) else header_text
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def model(description: Any = None, tensors: Any = None,
          edit_header: Callable[[Dict[str, Any]], None] | None = None, extra_data: bytes = b"") -> bytes:
    description = base_description() if description is None else description
    tensors = base_tensors() if tensors is None else tensors
    header = header_of(description, tensors)
    if edit_header is not None:
        edit_header(header)
    return pack(dumps(header), b"".join(t[2] for t in tensors) + extra_data)


def described(edit: Callable[[Dict[str, Any]], None]) -> bytes:
    d = base_description()
    edit(d)
    return model(description=d)


def tensor_edit(name: str, key: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def edit(header: Dict[str, Any]) -> None:
        header[name][key] = value
    return edit


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def python_kind(kind: str, inputs: List[Tuple[str, int]], nodes: List[Tuple[str, List[str], int, str]],
                extra: Dict[str, Any]) -> bytes:
    """A float32 model of the given kind without optimizer: inputs (name, dim), nodes (name, inputs,
    units, activation), an mse output on the last node."""
    dims = dict(inputs)
    tensors = []
    for name, sources, units, _ in nodes:
        n_in = sum(dims[s] for s in sources)
        dims[name] = units
        tensors.append((f"{name}.W", [units, n_in], struct.pack(f"<{units * n_in}f", *[0.125] * (units * n_in))))
        tensors.append((f"{name}.b", [units], struct.pack(f"<{units}f", *[0.0] * units)))
    description = base_description()
    description.update(kind=kind, optimizer=None, extra=extra)
    description["architecture"] = {
        "inputs": [{"name": n, "dim": d} for n, d in inputs],
        "nodes": [{"name": n, "inputs": i, "units": u, "activation": a, "share": "", "transpose": False,
                   "dropout": 0.0} for n, i, u, a in nodes],
        "outputs": [{"node": nodes[-1][0], "loss": "mse", "weight": 1.0, "target": ""}],
    }
    return model(description=description, tensors=tensors)


def rnn_extra(**changes: Any) -> Dict[str, Any]:
    """The extra of an RNN(n_features=2, hidden=3, n_outputs=1) in float32, changed."""
    extra: Dict[str, Any] = {"n_features": 2, "hidden": 3, "n_outputs": 1, "activation": "tanh",
                             "output_activation": "identity", "loss": "mse", "head": "last",
                             "dtype": "float32", "seed": 0}
    extra.update(changes)
    return {k: v for k, v in extra.items() if v is not None}


def rnn(**changes: Any) -> bytes:
    return python_kind("rnn", [("h0", 3), ("x1", 2)],
                       [("cell", ["x1", "h0"], 3, "tanh"), ("head", ["cell"], 1, "identity")],
                       rnn_extra(**changes))


def perceptron(extra: Dict[str, Any], activation: str = "step") -> bytes:
    return python_kind("perceptron", [("x", 2)], [("perceptron", ["x"], 1, activation)], extra)


def python_cases() -> Dict[str, Tuple[bytes, str]]:
    """Files of the Python-side kinds whose "extra" or kind blasnet.load must refuse."""
    cases: Dict[str, Tuple[bytes, str]] = {}

    def case(name: str, data: bytes, expected: str) -> None:
        cases[name] = (data, expected)

    not_unrolling = "not the one-step unrolling of the RNN its arguments describe"
    # The review's files: sizes that overflow, and sizes that would allocate 5 GB.
    case("rnn_sizes_overflow", rnn(n_features=2**33 - 2, hidden=2**33), not_unrolling)
    case("rnn_sizes_5gb", rnn(n_features=32768, hidden=8192), not_unrolling)
    case("rnn_n_outputs_differs", rnn(n_outputs=2), not_unrolling)
    case("rnn_activation_differs", rnn(activation="relu"), not_unrolling)
    case("rnn_loss_differs", rnn(loss="binary_cross_entropy"), not_unrolling)
    case("rnn_not_an_rnn_graph", python_kind("rnn", [("x", 3)], [("h", ["x"], 4, "tanh"), ("y", ["h"], 2, "identity")],
                                             rnn_extra()), not_unrolling)
    case("rnn_hidden_string", rnn(hidden="3"), "hidden must be an integer")
    case("rnn_hidden_true", rnn(hidden=True), "hidden must be an integer")
    case("rnn_hidden_float", rnn(hidden=3.0), "hidden must be an integer")
    case("rnn_hidden_huge_float", rnn(hidden=2**70), "hidden must be an integer")
    case("rnn_hidden_zero", rnn(hidden=0), "hidden must be at least 1")
    case("rnn_n_features_negative", rnn(n_features=-2), "n_features must be at least 1")
    case("rnn_missing_hidden", rnn(hidden=None), "lack 'hidden'")
    case("rnn_unknown_key", rnn(bias=True), "unknown keys ['bias']")
    case("rnn_head_unknown", rnn(head="first"), "head must be one of")
    case("rnn_head_list", rnn(head=["last"]), "head must be one of")
    case("rnn_activation_number", rnn(activation=5), "activation must be a string")
    case("rnn_dtype_differs", rnn(dtype="float64"), "its dtype is float32, not float64")
    case("rnn_dtype_unknown", rnn(dtype="int8"), "dtype must be one of")
    case("rnn_seed_negative", rnn(seed=-1), "seed must be at least 0")
    case("rnn_seed_too_large", rnn(seed=2**64), "seed must be")
    case("rnn_seed_string", rnn(seed="0"), "seed must be an integer")
    case("perceptron_lr_negative", perceptron({"lr": -1.0}), "lr must be positive and finite")
    case("perceptron_lr_string", perceptron({"lr": "fast"}), "lr must be a real number")
    case("perceptron_seed_float", perceptron({"seed": 1.5}), "seed must be an integer")
    case("perceptron_unknown_key", perceptron({"eta": 1.0}), "unknown keys ['eta']")
    case("perceptron_not_step", perceptron({}, activation="tanh"), "a perceptron is one node 'perceptron'")
    case("sequential_classes_too_few", python_kind("sequential", [("x", 3)], [("y", ["x"], 2, "identity")],
                                                   {"classes": ["a"]}), "classes")
    case("sequential_seed_string", python_kind("sequential", [("x", 3)], [("y", ["x"], 2, "identity")],
                                               {"seed": "zero"}), "seed must be an integer")
    case("graph_seed_list", python_kind("graph", [("x", 3)], [("y", ["x"], 2, "identity")], {"seed": [1]}),
         "seed must be an integer")
    case("svm_unknown_kind", python_kind("svm", [("x", 3)], [("y", ["x"], 2, "identity")], {}),
         "not a model blasnet can rebuild")
    return cases


def write_corpus(folder: Path, cases: Dict[str, Tuple[bytes, str]]) -> None:
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.safetensors"):
        old.unlink()
    lines = []
    for name, (data, expected) in sorted(cases.items()):
        (folder / f"{name}.safetensors").write_bytes(data)
        lines.append(f"{name}.safetensors\t{expected}\n")
    (folder / "expected_errors.txt").write_text("".join(lines))


def main() -> None:
    good = model()
    header_len = struct.unpack("<Q", good[:8])[0]
    cases: Dict[str, Tuple[bytes, str]] = {}

    def case(name: str, data: bytes, expected: str) -> None:
        cases[name] = (data, expected)

    # The container.
    case("empty", b"", "starts with an 8-byte header length")
    case("truncated_length", good[:5], "starts with an 8-byte header length")
    case("truncated_header", good[: 8 + header_len // 2], "but only")
    case("truncated_data", good[:-10], "outside the data region")
    case("random_bytes", random.Random(0).randbytes(256), "claims a header of")
    case("header_longer_than_file", struct.pack("<Q", len(good)) + good[8:], "but only")
    case("huge_header_claim", struct.pack("<Q", 1 << 60) + good[8:], "the limit is 100000000")
    case("invalid_json", pack("{not json", b""), "the header is not valid JSON")
    case("header_trailing_garbage", pack('{"__metadata__":{}} x', b""), "the header is not valid JSON")
    case("not_utf8", pack(b'{"\xff\xfe":1}', b""), "the header is not valid JSON")
    case("json_not_object", pack("[1,2,3]", b""), "header that is not a JSON object")
    case("deep_nesting", pack(dumps(nested(200)), b""), "nests deeper than 64")
    case("duplicate_key", pack(dumps(header_of(base_description(), base_tensors()))[:-1] +
                               ',"h.b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', b""),
         "repeats the key 'h.b'")
    # __metadata__.
    case("no_metadata", model(edit_header=lambda h: h.pop("__metadata__")), "has no __metadata__")
    case("metadata_not_string", model(edit_header=lambda h: h["__metadata__"].update(blasnet=base_description())),
         "which is not a string")
    case("metadata_not_blasnet", model(edit_header=lambda h: h.update(__metadata__={"format": "pt"})),
         "no blasnet description")
    case("metadata_invalid_json", model(edit_header=lambda h: h["__metadata__"].update(blasnet="{")),
         "the blasnet metadata is not valid JSON")
    case("wrong_version", described(lambda d: d.update(format_version=2)), "has format version 2")
    case("missing_version", described(lambda d: d.pop("format_version")), 'has no "format_version"')
    case("unknown_metadata_key", described(lambda d: d.update(comment="hi")), "unknown key 'comment'")
    case("model_dtype_unknown", described(lambda d: d.update(dtype="float16")), "float32 or float64")
    case("extra_not_object", described(lambda d: d.update(extra=[1])), '"extra" that is not a JSON object')
    # The architecture.
    nodes = lambda d: d["architecture"]["nodes"]  # noqa: E731
    case("unknown_activation", described(lambda d: nodes(d)[0].update(activation="swish")),
         "unknown activation 'swish'")
    case("unknown_loss", described(lambda d: d["architecture"]["outputs"][0].update(loss="hinge")),
         "unknown loss 'hinge'")
    case("cycle", described(lambda d: nodes(d)[0].update(inputs=["y"])), "form a cycle")
    case("unknown_node_key", described(lambda d: nodes(d)[0].update(bias=True)), "unknown key 'bias'")
    case("zero_units", described(lambda d: nodes(d)[0].update(units=0)), "sizes must be in [1, 2^31)")
    case("huge_units", described(lambda d: nodes(d)[0].update(units=1 << 40)), "sizes must be in [1, 2^31)")
    case("negative_units", described(lambda d: nodes(d)[0].update(units=-4)), "not a non-negative integer")
    case("dropout_on_output", described(lambda d: nodes(d)[1].update(dropout=0.5)), "dropout belongs on hidden")
    case("output_names_no_node", described(lambda d: d["architecture"]["outputs"][0].update(node="z")),
         "names no node")
    # The tensors.
    case("unknown_dtype", model(edit_header=tensor_edit("h.W", "dtype", "Q7")), "has dtype 'Q7'")
    case("wrong_dtype", model(edit_header=tensor_edit("h.W", "dtype", "F64")), "has dtype 'F64'")
    case("shape_mismatch", model(edit_header=tensor_edit("h.W", "shape", [3, 4])),
         "the architecture needs [4, 3]")
    case("shape_size_mismatch", model(edit_header=tensor_edit("h.W", "shape", [4, 4])),
         "data_offsets spanning 48 bytes")
    case("overlapping_offsets", model(edit_header=tensor_edit("h.b", "data_offsets", [40, 56])), "overlap")
    case("offsets_outside_data", model(edit_header=tensor_edit("h.W", "data_offsets", [0, 10**12])),
         "outside the data region")
    case("offsets_reversed", model(edit_header=tensor_edit("h.W", "data_offsets", [48, 0])),
         "outside the data region")
    case("negative_offset", model(edit_header=tensor_edit("h.W", "data_offsets", [-4, 44])),
         "not two non-negative integers")
    case("float_offset", model(edit_header=tensor_edit("h.W", "data_offsets", [0.0, 48.0])),
         "not two non-negative integers")
    case("three_offsets", model(edit_header=tensor_edit("h.W", "data_offsets", [0, 24, 48])),
         "not two non-negative integers")

    def gap(header: Dict[str, Any]) -> None:
        for name, entry in header.items():
            if name != "__metadata__":
                entry["data_offsets"] = [o + 8 for o in entry["data_offsets"]]
    tensors = base_tensors()
    case("gap_before_tensor", pack(dumps(_edited(header_of(base_description(), tensors), gap)),
                                   bytes(8) + b"".join(t[2] for t in tensors)), "belong to no tensor")
    case("leftover_bytes", model(extra_data=bytes(8)), "the last 8 bytes of the file belong to no tensor")
    case("missing_tensor", model(tensors=[t for t in base_tensors() if t[0] != "y.b"]), "has no tensor 'y.b'")
    case("extra_tensor", model(tensors=base_tensors() + [("z.W", [2], bytes(8))]),
         "neither a parameter of the architecture nor an optimizer buffer")
    nan_weight = [(n, s, struct.pack("<f", float("nan")) + d[4:]) if n == "h.W" else (n, s, d)
                  for n, s, d in base_tensors()]
    case("nan_weight", model(tensors=nan_weight), "tensor 'h.W' holds NaN or Inf")
    inf_moment = [(n, s, d[:-4] + struct.pack("<f", float("inf"))) if n == "__optimizer__.v" else (n, s, d)
                  for n, s, d in base_tensors()]
    case("inf_optimizer_moment", model(tensors=inf_moment), "tensor '__optimizer__.v' holds NaN or Inf")
    # The optimizer.
    short_m = [(n, [COUNT - 1], d[:-4]) if n == "__optimizer__.m" else (n, s, d) for n, s, d in base_tensors()]
    case("optimizer_buffer_wrong_length", model(tensors=short_m), "the optimizer needs [26]")
    optimizer = lambda d: d["optimizer"]  # noqa: E731
    case("optimizer_unknown", described(lambda d: optimizer(d).update(name="RMSprop")),
         "unknown optimizer 'RMSprop'")
    case("optimizer_bad_hyperparameter",
         described(lambda d: optimizer(d)["hyperparameters"].update(beta_1=1.5)), "beta_1 must be in [0, 1)")
    case("optimizer_lr_negative", described(lambda d: optimizer(d).update(lr=-0.5)), "finite and non-negative")
    d = base_description()
    d["optimizer"]["state"] = ["m"]
    case("optimizer_missing_buffer", model(description=d, tensors=[t for t in base_tensors() if t[0] != "__optimizer__.v"]),
         "missing buffer 'v'")
    d = base_description()
    d["optimizer"]["state"] = ["m", "m"]
    case("optimizer_buffer_twice", model(description=d), "lists optimizer buffer 'm' twice")

    write_corpus(BAD, cases)
    python = python_cases()
    write_corpus(BAD_PYTHON, python)
    GOOD.mkdir(exist_ok=True)
    (GOOD / "handwritten_adam.safetensors").write_bytes(good)
    print(f"wrote {len(cases)} bad models to {BAD}, {len(python)} to {BAD_PYTHON} and 1 good model "
          f"to {GOOD}")


def _edited(header: Dict[str, Any], edit: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    header = copy.deepcopy(header)
    edit(header)
    return header


if __name__ == "__main__":
    main()
