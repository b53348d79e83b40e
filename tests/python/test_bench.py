"""The benchmark's pure parts (gemm shapes, FLOPs, pooling, ratios, tables), one real worker per
cheap implementation, each implementation's Adam on a miniature of mnist-adam, and the command
lines. The whole file runs in a few seconds: the only processes it starts time XOR, or a few
mnist-adam steps, for a few hundredths of a second."""

from __future__ import annotations

import importlib
import importlib.util
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet import _core, cli, reference
from blasnet.bench import CONFIGS, GemmShape, gemm_shapes, runner, step_flops
from blasnet.bench.data import make_problem
from blasnet.bench.implementations import Trainer, build
from blasnet.bench.report import (
    RESULTS_END,
    RESULTS_START,
    case_table,
    format_ratio,
    format_seconds,
    hazard_slowdowns,
    hazard_table,
    latency_table,
    markdown,
    ratio_to_blasnet,
    ratio_to_floor,
    replace_section,
    summary_table,
)

ROOT = Path(__file__).resolve().parents[2]


# --- configurations: gemm shapes and FLOPs, worked by hand ------------------------------------

def test_xor_gemm_shapes_follow_the_storage_of_w_and_the_batch() -> None:
    """2-2-1, batch 4: forward (ᵀ, no, n_out, B, n_in), dW (no, ᵀ, n_in, n_out, B), and dX
    (no, no, n_in, B, n_out) for the second layer only."""
    assert gemm_shapes(CONFIGS["xor"]) == [
        GemmShape("forward", 0, True, False, 2, 4, 2),
        GemmShape("forward", 1, True, False, 1, 4, 2),
        GemmShape("dW", 0, False, True, 2, 2, 4),
        GemmShape("dW", 1, False, True, 2, 1, 4),
        GemmShape("dX", 1, False, False, 2, 4, 1),
    ]


@pytest.mark.parametrize(("name", "flops"), [
    # 2·(2·2·4 + 1·2·4) forward, the same for dW, 2·2·4·1 for the one dX
    ("xor", 32 + 16 + 32 + 16 + 16),
    # 2·32·(64·64 + 64·10) forward and dW each, 2·32·64·10 dX
    ("digits", 2 * 303_104 + 40_960),
    # 2·128·(784·256 + 256·256 + 256·10) forward and dW each, 2·128·(256·256 + 256·10) dX
    ("mnist", 2 * 68_812_800 + 17_432_576),
    # the same network: Adam's update is element-wise, no gemm
    ("mnist-adam", 2 * 68_812_800 + 17_432_576),
    # 2·256·(1024·2048 + 2048·2048 + 2048·1024) forward and dW each,
    # 2·256·(2048·2048 + 2048·1024) dX
    ("wide", 2 * 4_294_967_296 + 3_221_225_472),
])
def test_step_flops_by_hand(name: str, flops: int) -> None:
    assert step_flops(CONFIGS[name]) == flops


def test_every_config_has_a_forward_and_dw_per_layer_and_no_dx_for_the_first() -> None:
    for config in CONFIGS.values():
        roles = [(shape.role, shape.layer) for shape in gemm_shapes(config)]
        n_layers = len(config.sizes) - 1
        assert roles.count(("dX", 0)) == 0
        assert len(roles) == 3 * n_layers - 1
        assert {shape.n for shape in gemm_shapes(config) if shape.role == "forward"} == {
            config.batch}


def test_mnist_adam_is_mnist_trained_by_adam() -> None:
    """The same network, data, batch and gemms (so the same FLOPs and floor) as mnist; only
    the optimizer and its rate differ, and every other configuration is plain SGD at 0.01."""
    adam, sgd = CONFIGS["mnist-adam"], CONFIGS["mnist"]
    assert replace(adam, name="mnist", optimizer="sgd") == sgd
    assert (adam.optimizer, adam.learning_rate) == ("adam", 1e-3)
    assert gemm_shapes(adam) == gemm_shapes(sgd)
    assert adam.description == sgd.description + ", Adam (lr 0.001)"
    others = [config for name, config in CONFIGS.items() if name != "mnist-adam"]
    assert [(config.optimizer, config.learning_rate) for config in others] == [("sgd", 0.01)] * 4
    assert "SGD" not in sgd.description


# --- pooling, ratios and tables on made-up samples ------------------------------------------

def _trained(step: float, epoch: float, computes_in: str = "float64") -> dict[str, Any]:
    return {"computes_in": computes_in, "memory_mb": 1.5,
            "step": runner.summarize([[step * 1.1, step], [step]]),
            "epoch": runner.summarize([[epoch]])}


def _results() -> dict[str, Any]:
    """A made-up run of mnist in float64 at one thread: numpy 6.1 times blasnet's step, torch
    failed, the floor 0.8 of blasnet's step."""
    case = {
        "config": "mnist", "label": "784-256-256-10", "dtype": "float64", "threads": 1,
        "batch": 128, "epoch_samples": 1024, "step_flops": step_flops(CONFIGS["mnist"]),
        "floor": {"seconds": 0.0016, "gemms": []},
        "implementations": {"blasnet": _trained(0.002, 0.02),
                            "numpy": _trained(0.0122, 0.1),
                            "torch": {"error": "worker exited with 1"}},
    }
    return {
        "environment": {"date": "today", "cpu": "a CPU", "cpu_count": 2, "platform": "Linux",
                        "python": "3", "blas": "OpenBLAS", "versions": {"numpy": "2"}},
        "options": {"rounds": 3, "seconds": 1.0},
        "skipped": {"sklearn": "skipped: scikit-learn not installed"},
        "peak": [{"dtype": "float64", "threads": 1, "size": 2048, "gflops": 38.04}],
        "cases": [case],
        "hazard": {"threads": 2, "matmul": [256, 784, 256], "config": "mnist",
                   "dtype": "float32", "imported_first": {"numpy": {
                       "numpy": {"alone": {"median": 0.001}, "alternating": {"median": 0.004}},
                       "blasnet": {"alone": {"median": 0.002}, "alternating": {"median": 0.003}},
                   }}},
        "latency": _latency(),
        "seconds": 600.0,
    }


def _forward(median: float) -> dict[str, Any]:
    return {"computes_in": "float32", "forward": {"n": 2, "min": median / 2, "median": median}}


def _latency() -> dict[str, Any]:
    """A made-up single-sample forward in float32: numpy 4.5 times blasnet's 2 µs, torch
    failed."""
    return {"config": "digits", "label": "64-64-10", "threads": 1, "cases": [
        {"dtype": "float32", "implementations": {
            "blasnet": _forward(2e-6), "numpy": _forward(9e-6),
            "torch": {"error": "worker exited with 1"}}}]}


def test_summarize_pools_the_rounds_and_keeps_each_rounds_median() -> None:
    assert runner.summarize([[0.3, 0.1, 0.2], [0.4, 0.5]]) == {
        "n": 5, "min": 0.1, "median": 0.3, "round_medians": [0.2, 0.45]}


def test_ratios_are_of_medians() -> None:
    case = _results()["cases"][0]
    assert ratio_to_blasnet(case, "numpy") == pytest.approx(6.1)
    assert ratio_to_blasnet(case, "numpy", "epoch") == pytest.approx(5.0)
    assert ratio_to_blasnet(case, "torch") is None  # failed
    assert ratio_to_blasnet(case, "sklearn") is None  # not run
    assert ratio_to_floor(case, "blasnet") == pytest.approx(1.25)


@pytest.mark.parametrize(("seconds", "text"), [
    (2.5, "2.5 s"), (0.151, "151 ms"), (0.00245, "2.45 ms"), (3.1e-6, "3.1 µs")])
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(("ratio", "text"), [
    (6.12, "6.1×"), (0.984, "0.98×"), (145.4, "145×"), (None, "–")])
def test_format_ratio(ratio: float | None, text: str) -> None:
    assert format_ratio(ratio) == text


def _row(table: str, *cells: str) -> list[str]:
    """The cells of the first row of a Markdown table that starts with ``cells``."""
    for line in table.splitlines():
        row = [cell.strip() for cell in line.strip("|").split("|")]
        if row[: len(cells)] == list(cells):
            return row
    raise AssertionError(f"no row starting with {cells} in\n{table}")


def test_summary_table_shows_ratios_to_blasnet_and_blasnet_to_the_floor() -> None:
    table = summary_table(_results())
    assert table.splitlines()[0].split(" | ")[3:] == [
        "blasnet step", "blasnet/floor", "numpy/blasnet", "torch/blasnet |"]
    assert _row(table, "mnist 784-256-256-10", "float64", "1") == [
        "mnist 784-256-256-10", "float64", "1", "2 ms", "1.2×", "6.1×", "–"]


def test_case_table_rows_of_an_implementation_a_failure_and_the_floor() -> None:
    table = case_table(_results(), "mnist")
    numpy_row = _row(table, "float64", "1", "numpy")
    # 128 samples / 12.2 ms; 155 MFLOP / 12.2 ms
    assert numpy_row[3:10] == ["float64", "12.2 ms", "12.2 ms", "10.5 k", "12.7 G", "6.1×",
                               "7.6×"]
    assert _row(table, "float64", "1", "torch")[3] == "failed (see results.json)"
    floor_row = _row(table, "float64", "1", "GEMM floor")
    assert floor_row[5:10] == ["1.6 ms", "80 k", "96.9 G", "0.80×", "1.0×"]


def test_hazard_slowdowns_per_side_and_per_turn() -> None:
    hazard = _results()["hazard"]
    assert hazard_slowdowns(hazard["imported_first"]["numpy"]) == {
        "numpy": pytest.approx(4.0), "blasnet": pytest.approx(1.5), "turn": pytest.approx(7 / 3)}
    assert _row(hazard_table(hazard), "numpy first", "one turn (matmul, then step)")[2:] == [
        "3 ms", "7 ms", "2.3×"]


def test_latency_table_shows_min_median_and_ratio_of_medians() -> None:
    table = latency_table(_latency())
    assert table.splitlines()[0] == (
        "| dtype | implementation | computes in | min | median | ÷ blasnet |")
    assert _row(table, "float32", "blasnet") == [
        "float32", "blasnet", "float32", "1 µs", "2 µs", "1.0×"]
    assert _row(table, "float32", "numpy") == [
        "float32", "numpy", "float32", "4.5 µs", "9 µs", "4.5×"]
    assert _row(table, "float32", "torch")[2] == "failed (see results.json)"


def test_markdown_names_skipped_implementations_and_every_section() -> None:
    text = markdown(_results())
    assert "- sklearn: skipped: scikit-learn not installed" in text
    headings = ("### Peak", "### One training step", "### One epoch",
                "### Single-sample forward (digits 64-64-10)", "### mnist: ",
                "### Two thread pools")
    positions = [text.index(heading) for heading in headings]
    # the single-sample forward comes right after the epoch summary
    assert positions == sorted(positions)
    assert "the run took 10.0 min" in text
    assert "reinstalled" not in text


def test_markdown_warns_when_blasnet_was_reinstalled_during_the_run() -> None:
    results = _results()
    results["environment"]["reinstalled_during_run"] = True
    assert "blasnet was reinstalled during this run" in markdown(results)


def test_merge_latency_replaces_only_the_latency_and_says_when_it_was_measured() -> None:
    earlier = _results()
    new = _latency()
    new["cases"][0]["dtype"] = "float64"
    measured = {"environment": {"date": "later", "load_average": 0.25},
                "options": {"rounds": 2, "seconds": 0.5},
                "skipped": {"sklearn": "skipped: scikit-learn not installed"},
                "cases": [], "latency": new}
    merged = runner.merge_latency(earlier, measured)
    assert {key: value for key, value in merged.items() if key != "latency"} == {
        key: value for key, value in _results().items() if key != "latency"}
    assert merged["latency"]["cases"] == new["cases"]
    assert merged["latency"]["measured"] == {
        "date": "later", "load_average": 0.25, "rounds": 2, "seconds": 0.5,
        "skipped": {"sklearn": "skipped: scikit-learn not installed"}}
    assert earlier["latency"]["cases"][0]["dtype"] == "float32"  # not changed in place
    text = markdown(merged)
    assert ("Measured apart from the rest on later: 2 round(s) of workers with a 0.5 s budget "
            "each. One-minute load average before the run: 0.25.") in text
    assert "| float64 | numpy | float32 | 4.5 µs | 9 µs | 4.5× |" in text


def _case(config: str, dtype: str, threads: int, step: float) -> dict[str, Any]:
    """A made-up case of ``config``: blasnet's step and the floor 0.8 of it."""
    return {"config": config, "label": CONFIGS[config].label, "dtype": dtype,
            "threads": threads, "batch": CONFIGS[config].batch,
            "epoch_samples": CONFIGS[config].epoch_samples,
            "step_flops": step_flops(CONFIGS[config]),
            "floor": {"seconds": 0.8 * step, "gemms": []},
            "implementations": {"blasnet": _trained(step, 10 * step)}}


def _measured_alone(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """A made-up run of some configurations alone, as ``bench/run.py --configs`` makes."""
    return {"environment": {"date": "later", "load_average": 0.5},
            "options": {"rounds": 2, "seconds": 0.5},
            "skipped": {"sklearn": "skipped: scikit-learn not installed"},
            "peak": [], "cases": cases}


def test_merge_cases_replaces_and_adds_cases_in_the_order_of_the_configs() -> None:
    earlier = _results()
    earlier["cases"].append(_case("wide", "float64", 1, 0.3))
    measured = _measured_alone([_case("mnist-adam", "float32", 1, 0.004),
                                _case("mnist-adam", "float32", 2, 0.003),
                                _case("wide", "float64", 1, 0.2)])
    merged = runner.merge_cases(earlier, measured)
    assert [(case["config"], case["threads"]) for case in merged["cases"]] == [
        ("mnist", 1), ("mnist-adam", 1), ("mnist-adam", 2), ("wide", 1)]
    assert merged["cases"][0] == _results()["cases"][0]  # not measured again: unchanged
    assert merged["cases"][3]["implementations"]["blasnet"]["step"]["median"] == 0.2
    assert merged["cases"][1]["measured"] == {
        "date": "later", "load_average": 0.5, "rounds": 2, "seconds": 0.5,
        "skipped": {"sklearn": "skipped: scikit-learn not installed"},
        "reinstalled_during_run": False}
    assert {key: value for key, value in merged.items() if key != "cases"} == {
        key: value for key, value in earlier.items() if key != "cases"}
    assert len(earlier["cases"]) == 2  # not changed in place


def test_markdown_says_which_configurations_were_measured_apart() -> None:
    merged = runner.merge_cases(_results(), _measured_alone(
        [_case("mnist-adam", "float64", 1, 0.004)]))
    text = markdown(merged)
    assert "Measured apart from the rest of the run, as their sections say: mnist-adam." in text
    section = text[text.index("### mnist-adam: "):]
    assert section.startswith(
        "### mnist-adam: 784-256-256-10, relu hidden, softmax output, softmax_cross_entropy, "
        "batch 128, epoch of 1024 samples, Adam (lr 0.001), 155 MFLOP per step\n\n"
        "Measured apart from the rest on later: 2 round(s) of workers with a 0.5 s budget "
        "each. One-minute load average before the run: 0.50.\n"
        "- sklearn: skipped: scikit-learn not installed\n\n| dtype |")
    # blasnet 4 ms, the floor 3.2 ms
    assert _row(summary_table(merged), "mnist-adam 784-256-256-10", "float64", "1")[3:5] == [
        "4 ms", "1.2×"]
    # the mnist section, measured with the rest, has no such note
    mnist = text[text.index("### mnist: "):text.index("### mnist-adam: ")]
    assert "apart" not in mnist


def test_replace_section_keeps_what_is_outside_the_markers() -> None:
    text = f"# Title\n\n{RESULTS_START}\nold table\n{RESULTS_END}\nfooter\n"
    replaced = replace_section(text, "new table\n")
    assert replaced == f"# Title\n\n{RESULTS_START}\nnew table\n{RESULTS_END}\nfooter\n"
    assert replace_section(replaced, "new table\n") == replaced
    with pytest.raises(ValueError, match="results"):
        replace_section("no markers", "new")


def test_the_readme_has_the_markers() -> None:
    replace_section((ROOT / "bench" / "README.md").read_text(encoding="utf-8"), "")


# --- the runner with its workers replaced ---------------------------------------------------

def test_rounds_take_turns_and_a_failing_worker_is_not_started_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def fake_worker(task: str, threads: int, arguments: Sequence[str],
                    first: str = "numpy") -> dict[str, Any]:
        name = arguments[-1] if task == "train" else task
        started.append(name)
        if name == "numpy":
            raise runner.WorkerError("numpy worker exited with 1")
        if task == "floor":
            return {"gemms": [{"role": "forward", "layer": 0, "m": 1, "n": 4, "k": 2,
                               "seconds": [1e-6, 2e-6]}]}
        return {"computes_in": "float32", "step": [1e-5], "epoch": [1e-4], "memory_mb": None}

    monkeypatch.setattr(runner, "run_worker", fake_worker)
    options = runner.Options(configs=["xor"], dtypes=["float32"], threads=[1],
                             implementations=["blasnet", "numpy"], rounds=3, peak=False,
                             latency=False, hazard=False)
    results = runner.run(options)
    # round 1 from blasnet, round 2 from numpy (which failed in round 1), round 3 from floor
    assert started == ["blasnet", "numpy", "floor", "floor", "blasnet", "floor", "blasnet"]
    measured = results["cases"][0]["implementations"]
    assert measured["numpy"] == {"error": "numpy worker exited with 1"}
    assert measured["blasnet"]["step"]["n"] == 3
    assert results["cases"][0]["floor"]["seconds"] == pytest.approx(1.5e-6)


def test_latency_rounds_take_turns_at_one_thread_per_dtype(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, int, str, str]] = []

    def fake_worker(task: str, threads: int, arguments: Sequence[str],
                    first: str = "numpy") -> dict[str, Any]:
        dtype, name = arguments[arguments.index("--dtype") + 1], arguments[-1]
        started.append((task, threads, dtype, name))
        if name == "numpy":
            raise runner.WorkerError("numpy worker exited with 1")
        return {"computes_in": dtype, "forward": [3e-6, 1e-6, 2e-6]}

    monkeypatch.setattr(runner, "run_worker", fake_worker)
    options = runner.Options(configs=[], dtypes=["float32", "float64"], threads=[2],
                             implementations=["blasnet", "numpy"], rounds=2, peak=False,
                             hazard=False)
    latency = runner.run(options)["latency"]
    # round 2 starts from numpy, which failed in round 1 and is not started again
    assert started == [("latency", 1, dtype, name) for dtype in ("float32", "float64")
                       for name in ("blasnet", "numpy", "blasnet")]
    assert (latency["config"], latency["threads"]) == ("digits", 1)
    assert [case["dtype"] for case in latency["cases"]] == ["float32", "float64"]
    measured = latency["cases"][1]["implementations"]
    assert measured["numpy"] == {"error": "numpy worker exited with 1"}
    assert measured["blasnet"]["computes_in"] == "float64"
    assert measured["blasnet"]["forward"]["n"] == 6
    assert measured["blasnet"]["forward"]["median"] == pytest.approx(2e-6)


# --- real workers, a few hundredths of a second each -----------------------------------------

@pytest.mark.parametrize(("implementation", "dtype"), [("blasnet", "float64"),
                                                       ("numpy", "float32")])
def test_worker_times_xor_and_prints_json(implementation: str, dtype: str) -> None:
    """The worker's JSON has positive step and epoch times, a growth of memory, and the dtype
    asked for (the NumPy reference stays in float32)."""
    done = subprocess.run(
        [sys.executable, "-m", "blasnet.bench.worker", "train", "--implementation",
         implementation, "--config", "xor", "--dtype", dtype, "--threads", "1",
         "--seconds", "0.02"],
        capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["computes_in"] == dtype
    assert len(result["step"]) >= 3 and len(result["epoch"]) >= 1
    assert all(0 < t < 1 for t in result["step"] + result["epoch"])
    # an epoch is 16 steps of the same batch size
    assert min(result["epoch"]) > min(result["step"])
    assert result["memory_mb"] is None or result["memory_mb"] >= 0


def test_latency_worker_times_a_blasnet_forward_of_one_digits_sample() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "blasnet.bench.worker", "latency", "--implementation",
         "blasnet", "--config", "digits", "--dtype", "float32", "--threads", "1",
         "--seconds", "0.02"],
        capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["computes_in"] == "float32"
    assert len(result["forward"]) >= 3
    assert min(result["forward"]) > 0
    # a forward of one sample through 64-64-10 takes microseconds, not tenths of milliseconds
    assert statistics.median(result["forward"]) < 1e-4


# --- mnist-adam: every implementation trains with Adam, its state carried from call to call ---

# mnist-adam cut down to a few units per layer and two batches per epoch.
MINIATURE = replace(CONFIGS["mnist-adam"], sizes=(16, 8, 8, 10), epoch_samples=256)


@pytest.fixture
def no_thread_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The implementations' thread limits made no-ops: they would outlast the test, and limit
    every later test of this process."""
    monkeypatch.setattr(_core, "set_num_threads", lambda threads: None)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda **limits: None)


def _miniature_trainer(implementation: str) -> Trainer:
    """``implementation`` on the miniature in float32, after one step and one epoch."""
    trainer = build(implementation, MINIATURE, make_problem(MINIATURE, "float32"), "float32", 1)
    trainer.step()
    trainer.epoch()
    assert trainer.computes_in() == "float32"
    return trainer


@pytest.mark.usefixtures("no_thread_limits")
def test_blasnet_trains_mnist_adam_with_one_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[_core.Optimizer] = []
    train_step, fit = bn.Sequential.train_step, bn.Sequential.fit

    def recording_train_step(self: bn.Sequential, *args: Any, **kwargs: Any) -> float:
        used.append(kwargs["optimizer"])
        return train_step(self, *args, **kwargs)

    def recording_fit(self: bn.Sequential, *args: Any, **kwargs: Any) -> Any:
        used.append(kwargs["optimizer"])
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(bn.Sequential, "train_step", recording_train_step)
    monkeypatch.setattr(bn.Sequential, "fit", recording_fit)
    _miniature_trainer("blasnet")
    adam = used[0]
    assert len(used) == 2 and used[1] is adam
    assert isinstance(adam, bn.Adam)
    assert (adam.lr, adam.beta_1, adam.beta_2, adam.epsilon, adam.weight_decay) == (
        1e-3, 0.9, 0.999, 1e-8, 0.0)
    assert adam.state()["steps"] == 3  # the step, then the epoch's two batches


@pytest.mark.usefixtures("no_thread_limits")
def test_numpy_trains_mnist_adam_with_the_references_adam_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[tuple[int, float, str]] = []
    adam_step = reference.adam_step

    def recording_adam_step(params: reference.Params, grads: reference.Params,
                            state: reference.AdamState, **settings: Any) -> Any:
        steps.append((state.t, settings["lr"], state.m["0.W"].dtype.name))
        return adam_step(params, grads, state, **settings)

    def no_sgd(*args: Any) -> Any:
        raise AssertionError("mnist-adam took an SGD step")

    monkeypatch.setattr(reference, "adam_step", recording_adam_step)
    monkeypatch.setattr(reference, "sgd_step", no_sgd)
    _miniature_trainer("numpy")
    # one state carried through the step and the epoch, in float32 like the parameters
    assert steps == [(t, 1e-3, "float32") for t in range(3)]


@pytest.mark.usefixtures("no_thread_limits")
def test_torch_trains_mnist_adam_with_torch_optim_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)
    steps: list[Any] = []
    hooks = importlib.import_module("torch.optim.optimizer")
    handle = hooks.register_optimizer_step_post_hook(
        lambda optimizer, args, kwargs: steps.append(optimizer))
    try:
        _miniature_trainer("torch")
    finally:
        handle.remove()
    assert len(steps) == 3 and all(optimizer is steps[0] for optimizer in steps)
    assert type(steps[0]) is torch.optim.Adam
    defaults = steps[0].defaults
    assert (defaults["lr"], defaults["betas"], defaults["eps"], defaults["weight_decay"]) == (
        1e-3, (0.9, 0.999), 1e-8, 0.0)


@pytest.mark.usefixtures("no_thread_limits")
def test_sklearn_trains_mnist_adam_with_its_adam_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    neural_network = pytest.importorskip("sklearn.neural_network")
    made: list[Any] = []
    classifier = neural_network.MLPClassifier

    def recording_classifier(**settings: Any) -> Any:
        made.append(classifier(**settings))
        return made[-1]

    monkeypatch.setattr(neural_network, "MLPClassifier", recording_classifier)
    _miniature_trainer("sklearn")
    [model] = made
    settings = model.get_params()
    assert {key: settings[key] for key in ("solver", "learning_rate_init", "beta_1", "beta_2",
                                           "epsilon", "alpha", "batch_size")} == {
        "solver": "adam", "learning_rate_init": 1e-3, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-8, "alpha": 0.0, "batch_size": 128}
    # the set-up's first batch, the step, the epoch's two batches: one Adam throughout
    assert model._optimizer.t == 4


def test_worker_times_a_blasnet_step_of_mnist_adam() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "blasnet.bench.worker", "train", "--implementation", "blasnet",
         "--config", "mnist-adam", "--dtype", "float32", "--threads", "1", "--seconds", "0.02"],
        capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["computes_in"] == "float32"
    assert len(result["step"]) >= 3 and min(result["step"]) > 0


# --- the command lines -------------------------------------------------------------------------

def test_bench_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: blasnet bench" in out
    for option in ("--configs", "--dtypes", "--threads", "--seconds", "--implementations",
                   "--latency"):
        assert option in out


def test_bench_rejects_a_non_positive_budget(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--seconds", "0"])
    assert exit_info.value.code == 2
    assert "must be positive" in capsys.readouterr().err


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make importlib.util.find_spec report ``modules`` as not installed."""
    find_spec = importlib.util.find_spec

    def fake_find_spec(name: str, package: str | None = None) -> Any:
        return None if name in modules else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)


def test_bench_skips_a_missing_implementation_with_a_note(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _without(monkeypatch, "torch")
    status = cli.main(["bench", "--configs", "xor", "--dtypes", "float64", "--implementations",
                       "blasnet", "torch", "--seconds", "0.02"])
    assert status == 0
    out = capsys.readouterr().out
    assert "- torch: skipped: torch not installed (pip install 'blasnet[bench]')" in out
    assert "| float64 | 1 | blasnet | float64 |" in out
    assert "| torch |" not in out


def _run_script() -> Any:
    """bench/run.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    run_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_script)
    return run_script


def test_full_run_script_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run_script = _run_script()
    _without(monkeypatch, "torch", "sklearn")
    assert run_script.main([]) == 1
    err = capsys.readouterr().err
    assert "needs torch, scikit-learn" in err
    assert "pip install '.[bench]'" in err


def test_full_run_script_measures_some_configs_alone_and_merges_them(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--configs`` runs only those configurations, without the peak, the single-sample
    forward or the hazard, and puts them into the existing results.json and README."""
    run_script = _run_script()
    (tmp_path / "results.json").write_text(json.dumps(_results()), encoding="utf-8")
    (tmp_path / "README.md").write_text(f"# Benchmarks\n{RESULTS_START}\nold\n{RESULTS_END}\n",
                                        encoding="utf-8")
    asked: list[runner.Options] = []

    def fake_run(options: runner.Options, progress: Any) -> dict[str, Any]:
        asked.append(options)
        return _measured_alone([_case("mnist-adam", "float64", 1, 0.004)])

    bench = importlib.import_module("blasnet.bench")
    plots = importlib.import_module("blasnet.plots")
    monkeypatch.setattr(run_script, "HERE", tmp_path)
    monkeypatch.setattr(run_script, "missing_packages", lambda: [])
    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(plots, "plot_bench", lambda results, path: None)
    assert run_script.main(["--configs", "mnist-adam", "--rounds", "2"]) == 0
    [options] = asked
    assert (list(options.configs), options.rounds, options.peak, options.latency,
            options.hazard) == (["mnist-adam"], 2, False, False, False)
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [case["config"] for case in results["cases"]] == ["mnist", "mnist-adam"]
    assert results["latency"] == _results()["latency"]
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "### mnist-adam: " in readme and "old" not in readme
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_script.main(["--configs", "mnist-sgd"])
    assert exit_info.value.code == 2
    assert "unknown configuration(s) mnist-sgd" in capsys.readouterr().err


def test_bench_command_runs_mnist_adam(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["bench", "--configs", "mnist-adam", "--implementations", "blasnet",
                       "--seconds", "0.02"])
    assert status == 0
    out = capsys.readouterr().out
    assert "### mnist-adam: 784-256-256-10" in out
    assert "| mnist-adam 784-256-256-10 | float32 | 1 |" in out


def test_plot_draws_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from blasnet.plots import plot_bench

    path = tmp_path / "step_times.png"
    plot_bench(_results(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
