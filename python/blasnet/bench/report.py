"""Figures derived from a run's result (ratios, rates) and the Markdown tables that show them.

Every ratio is of medians: an implementation's step (or epoch, or single-sample forward) over
blasnet's, so "numpy 6.1×" means the NumPy reference takes 6.1 times as long as blasnet; and a
step over the GEMM floor, the sum of the medians of the step's gemm calls each timed alone.

Examples
--------
>>> format_ratio(6.12), format_ratio(0.5)
('6.1×', '0.50×')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..units import format_seconds
from .configs import CONFIGS
from .implementations import IMPLEMENTATIONS

RESULTS_START = "<!-- results: start (written by bench/run.py; edits here are overwritten) -->"
RESULTS_END = "<!-- results: end -->"
MISSING = "–"


def format_ratio(ratio: float | None) -> str:
    """A ratio as "6.1×": two decimals below 1, one below 10, none above."""
    if ratio is None:
        return MISSING
    digits = 2 if ratio < 1 else 1 if ratio < 10 else 0
    return f"{ratio:.{digits}f}×"


def format_quantity(value: float, unit: str = "") -> str:
    """A number with three significant digits, a k/M/G prefix and ``unit``.

    Examples
    --------
    >>> format_quantity(647168, "FLOP"), format_quantity(112, "FLOP"), format_quantity(1.29e6)
    ('647 kFLOP', '112 FLOP', '1.29 M')
    """
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def _measured(case: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An implementation's measurements in a case; None if it was skipped or failed."""
    entry: dict[str, Any] | None = case["implementations"].get(name)
    return None if entry is None or "error" in entry else entry


def ratio_to_blasnet(case: dict[str, Any], name: str, kind: str = "step") -> float | None:
    """Median ``kind`` ("step" or "epoch") time of implementation ``name`` over blasnet's.

    Examples
    --------
    >>> case = {"implementations": {"blasnet": {"step": {"median": 2.0}},
    ...                             "numpy": {"step": {"median": 12.2}}}}
    >>> ratio_to_blasnet(case, "numpy")
    6.1
    """
    blasnet, other = _measured(case, "blasnet"), _measured(case, name)
    if blasnet is None or other is None:
        return None
    return float(other[kind]["median"] / blasnet[kind]["median"])


def ratio_to_floor(case: dict[str, Any], name: str) -> float | None:
    """Median step time of implementation ``name`` over the case's GEMM floor.

    Examples
    --------
    >>> case = {"floor": {"seconds": 0.5},
    ...         "implementations": {"blasnet": {"step": {"median": 0.6}}}}
    >>> round(ratio_to_floor(case, "blasnet"), 3)
    1.2
    """
    entry = _measured(case, name)
    if entry is None or "error" in case["floor"]:
        return None
    return float(entry["step"]["median"] / case["floor"]["seconds"])


def spread(stats: dict[str, Any]) -> float:
    """The slowest round's median over the fastest's: near 1 when the rounds agree, well above
    when the machine was busier during some of them.

    Examples
    --------
    >>> spread({"round_medians": [1.0, 1.2, 1.1]})
    1.2
    """
    medians = stats["round_medians"]
    return float(max(medians) / min(medians))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 0) -> str:
    """A Markdown table; columns from ``right_from`` on are right-aligned."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _implementations(results: dict[str, Any]) -> list[str]:
    """The implementations that ran, in the registry's order."""
    ran = {name for case in results["cases"] for name in case["implementations"]}
    return [name for name in IMPLEMENTATIONS if name in ran]


def summary_table(results: dict[str, Any], kind: str = "step") -> str:
    """One row per configuration, dtype and thread count: blasnet's median ``kind`` time, each
    other implementation's ratio to it and, for steps, blasnet's ratio to the GEMM floor."""
    others = [name for name in _implementations(results) if name != "blasnet"]
    header = ["configuration", "dtype", "threads", f"blasnet {kind}"]
    if kind == "step":
        header.append("blasnet/floor")
    header += [f"{name}/blasnet" for name in others]
    rows = []
    for case in results["cases"]:
        blasnet = _measured(case, "blasnet")
        row = [f"{case['config']} {case['label']}", case["dtype"], str(case["threads"]),
               MISSING if blasnet is None else format_seconds(blasnet[kind]["median"])]
        if kind == "step":
            row.append(format_ratio(ratio_to_floor(case, "blasnet")))
        row += [format_ratio(ratio_to_blasnet(case, name, kind)) for name in others]
        rows.append(row)
    return _table(header, rows, right_from=3)


def case_table(results: dict[str, Any], config_name: str) -> str:
    """Everything measured on one configuration: a row per implementation, dtype and thread
    count, and one for the GEMM floor of each dtype and thread count."""
    header = ["dtype", "threads", "implementation", "computes in", "step min", "step median",
              "samples/s", "FLOP/s", "÷ blasnet", "÷ floor", "round spread", "epoch median",
              "epoch samples/s", "epoch ÷ blasnet", "memory MB"]
    rows = []
    for case in results["cases"]:
        if case["config"] != config_name:
            continue
        lead = [case["dtype"], str(case["threads"])]
        for name in _implementations(results):
            entry = case["implementations"].get(name)
            if entry is None:
                continue
            if "error" in entry:
                rows.append([*lead, name, "failed (see results.json)"] + [""] * 11)
                continue
            step, epoch = entry["step"]["median"], entry["epoch"]["median"]
            memory = entry["memory_mb"]
            rows.append([
                *lead, name, entry["computes_in"], format_seconds(entry["step"]["min"]),
                format_seconds(step), format_quantity(case["batch"] / step),
                format_quantity(case["step_flops"] / step),
                format_ratio(ratio_to_blasnet(case, name)),
                format_ratio(ratio_to_floor(case, name)), format_ratio(spread(entry["step"])),
                format_seconds(epoch), format_quantity(case["epoch_samples"] / epoch),
                format_ratio(ratio_to_blasnet(case, name, "epoch")),
                MISSING if memory is None else f"{memory:.1f}",
            ])
        floor = case["floor"]
        if "error" in floor:
            rows.append([*lead, "GEMM floor", "failed (see results.json)"] + [""] * 11)
            continue
        blasnet = _measured(case, "blasnet")
        floor_ratio = None if blasnet is None else floor["seconds"] / blasnet["step"]["median"]
        rows.append([
            *lead, "GEMM floor", case["dtype"], MISSING, format_seconds(floor["seconds"]),
            format_quantity(case["batch"] / floor["seconds"]),
            format_quantity(case["step_flops"] / floor["seconds"]),
            format_ratio(floor_ratio), format_ratio(1.0), MISSING, MISSING, MISSING, MISSING,
            MISSING,
        ])
    return _table(header, rows, right_from=4)


def peak_table(results: dict[str, Any]) -> str:
    """GFLOP/s of the large square gemm, a row per dtype and a column per thread count."""
    threads = sorted({peak["threads"] for peak in results["peak"]})
    dtypes = sorted({peak["dtype"] for peak in results["peak"]})
    gflops = {(peak["dtype"], peak["threads"]): peak["gflops"] for peak in results["peak"]}
    size = results["peak"][0]["size"]
    rows = [[f"{dtype} gemm {size}×{size}×{size}",
             *(f"{gflops[dtype, t]:.1f}" if (dtype, t) in gflops else MISSING for t in threads)]
            for dtype in dtypes]
    return _table(["GFLOP/s", *(f"{t} thread{'s' if t > 1 else ''}" for t in threads)], rows,
                  right_from=1)


def hazard_slowdowns(sides: dict[str, Any]) -> dict[str, float]:
    """How much longer each side takes when the two libraries alternate than alone, and a
    whole turn (matmul then step) than the two alone back to back.

    Examples
    --------
    >>> side = lambda alone, together: {"alone": {"median": alone},
    ...                                 "alternating": {"median": together}}
    >>> hazard_slowdowns({"numpy": side(1.0, 3.0), "blasnet": side(2.0, 3.0)})
    {'numpy': 3.0, 'blasnet': 1.5, 'turn': 2.0}
    """
    slowdowns = {side: sides[side]["alternating"]["median"] / sides[side]["alone"]["median"]
                 for side in ("numpy", "blasnet")}
    alone = sum(sides[side]["alone"]["median"] for side in ("numpy", "blasnet"))
    together = sum(sides[side]["alternating"]["median"] for side in ("numpy", "blasnet"))
    return {**slowdowns, "turn": together / alone}


def hazard_table(hazard: dict[str, Any]) -> str:
    """Alone and alternating medians of the two sides of the two-thread-pool scenario, for
    each library imported first."""
    m, k, n = hazard["matmul"]
    names = {"numpy": f"NumPy matmul ({m}×{k})·({k}×{n})",
             "blasnet": f"blasnet {hazard['config']} train_step",
             "turn": "one turn (matmul, then step)"}
    rows = []
    for first, sides in hazard["imported_first"].items():
        slowdowns = hazard_slowdowns(sides)
        medians = {side: (sides[side]["alone"]["median"], sides[side]["alternating"]["median"])
                   for side in ("numpy", "blasnet")}
        medians["turn"] = (medians["numpy"][0] + medians["blasnet"][0],
                           medians["numpy"][1] + medians["blasnet"][1])
        rows += [[f"{first} first", names[side], format_seconds(alone),
                  format_seconds(together), format_ratio(slowdowns[side])]
                 for side, (alone, together) in medians.items()]
    return _table(["imported first", f"{hazard['dtype']}, {hazard['threads']} threads each",
                   "alone (median)", "alternating (median)", "slowdown"], rows, right_from=2)


def latency_table(latency: dict[str, Any]) -> str:
    """A row per dtype and implementation of the single-sample forward: its minimum and median,
    and its median over blasnet's.

    Examples
    --------
    >>> entry = lambda seconds: {"computes_in": "float32",
    ...                          "forward": {"min": seconds, "median": seconds}}
    >>> latency = {"cases": [{"dtype": "float32", "implementations": {
    ...     "blasnet": entry(2e-6), "numpy": entry(2.2e-5)}}]}
    >>> print(latency_table(latency).splitlines()[-1])
    | float32 | numpy | float32 | 22 µs | 22 µs | 11× |
    """
    rows = []
    for case in latency["cases"]:
        measured = case["implementations"]
        blasnet = measured.get("blasnet", {}).get("forward")
        for name in IMPLEMENTATIONS:
            entry = measured.get(name)
            if entry is None:
                continue
            if "error" in entry:
                rows.append([case["dtype"], name, "failed (see results.json)", "", "", ""])
                continue
            forward = entry["forward"]
            ratio = None if blasnet is None else forward["median"] / blasnet["median"]
            rows.append([case["dtype"], name, entry["computes_in"],
                         format_seconds(forward["min"]), format_seconds(forward["median"]),
                         format_ratio(ratio)])
    return _table(["dtype", "implementation", "computes in", "min", "median", "÷ blasnet"],
                  rows, right_from=3)


def _latency_section(latency: dict[str, Any]) -> list[str]:
    """The heading, what was measured, and the table of the single-sample forward."""
    note = (f"One sample, an input of shape (1, {CONFIGS[latency['config']].sizes[0]}), "
            f"{latency['threads']} thread; minimum and median of all rounds, ratios of medians.")
    separately = latency.get("measured")
    if separately is not None:
        note += " " + _measured_apart(separately)
    return [f"### Single-sample forward ({latency['config']} {latency['label']})", note,
            latency_table(latency)]


def _measured_apart(separately: dict[str, Any]) -> str:
    """When and how a part of the results measured apart from the rest was measured, and what
    it skipped."""
    note = (f"Measured apart from the rest on {separately['date']}: {separately['rounds']} "
            f"round(s) of workers with a {separately['seconds']} s budget each." +
            _load(separately))
    if separately.get("reinstalled_during_run"):
        note += (" **blasnet was reinstalled during this run: its figures mix two builds. "
                 "Run it again.**")
    return note + "".join(f"\n- {name}: {text}" for name, text in separately["skipped"].items())


def _case_section(results: dict[str, Any], config_name: str) -> list[str]:
    """The heading and table of one configuration, with a note for each part of it measured
    apart from the rest of the run."""
    notes = dict.fromkeys(_measured_apart(case["measured"]) for case in results["cases"]
                          if case["config"] == config_name and "measured" in case)
    return [f"### {config_name}: {CONFIGS[config_name].description}, "
            f"{_step_flops(results, config_name)}", *notes, case_table(results, config_name)]


def markdown(results: dict[str, Any]) -> str:
    """The results of a run as Markdown: environment, peak, summaries, the single-sample
    forward, details, the hazard."""
    env = results["environment"]
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items()
                         if version is not None)
    options = results["options"]
    parts = [
        f"Measured {env['date']} on {env['cpu']} ({env['cpu_count']} CPUs), {env['platform']}, "
        f"Python {env['python']}; {versions}. blasnet's BLAS: {env['blas']}. "
        f"{options['rounds']} round(s) of workers with a {options['seconds']} s budget each; "
        f"the run took {_duration(results['seconds'])}." + _load(env),
    ]
    if env.get("reinstalled_during_run"):
        parts.append("**blasnet was reinstalled during this run: its figures mix two builds. "
                     "Run it again.**")
    parts += [f"- {name}: {note}" for name, note in results["skipped"].items()]
    apart = list(dict.fromkeys(case["config"] for case in results["cases"] if "measured" in case))
    if apart:
        parts.append(f"Measured apart from the rest of the run, as their sections say: "
                     f"{', '.join(apart)}.")
    if results["peak"]:
        parts += ["### Peak: one large gemm through blasnet's BLAS", peak_table(results)]
    if results["cases"]:
        parts += [
            "### One training step (median; ratios of medians)", summary_table(results, "step"),
            "### One epoch (median; ratios of medians)", summary_table(results, "epoch"),
        ]
    if "latency" in results:
        parts += _latency_section(results["latency"])
    if results["cases"]:
        for name in dict.fromkeys(case["config"] for case in results["cases"]):
            parts += _case_section(results, name)
    if "hazard" in results:
        hazard = results["hazard"]
        parts += ["### Two thread pools in one process", hazard_table(hazard)]
    return "\n\n".join(parts) + "\n"


def _load(env: dict[str, Any]) -> str:
    load = env.get("load_average")
    return "" if load is None else f" One-minute load average before the run: {load:.2f}."


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _step_flops(results: dict[str, Any], config_name: str) -> str:
    flops = next(case["step_flops"] for case in results["cases"] if case["config"] == config_name)
    return f"{format_quantity(flops, 'FLOP')} per step"


def replace_section(text: str, section: str) -> str:
    """``text`` with whatever stands between the results markers replaced by ``section``.

    Examples
    --------
    >>> text = "\\n".join(["intro", RESULTS_START, "old", RESULTS_END, "outro"])
    >>> replace_section(text, "new\\n").splitlines()[2:]
    ['new', '<!-- results: end -->', 'outro']
    """
    start, end = text.find(RESULTS_START), text.find(RESULTS_END)
    if start < 0 or end < start:
        raise ValueError(f"the text has no {RESULTS_START!r} ... {RESULTS_END!r} section")
    return text[: start + len(RESULTS_START)] + "\n" + section + text[end:]
