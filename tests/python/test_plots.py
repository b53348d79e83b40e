"""The plotting helpers write real PNG pictures, and refuse what they cannot draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import blasnet as bn
import json

from blasnet import cli
from blasnet.plots import plot_bench, plot_decision_regions, plot_history, plot_timings

PNG = b"\x89PNG\r\n\x1a\n"


def test_history_plot_is_a_png(tmp_path: Path) -> None:
    X, y = bn.datasets.cake(n_samples=200, seed=0)
    net = bn.Sequential([bn.Dense(8, activation="tanh"), bn.Dense(2, activation="softmax")],
                        input_dim=2, seed=0)
    history = net.fit(X, y, "softmax_cross_entropy", bn.SGD(lr=0.1), epochs=20,
                      validation_fraction=0.2, early_stopping=bn.EarlyStopping(patience=5))
    path = tmp_path / "loss.png"
    plot_history(history, path)
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000


def test_decision_regions_show_what_the_model_learned(tmp_path: Path) -> None:
    """Two pictures of the cake: an untrained and a trained network draw different regions."""
    X, y = bn.datasets.cake(n_samples=200, seed=0)
    net = bn.Sequential([bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0)
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    plot_decision_regions(net, X, y, before, title="untrained")
    net.fit(X, y.reshape(-1, 1).astype(float), "binary_cross_entropy", bn.SGD(lr=0.5), epochs=30)
    plot_decision_regions(net, X, y, after, title="the note's cake")
    assert before.read_bytes().startswith(PNG) and after.read_bytes().startswith(PNG)
    assert before.read_bytes() != after.read_bytes()


def test_decision_regions_of_a_softmax_classifier(tmp_path: Path) -> None:
    X, y = bn.datasets.xor()
    net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(2, activation="softmax")],
                        input_dim=2, seed=0)
    plot_decision_regions(net, X, y, tmp_path / "xor.png", resolution=50)
    assert (tmp_path / "xor.png").read_bytes().startswith(PNG)


def test_bad_input_is_refused(tmp_path: Path) -> None:
    net = bn.Sequential([bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\)"):
        plot_decision_regions(net, np.zeros((4, 3)), np.zeros(4), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        plot_decision_regions(net, np.zeros((4, 2)), np.zeros(3), tmp_path / "x.png")
    with pytest.raises(ValueError, match="no epochs"):
        plot_history(bn.History(), tmp_path / "h.png")
    assert not list(tmp_path.iterdir())


def test_timings_plot_is_a_png(tmp_path: Path) -> None:
    plot_timings(["xor", "cake"], {"blasnet": [0.01, 0.005], "NumPy": [0.1, 2.0]},
                 tmp_path / "t.png", title="demo")
    assert (tmp_path / "t.png").read_bytes().startswith(PNG)


def test_timings_plot_refuses_bad_times(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NumPy: 1 times for 2 labels"):
        plot_timings(["a", "b"], {"NumPy": [0.1]}, tmp_path / "t.png")
    with pytest.raises(ValueError, match="positive and finite"):
        plot_timings(["a"], {"blasnet": [float("nan")]}, tmp_path / "t.png")
    assert not list(tmp_path.iterdir())


def test_bench_json_and_plot_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """blasnet bench --json writes the results; plot_bench draws them from the file or a dict,
    and --plot draws them at once."""
    results, picture = tmp_path / "bench.json", tmp_path / "direct.png"
    assert cli.main(["bench", "--configs", "xor", "--implementations", "blasnet", "numpy",
                     "--seconds", "0.05", "--json", str(results), "--plot", str(picture)]) == 0
    assert f"wrote {picture}" in capsys.readouterr().out
    data = json.loads(results.read_text())
    assert [case["config"] for case in data["cases"]] == ["xor"]
    assert set(data["cases"][0]["implementations"]) == {"blasnet", "numpy"}
    assert picture.read_bytes().startswith(PNG)
    plot_bench(results, tmp_path / "from_file.png")
    plot_bench(data, tmp_path / "from_dict.png", threads=1)
    assert (tmp_path / "from_file.png").read_bytes().startswith(PNG)
    assert (tmp_path / "from_dict.png").read_bytes().startswith(PNG)
