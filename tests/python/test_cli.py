"""The ``blasnet`` command: the demo trains the note's examples, --help works everywhere."""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import blasnet as bn
from blasnet import cli, demo


def test_demo_learns_xor_the_cake_and_the_digits_beside_numpy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo solves XOR, cuts the cake close to the note's knife, reads the held-out digits,
    tabulates blasnet's and the NumPy reference's accuracies and times, and writes the PNGs
    where it says."""
    assert cli.main(["demo", "--plots", str(tmp_path / "pictures")]) == 0
    out = capsys.readouterr().out
    assert "XOR (Figure 4)" in out and "Cake (Figure 1)" in out and "Digits (UCI" in out
    xor_section, rest = out.split("Cake (Figure 1)")
    assert "y = 0.99" in xor_section and "learned knife: +1.00·x1 +" in rest
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split()[:1] in (["xor"], ["cake"], ["digits"])}
    assert rows["xor"][1] == "100.0%" and rows["xor"][6] == "100.0%"
    for name, (blasnet, numpy_reference) in {"cake": (0.95, 0.95),
                                             "digits": (0.93, 0.93)}.items():
        assert float(rows[name][1].rstrip("%")) / 100 > blasnet
        assert float(rows[name][6].rstrip("%")) / 100 > numpy_reference
    for row in rows.values():
        assert row[-1].endswith("×") and float(row[-1].rstrip("×")) > 0
    folder = (tmp_path / "pictures").resolve()
    assert f"Pictures written to {folder}" in out
    names = ["xor_regions.png", "cake_regions.png", "digits_loss.png", "timings.png"]
    for name in names:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and name in out


def test_demo_results_match_the_numbers_it_prints() -> None:
    """run() returns what it printed: the reference took the same steps, more slowly or not."""
    results = demo.run(io.StringIO(), seed=2)
    assert [r.name for r in results] == ["xor", "cake", "digits"]
    assert [r.steps for r in results] == [2000, 4000, 30 * 43]
    for r in results:
        assert r.speedup == pytest.approx(r.numpy_seconds / r.seconds)
        assert 0.0 <= r.accuracy <= 1.0 and np.isfinite(r.loss)


def test_demo_in_float32_without_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--dtype", "float32", "--seed", "1", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and "Pictures" not in out and not list(tmp_path.iterdir())


def test_demo_without_matplotlib_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None
                        if name == "matplotlib" else real_find_spec(name, *args))
    assert cli.main(["demo", "--plots", str(tmp_path / "none")]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["info", "--help"],
                                  ["bench", "--help"], ["train", "--help"],
                                  ["predict", "--help"], ["evaluate", "--help"],
                                  ["export", "--help"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    assert "usage: blasnet" in capsys.readouterr().out


def test_bad_arguments_exit_nonzero_with_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--seed", "-3"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "blasnet demo: error: argument --seed: must be at least 0, got -3 "
        "(see blasnet demo --help)"]


def test_info_names_the_blas(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    assert "OpenBLAS" in capsys.readouterr().out


def test_console_script_and_module_entry_point() -> None:
    """``python -m blasnet`` runs the same command line."""
    done = subprocess.run([sys.executable, "-m", "blasnet", "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("blasnet ")


def test_cmake_dir_points_at_the_installed_cmake_package() -> None:
    """`python -m blasnet --cmake-dir` prints the folder of blasnetConfig.cmake, beside the
    headers and the static library that the wheel carries."""
    result = subprocess.run(
        [sys.executable, "-m", "blasnet", "--cmake-dir"], capture_output=True, text=True, check=True
    )
    folder = Path(result.stdout.strip())
    assert folder == cli.cmake_dir()
    assert (folder / "blasnetConfig.cmake").is_file()
    assert (folder / "blasnetConfigVersion.cmake").is_file()
    package = folder.parent
    assert (package / "include" / "blasnet" / "blasnet.hpp").is_file()
    assert list((package / "lib").glob("libblasnet.a"))


# --- train, predict, evaluate -------------------------------------------------------------


@pytest.fixture
def cake_csv(tmp_path: Path) -> Path:
    """The two-class cake as CSV, the label between the two feature columns."""
    X, y = bn.datasets.cake(n_samples=120, spread=0.3, seed=0)
    path = tmp_path / "cake.csv"
    rows = "".join(f"{float(a)!r},{label},{float(b)!r}\n" for (a, b), label in zip(X, y))
    path.write_text("x1,label,x2\n" + rows)
    return path


@pytest.fixture
def line_npz(tmp_path: Path) -> Path:
    """A regression: y = 2·x1 − x2 as arrays X and y."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(80, 2))
    path = tmp_path / "line.npz"
    np.savez(path, X=X, y=2 * X[:, 0] - X[:, 1])
    return path


def _train_cake(cake_csv: Path, model: Path, *extra: str) -> int:
    return cli.main(["train", str(cake_csv), "--target", "label", "--out", str(model),
                     "--hidden", "8", "--lr", "0.05", "--epochs", "30", *extra])


def test_train_writes_a_classifier_and_prints_a_table(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "cake.safetensors"
    assert _train_cake(cake_csv, model) == 0
    out = capsys.readouterr().out
    assert "classifier of 2 classes on 120 samples of 2 features" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "loss"])
    assert [line.split()[0] for line in lines[header + 1:header + 31]] == [
        str(k) for k in range(1, 31)]
    net = bn.load(model)
    assert isinstance(net, bn.Sequential)
    assert [layer[1:] for layer in net.layers] == [(2, 8, "relu"), (8, 2, "softmax")]
    assert net.optimizer is not None and net.optimizer.steps > 0


def test_predict_writes_one_row_per_sample(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, preds = tmp_path / "cake.safetensors", tmp_path / "preds.csv"
    assert _train_cake(cake_csv, model, "--progress") == 0
    capsys.readouterr()
    assert cli.main(["predict", str(model), str(cake_csv), "--target", "label",
                     "--out", str(preds), "--proba"]) == 0
    lines = preds.read_text().splitlines()
    assert lines[0] == "label,p_0,p_1" and len(lines) == 1 + 120
    table = np.loadtxt(preds, delimiter=",", skiprows=1)
    truth = np.loadtxt(cake_csv, delimiter=",", skiprows=1)[:, 1]
    assert np.allclose(table[:, 1] + table[:, 2], 1.0, atol=1e-5)
    assert np.array_equal(table[:, 0], np.argmax(table[:, 1:], axis=1))
    assert np.mean(table[:, 0] == truth) > 0.95  # well-separated cake, 30 epochs
    # Without --out, the same labels go to stdout.
    assert cli.main(["predict", str(model), str(cake_csv), "--target", "label"]) == 0
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0] == "label" and [int(v) for v in stdout[1:]] == table[:, 0].astype(int).tolist()


def test_evaluate_prints_accuracy_and_confusion_matrix(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "cake.safetensors"
    assert _train_cake(cake_csv, model) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), str(cake_csv), "--target", "label"]) == 0
    out = capsys.readouterr().out
    net = bn.load(model)
    assert isinstance(net, bn.Sequential)
    data = np.loadtxt(cake_csv, delimiter=",", skiprows=1)
    X, y = data[:, [0, 2]], data[:, 1].astype(np.int64)
    predicted = np.argmax(net.predict(X), axis=1)
    loss = net.evaluate(X, y, "softmax_cross_entropy")
    assert f"loss (softmax_cross_entropy): {loss:.6g}" in out
    assert f"accuracy: {np.mean(predicted == y):.4f}" in out
    table = out.split("columns: predicted):\n")[1].splitlines()
    assert table[0].split() == ["0", "1"]
    confusion = [[int(n) for n in row.split()[1:]] for row in table[1:3]]
    expected = [[int(np.sum((y == i) & (predicted == j))) for j in range(2)] for i in range(2)]
    assert confusion == expected and sum(map(sum, confusion)) == 120


def test_regression_from_npz(
    line_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "line.safetensors"
    assert cli.main(["train", str(line_npz), "--target", "y", "--out", str(model),
                     "--hidden", "", "--lr", "0.1", "--epochs", "200", "--validation", "0",
                     "--optimizer", "sgd", "--momentum", "0.5"]) == 0
    assert "regressor of 1 output" in capsys.readouterr().out
    net = bn.load(model)
    assert isinstance(net, bn.Sequential)
    assert net.layers[-1][3] == "identity"
    assert np.allclose(net.parameters()["0.W"], [[2.0, -1.0]], atol=1e-3)
    assert cli.main(["evaluate", str(model), str(line_npz), "--target", "y"]) == 0
    out = capsys.readouterr().out
    rmse = float(out.split("RMSE: ")[1].split()[0])
    assert rmse < 1e-3 and "loss (mse)" in out and "accuracy" not in out
    assert cli.main(["predict", str(model), str(line_npz)]) == 0
    lines = capsys.readouterr().out.splitlines()
    with np.load(line_npz) as data:
        y = data["y"]
    assert lines[0] == "prediction" and np.allclose([float(v) for v in lines[1:]], y, atol=1e-3)


def test_classes_by_name_are_kept_in_the_model_file(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Labels "cherry"/"chocolate" train a classifier that predicts and evaluates by name."""
    lines = cake_csv.read_text().splitlines()
    named = tmp_path / "named.csv"
    named.write_text("\n".join([lines[0]] + [
        line.replace(",0,", ",cherry,").replace(",1,", ",chocolate,") for line in lines[1:]]))
    model = tmp_path / "named.safetensors"
    assert _train_cake(named, model) == 0
    net = bn.load(model)
    assert isinstance(net, bn.Sequential) and net.classes == ["cherry", "chocolate"]
    capsys.readouterr()
    assert cli.main(["predict", str(model), str(named), "--target", "label", "--proba"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "label,p_cherry,p_chocolate"
    truth = [line.split(",")[1] for line in named.read_text().splitlines()[1:]]
    predicted = [row.split(",")[0] for row in out[1:]]
    assert set(predicted) <= {"cherry", "chocolate"}
    assert np.mean([a == b for a, b in zip(predicted, truth)]) > 0.95
    assert cli.main(["evaluate", str(model), str(named), "--target", "label"]) == 0
    table = capsys.readouterr().out.split("columns: predicted):\n")[1].splitlines()
    assert table[0].split() == ["cherry", "chocolate"]
    assert [row.split()[0] for row in table[1:3]] == ["cherry", "chocolate"]


def test_whole_number_classes_need_not_start_at_zero(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Labels 3 and 7 are two classes (not eight), and predictions are 3 or 7."""
    lines = cake_csv.read_text().splitlines()
    shifted = tmp_path / "shifted.csv"
    shifted.write_text("\n".join([lines[0]] + [
        line.replace(",0,", ",3,").replace(",1,", ",7,") for line in lines[1:]]))
    model = tmp_path / "shifted.safetensors"
    assert _train_cake(shifted, model) == 0
    assert "classifier of 2 classes" in capsys.readouterr().out
    net = bn.load(model)
    assert isinstance(net, bn.Sequential) and net.classes == [3, 7] and net.output_dim == 2
    assert cli.main(["predict", str(model), str(shifted), "--target", "label"]) == 0
    assert set(capsys.readouterr().out.splitlines()[1:]) == {"3", "7"}


def test_task_defaults_to_regression_for_real_targets(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x2 is real-valued: --target x2 trains a regressor on x1 and label."""
    assert cli.main(["train", str(cake_csv), "--target", "x2", "--out", str(tmp_path / "m"),
                     "--epochs", "2"]) == 0
    assert "regressor" in capsys.readouterr().out


def _expect_one_line_error(
    argv: list[str], capsys: pytest.CaptureFixture[str], *words: str
) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err_lines = captured.err.splitlines()
    assert len(err_lines) == 1, captured.err
    assert err_lines[0].startswith("blasnet: error: ") and "Traceback" not in captured.err
    for word in words:
        assert word in err_lines[0]


def test_bad_inputs_give_one_line_and_exit_2(
    cake_csv: Path, line_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "cake.safetensors"
    assert _train_cake(cake_csv, model, "--epochs", "2") == 0
    capsys.readouterr()
    out = str(tmp_path / "never.safetensors")
    missing = str(tmp_path / "missing.csv")
    _expect_one_line_error(["train", missing, "--target", "label", "--out", out], capsys,
                           "missing.csv")
    _expect_one_line_error(["train", str(cake_csv), "--target", "colour", "--out", out],
                           capsys, "no column 'colour'", "x1, label, x2")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,label,x2\n0.5,1,0.25\n0.5,0,cherry\n")
    _expect_one_line_error(["train", str(bad), "--target", "label", "--out", out], capsys,
                           "line 3", "'x2'", "'cherry' is not a number")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x1,label,x2\n0.5,1\n")
    _expect_one_line_error(["train", str(ragged), "--target", "label", "--out", out], capsys,
                           "line 2", "2 cells")
    named = tmp_path / "named.csv"
    named.write_text("x1,flavour\n0.5,cherry\n0.25,chocolate\n")
    _expect_one_line_error(["train", str(named), "--target", "flavour", "--task", "regress",
                            "--out", out], capsys, "holds names", "--task classify")
    one_class = tmp_path / "one_class.csv"
    one_class.write_text("x1,flavour\n0.5,cherry\n0.25,cherry\n")
    _expect_one_line_error(["train", str(one_class), "--target", "flavour", "--out", out],
                           capsys, "at least 2 classes", "cherry")
    _expect_one_line_error(["train", str(line_npz), "--target", "z", "--out", out], capsys,
                           "no array 'z'")
    not_npz = tmp_path / "text.npz"
    not_npz.write_text("hello")
    _expect_one_line_error(["train", str(not_npz), "--target", "y", "--out", out], capsys,
                           "not a readable NPZ")
    assert not Path(out).exists()
    # The target column left in: three features for a model of two.
    _expect_one_line_error(["predict", str(model), str(cake_csv)], capsys,
                           "3 feature columns", "expects 2")
    _expect_one_line_error(["evaluate", str(model), str(cake_csv), "--target", "x1"], capsys,
                           "are not among the model's 0, 1")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(model.read_bytes()[:40])
    _expect_one_line_error(["predict", str(corrupt), str(cake_csv), "--target", "label"], capsys,
                           "corrupt.safetensors")
    _expect_one_line_error(["evaluate", str(cake_csv), str(cake_csv), "--target", "label"],
                           capsys, "cake.csv")
    _expect_one_line_error(["predict", str(tmp_path / "none.safetensors"), str(cake_csv)],
                           capsys, "none.safetensors")


def test_missing_target_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "data.csv", "--out", "m"])
    assert exit_info.value.code == 2
    assert "--target" in capsys.readouterr().err


def test_train_and_errors_through_the_module_entry_point(cake_csv: Path, tmp_path: Path) -> None:
    """``python -m blasnet``: a run trains and saves; a bad column is one line, exit 2."""
    model = tmp_path / "m.safetensors"
    done = subprocess.run([sys.executable, "-m", "blasnet", "train", str(cake_csv), "--target",
                           "label", "--out", str(model), "--epochs", "2", "--hidden", "4"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert model.is_file()
    failed = subprocess.run([sys.executable, "-m", "blasnet", "evaluate", str(model),
                             str(cake_csv), "--target", "flavour"], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        f"blasnet: error: {cake_csv}: no column 'flavour' (columns: x1, label, x2)"]


# --- what the data files may hold --------------------------------------------------------


def test_a_non_finite_cell_is_named_by_line_and_column_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(tmp_path / "m.safetensors")
    for cell, column in [("nan", "x2"), ("-inf", "x1"), ("1e400", "y")]:
        data = tmp_path / "d.csv"
        cells = {"x1": "0.5", "x2": "1.5", "y": "2.5"} | {column: cell}
        data.write_text(f"x1,x2,y\n1,2,3\n{cells['x1']},{cells['x2']},{cells['y']}\n4,5,6\n")
        _expect_one_line_error(["train", str(data), "--target", "y", "--out", model], capsys,
                               f"d.csv, line 3, column '{column}': '{cell}' is not a finite")
    # predict ignores the target column, and so its cells
    data.write_text("x1,x2,y\n1,2,3\n0.5,1.5,2.5\n")
    assert cli.main(["train", str(data), "--target", "x1", "--out", model, "--epochs", "1",
                     "--validation", "0", "--task", "regress"]) == 0
    capsys.readouterr()
    data.write_text("x1,x2,y\nnan,2,3\n")
    assert cli.main(["predict", model, str(data), "--target", "x1"]) == 0
    data.write_text("x1,x2,y\n1,nan,3\n")
    _expect_one_line_error(["predict", model, str(data), "--target", "x1"], capsys,
                           "line 2, column 'x2': 'nan'")


def test_npz_non_finite_and_empty_arrays_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(tmp_path / "m.safetensors")
    path = tmp_path / "d.npz"
    np.savez(path, X=np.array([[1.0, 2.0], [3.0, np.inf]]), y=np.array([0, 1]))
    _expect_one_line_error(["train", str(path), "--target", "y", "--out", model], capsys,
                           "array 'X' holds inf at index (1, 1)")
    np.savez(path, X=np.ones((2, 2)), y=np.array([0.5, np.nan]))
    _expect_one_line_error(["train", str(path), "--target", "y", "--out", model], capsys,
                           "array 'y' holds nan at index (1,)")
    np.savez(path, X=np.ones((3, 0)), y=np.array([0, 1, 0]))
    _expect_one_line_error(["train", str(path), "--target", "y", "--out", model], capsys,
                           "got shape (3, 0)")


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "excel.csv"
    data.write_text("label,x1\n0,0.5\n1,1.5\n0,0.25\n1,1.25\n", encoding="utf-8-sig")
    assert data.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert cli.main(["train", str(data), "--target", "label", "--out",
                     str(tmp_path / "m.safetensors"), "--epochs", "1", "--validation", "0"]) == 0
    assert "classifier of 2 classes on 4 samples of 1 features" in capsys.readouterr().out


def test_whole_number_labels_stay_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A uint64 label 2⁶⁴−1 in an NPZ is that class, not -1 nor 2⁶⁴; in a CSV, where labels
    are read as float64, a label beyond 2⁵³ is refused rather than rounded into another."""
    model = tmp_path / "m.safetensors"
    path = tmp_path / "d.npz"
    np.savez(path, X=np.array([[0.0], [1.0], [0.1], [0.9]]),
             y=np.array([0, 2**64 - 1, 0, 2**64 - 1], dtype=np.uint64))
    assert cli.main(["train", str(path), "--target", "y", "--out", str(model), "--epochs", "1",
                     "--validation", "0"]) == 0
    net = bn.load(model)
    assert isinstance(net, bn.Sequential) and net.classes == [0, 2**64 - 1]
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), str(path), "--target", "y"]) == 0
    assert "18446744073709551615" in capsys.readouterr().out
    data = tmp_path / "d.csv"
    data.write_text("x,y\n0,0\n1,18446744073709551615\n0.1,0\n0.9,18446744073709551614\n")
    _expect_one_line_error(["train", str(data), "--target", "y", "--out", str(model)], capsys,
                           "beyond 2**53", "as names")


def test_unknown_classes_are_listed_briefly(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.safetensors"
    assert _train_cake(cake_csv, model, "--epochs", "1") == 0
    capsys.readouterr()
    # x1 as the target: 120 distinct reals, none a class of the model
    data = tmp_path / "d.csv"
    lines = cake_csv.read_text().splitlines()
    data.write_text("x1,label,x2\n" + "\n".join(",".join([row.split(",")[0], "5", row.split(",")[2]])
                                               for row in lines[1:]) + "\n")
    _expect_one_line_error(["evaluate", str(model), str(data), "--target", "label"], capsys,
                           "classes 5.0 are not among the model's 0, 1")
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), y=np.arange(100, 130))
    _expect_one_line_error(["evaluate", str(model), str(tmp_path / "d.npz"), "--target", "y"],
                           capsys, "and 20 more")


@pytest.mark.parametrize(("content", "words"), [
    (b"", ["no header row"]),
    (b"\nx,y\n1,2\n", ["no header row"]),
    (b"x,y\n", ["no data rows"]),
    (b"y\n1\n2\n", ["no feature columns"]),
    (b"x,y,y\n1,2,3\n", ["2 columns are named 'y'"]),
    (b"x,y\n1,\xe9\n", ["not UTF-8"]),
    (b"x,y\n1\x00,2\n", ["line 2", "column 'x'"]),
    (b"x,y\n1,2\n3,4,5\n", ["line 3", "3 cells"]),
    (b"x,y\n1," + b"9" * 200_000 + b"\n", ["unreadable CSV", "field limit"]),
])
def test_malformed_csv_files_are_one_line(
    content: bytes, words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(content)
    _expect_one_line_error(["train", str(data), "--target", "y", "--out", str(tmp_path / "m")],
                           capsys, "d.csv", *words)


# --- the CSV reader -------------------------------------------------------------------------


def test_csv_reader_keeps_quoted_cells_skips_blank_lines_and_reads_names_met_late(
    tmp_path: Path
) -> None:
    """Names first met after more rows than one chunk holds still make the column one of
    names, each cell's text as written."""
    from blasnet.cli_data import read_data

    path = tmp_path / "d.csv"
    rows = [f'"{i}",{i % 2}' for i in range(40_000)] + ['"40000","cherry"', "", "40001,1", ""]
    path.write_text("x, label \n" + "\n".join(rows) + "\n")
    X, y = read_data(str(path), "label", need_target=True)
    assert X.shape == (40_002, 1) and X[:, 0].tolist() == list(range(40_002))
    assert y is not None and y.dtype.kind == "U"
    assert y[:3].tolist() == ["0", "1", "0"] and y[-2:].tolist() == ["cherry", "1"]


def test_csv_reader_reads_a_pipe(tmp_path: Path) -> None:
    """A file that is not regular (a pipe, ``<(...)`` in a shell) has no line count up front:
    the matrix grows as rows arrive."""
    from blasnet.cli_data import read_data

    path = tmp_path / "fifo"
    os.mkfifo(path)
    expected = np.arange(3000 * 2, dtype=np.float64).reshape(3000, 2)

    def write() -> None:
        with open(path, "w") as file:
            file.write("a,b,y\n" + "".join(f"{a},{b},{int(a) % 3}\n" for a, b in expected))

    writer = threading.Thread(target=write)
    writer.start()
    X, y = read_data(str(path), "y", need_target=True)
    writer.join()
    assert np.array_equal(X, expected)
    assert y is not None and y.tolist() == [float(int(a) % 3) for a in expected[:, 0]]


_PEAK_SCRIPT = """
import sys
from blasnet.cli_data import read_data

# VmHWM, the peak resident size of this process's memory. Not ru_maxrss: started from a
# pytest of 60 MB, it read 41 MB of growth where VmHWM reads 21 MB, the parent's peak
# carried over fork and exec.
def resident(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))

before = resident("VmRSS:")
X, y = read_data(sys.argv[1], "y", need_target=True)
print(X.nbytes + y.nbytes, resident("VmHWM:") - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc")
def test_csv_reader_peak_memory_stays_near_the_matrix(tmp_path: Path) -> None:
    """A 15 MB CSV of 150,000 rows × 11 columns: reading it grows the process by less than
    2.5 times the 13 MB of the matrix and the target (21 MB when measured; the chunk's
    strings are the rest). Holding the cells as Python lists, the reader before took 172 MB."""
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.standard_normal((150_000, 10)), rng.integers(0, 3, 150_000)])
    path = tmp_path / "big.csv"
    np.savetxt(path, data, delimiter=",", fmt="%.6f",
               header=",".join([f"x{j}" for j in range(10)] + ["y"]), comments="")
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)],
                          capture_output=True, text=True, check=True)
    matrix, grown = (int(word) for word in done.stdout.split())
    assert matrix == 150_000 * 11 * 8
    assert grown < 2.5 * matrix, (grown, matrix)


# --- every user mistake: one line on stderr, exit status 2 ---------------------------------


def _expect_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> None:
    """Refused while parsing: one line, status 2, nothing done (no table on stdout)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and "Traceback" not in captured.err, captured.err
    assert captured.err.startswith("blasnet")
    for word in words:
        assert word in captured.err


@pytest.mark.parametrize(("options", "words"), [
    (["--batch-size", "1e23"], ["--batch-size", "whole number", "'1e23'"]),
    (["--batch-size", str(10**23)], ["--batch-size", "at most 9223372036854775807"]),
    (["--hidden", str(2**63)], ["--hidden", "at most 9223372036854775807"]),
    (["--hidden", "8,0"], ["--hidden", "at least 1, got 0"]),
    (["--hidden", "8,x"], ["--hidden", "'x'"]),
    (["--epochs", "0"], ["--epochs", "at least 1"]),
    (["--epochs", "-5"], ["--epochs", "at least 1"]),
    (["--patience", "0"], ["--patience", "at least 1"]),
    (["--seed", str(2**64)], ["--seed", "at most 18446744073709551615"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--lr", "fast"], ["--lr", "'fast'"]),
    (["--momentum", "inf"], ["--momentum", "finite"]),
    (["--validation", "nan"], ["--validation", "finite"]),
    (["--validation", "1"], ["--validation", "[0, 1)"]),
    (["--colour", "red"], ["unrecognized arguments: --colour"]),
])
def test_out_of_range_options_are_refused_while_parsing(
    options: list[str], words: list[str], cake_csv: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """An integer beyond what the core's sizes hold, a NaN rate or a word for a number is one
    line naming the option, before the data are read."""
    _expect_usage_error(["train", str(cake_csv), "--target", "label",
                         "--out", str(tmp_path / "m.safetensors"), *options], capsys, *words)
    assert not (tmp_path / "m.safetensors").exists()


def test_an_output_that_cannot_be_written_is_refused_before_training(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing folder or a folder given as the file fails at once, not after training, and
    the check creates nothing."""
    missing = tmp_path / "missing" / "dir" / "m.safetensors"
    _expect_usage_error(["train", str(cake_csv), "--target", "label", "--out", str(missing)],
                        capsys, "--out", f"no folder {missing.parent}")
    _expect_usage_error(["train", str(cake_csv), "--target", "label", "--out", str(tmp_path)],
                        capsys, "is a folder")
    _expect_usage_error(["predict", "m.safetensors", str(cake_csv), "--out", str(missing)],
                        capsys, "--out", "no folder")
    _expect_usage_error(["export", "m.safetensors", str(missing)], capsys, "OUT", "no folder")
    _expect_usage_error(["train", str(cake_csv), "--target", "label", "--out", "m\0.st"],
                        capsys, "NUL")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cake.csv"]


def test_library_errors_name_the_command_line_options(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The core's message quotes its argument names; the command line says its options."""
    model = str(tmp_path / "m.safetensors")
    _expect_one_line_error(["train", str(cake_csv), "--target", "label", "--out", model,
                            "--validation", "0.001"], capsys, "--validation 0.001 of 120")
    _expect_one_line_error(["train", str(cake_csv), "--target", "label", "--out", model,
                            "--lr", "0"], capsys, "--lr=0.0")
    _expect_one_line_error(["train", str(cake_csv), "--target", "label", "--out", model,
                            "--optimizer", "sgd", "--momentum", "2"], capsys, "--momentum=2.0")
    assert cli.main(["train", str(cake_csv), "--target", "label", "--out", model,
                     "--epochs", "1"]) == 0
    capsys.readouterr()
    _expect_one_line_error(["export", model, str(tmp_path / "m.onnx"), "--opset", "5"], capsys,
                           "opset must be in [13")
    assert not (tmp_path / "m.onnx").exists()


def test_a_size_the_machine_cannot_hold_is_one_line(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """10¹¹ hidden units over 2 inputs: the core refuses (MemoryError or a ValueError naming
    the size); the command line prints one line."""
    _expect_one_line_error(["train", str(cake_csv), "--target", "label", "--out",
                            str(tmp_path / "m.safetensors"), "--hidden", str(10**11)], capsys)
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_a_model_argument_that_is_not_a_model_is_one_line(
    command: str, cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = {"predict": [str(cake_csv)], "evaluate": [str(cake_csv), "--target", "label"],
             "export": [str(tmp_path / "m.onnx")]}[command]
    for model in (cake_csv, tmp_path, tmp_path / "empty.safetensors"):
        (tmp_path / "empty.safetensors").write_bytes(b"")
        _expect_one_line_error([command, str(model), *extra], capsys, str(model))


def test_data_that_is_a_folder_or_missing_is_one_line(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.safetensors"
    assert _train_cake(cake_csv, model, "--epochs", "1") == 0
    capsys.readouterr()
    for data in (tmp_path, tmp_path / "none.csv", tmp_path / "none.npz"):
        _expect_one_line_error(["predict", str(model), str(data)], capsys, str(data))


def test_a_demo_folder_that_cannot_be_made_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    _expect_one_line_error(["demo", "--plots", str(tmp_path / "file" / "pictures")], capsys,
                           "file")


@pytest.mark.parametrize(("options", "words"), [
    (["--json", "missing/bench.json"], ["--json", "no folder missing"]),
    (["--plot", "missing/bench.png"], ["--plot", "no folder missing"]),
    (["--seconds", "inf"], ["--seconds", "finite"]),
    (["--rounds", str(2**63)], ["--rounds", "at most"]),
    (["--threads", "0"], ["--threads", "at least 1"]),
])
def test_bench_options_are_checked_before_it_runs(
    options: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The run takes seconds to minutes: a file it could not write is refused up front."""
    _expect_usage_error(["bench", "--configs", "xor", *options], capsys, *words)


def test_control_characters_in_paths_are_shown_escaped_on_one_line(
    cake_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NUL in a data path is refused naming the path (the OS would stop reading at it);
    a control character from a file in a message is printed as its escape."""
    model = tmp_path / "m.safetensors"
    assert _train_cake(cake_csv, model, "--epochs", "1") == 0
    capsys.readouterr()
    _expect_one_line_error(["predict", str(model), str(cake_csv) + "\0.csv"], capsys,
                           "cake.csv\\x00.csv", "NUL byte")
    data = tmp_path / "escape.csv"
    data.write_text("a\x1b[2Jb,x\n1,2\n")  # a column name that would clear the screen
    _expect_one_line_error(["evaluate", str(model), str(data), "--target", "label"], capsys,
                           "(columns: a\\x1b[2Jb, x)")


def test_predicted_class_names_holding_commas_are_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A class name is written as a CSV cell: "salt, pepper" stays one cell."""
    data = tmp_path / "d.csv"
    rows = [f'{x},{"salt, pepper" if x > 0 else "sugar"}' for x in np.linspace(-1, 1, 40)]
    data.write_text("x,taste\n" + "\n".join(f'{row.split(",")[0]},"{row.split(",", 1)[1]}"'
                                             for row in rows) + "\n")
    model = tmp_path / "m.safetensors"
    assert cli.main(["train", str(data), "--target", "taste", "--out", str(model),
                     "--epochs", "1", "--validation", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["predict", str(model), str(data), "--target", "taste", "--proba",
                     "--out", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["label", "p_salt, pepper", "p_sugar"]
    assert len(table) == 41 and {row[0] for row in table[1:]} <= {"salt, pepper", "sugar"}
    assert all(len(row) == 3 for row in table)


def test_ctrl_c_during_training_is_one_line_and_status_130(cake_csv: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    run = subprocess.Popen([sys.executable, "-m", "blasnet", "train", str(cake_csv), "--target",
                            "label", "--out", str(model), "--epochs", str(10**9)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stdout is not None
    for line in run.stdout:
        if line.lstrip().startswith("1 "):  # the first epoch's row: training is under way
            break
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and err.splitlines() == ["blasnet: interrupted"]
    assert not model.exists()
