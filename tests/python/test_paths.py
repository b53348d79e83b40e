"""Paths: a NUL byte, which the system would cut the path at ("fresh\\0.safetensors" saved as
``fresh``), is refused with a ValueError naming it by every function that takes a path, and
nothing is written or read."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet import _core, cli
from blasnet._paths import checked_path

NUL_MESSAGE = r"holds a NUL byte \(at index \d+\), which no file name can hold"


def test_checked_path_gives_the_text_of_any_path() -> None:
    assert checked_path("a/b.safetensors") == "a/b.safetensors"
    assert checked_path(Path("a") / "b") == os.path.join("a", "b")
    assert checked_path(b"a/b") == "a/b"
    with pytest.raises(TypeError):
        checked_path(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["fresh\0.safetensors", "\0", b"fresh\0x", Path("dir\0/m")])
def test_checked_path_refuses_a_nul_byte_and_says_where(path: Any) -> None:
    with pytest.raises(ValueError, match=NUL_MESSAGE) as info:
        checked_path(path)
    text = os.fsdecode(path)
    assert repr(text) in str(info.value)
    assert f"at index {text.index(chr(0))})" in str(info.value)


def _savers() -> dict[str, Callable[[str], None]]:
    net = bn.Sequential([bn.Dense(2)], input_dim=2)
    g = bn.Graph()
    g.output(g.dense(g.input("x", 2), 1, name="y"), "mse")
    rnn = bn.RNN(n_features=2, hidden=2, n_outputs=1)
    perceptron = bn.Perceptron(2)
    history = bn.History(loss=[0.5, 0.25])

    def plot(path: str) -> None:
        pytest.importorskip("matplotlib")
        from blasnet.plots import plot_history

        plot_history(history, path)

    def export(path: str) -> None:
        pytest.importorskip("onnx")
        net.to_onnx(path)

    return {"Sequential.save": net.save, "Graph.save": g.save, "RNN.save": rnn.save,
            "Perceptron.save": perceptron.save, "load": bn.load, "to_onnx": export,
            "plot_history": plot}


@pytest.mark.parametrize("name", sorted(_savers()))
def test_every_function_taking_a_path_refuses_a_nul_byte(name: str, tmp_path: Path) -> None:
    (tmp_path / "fresh").write_bytes(b"kept")
    with pytest.raises(ValueError, match=NUL_MESSAGE):
        _savers()[name](str(tmp_path / "fresh\0.safetensors"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
    assert (tmp_path / "fresh").read_bytes() == b"kept"


def test_the_core_refuses_a_nul_byte_too(tmp_path: Path) -> None:
    """What the C++ library gets as a std::string holding a NUL is refused there, not cut."""
    net = bn.Sequential([bn.Dense(2)], input_dim=2)
    net.save(tmp_path / "fresh")
    path = str(tmp_path / "fresh\0.safetensors")
    with pytest.raises(bn.ModelFileError, match=r"fresh\\x00\.safetensors': the path holds a NUL"):
        _core.load_model(path)
    with pytest.raises(bn.ModelFileError, match="the path holds a NUL byte"):
        _core.save_graph(net.core, path, "sequential", None, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]


def _exit_status(argv: list[str]) -> int | str | None:
    """main's status, whether it returns it or argparse exits with it while parsing."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code


def test_the_command_line_refuses_a_nul_byte_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,y\n" + "".join(f"{v},{v % 2}\n" for v in range(8)))
    model = tmp_path / "m.safetensors"
    bn.Sequential([bn.Dense(2, activation="softmax")], input_dim=1).save(model)
    for argv in (["train", f"{data}\0x", "--target", "y", "--out", str(model)],
                 ["train", str(data), "--target", "y", "--out", f"{model}\0x", "--epochs", "1"],
                 ["predict", f"{model}\0x", str(data), "--target", "y"],
                 ["predict", str(model), str(data), "--target", "y", "--out", f"{data}\0x"]):
        assert _exit_status(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "holds a NUL byte" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "m.safetensors"]
    assert np.isfinite(bn.load(model).predict(np.ones((1, 1)))).all()
