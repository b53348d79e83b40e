"""Side-by-side benchmarks: blasnet's training step and epoch next to the NumPy reference of the
note, PyTorch and scikit-learn, against the GEMM floor of the step.

The modules, from the bottom up:

    configs          the networks and their optimizers, and the gemm calls (hence FLOPs) of
                     one blasnet step
    data             seeded synthetic data for a configuration
    implementations  the registry of implementations; impl_<name> sets each one up
    timing           timing calls one by one; a process's peak memory
    worker           one measurement in a process of its own (python -m blasnet.bench.worker)
    runner           rounds of workers, pooled into one JSON-ready result
    report           ratios and Markdown tables;  plot  the step-time figure
    command          ``blasnet bench``

Only a worker imports PyTorch or scikit-learn, and only ``plot`` imports matplotlib.

Examples
--------
>>> from blasnet.bench import CONFIGS, step_flops
>>> step_flops(CONFIGS["mnist"]) / 1e6
155.058176
"""

from .configs import CONFIGS, Config, GemmShape, gemm_shapes, step_flops
from .runner import Options, run

__all__ = ["CONFIGS", "Config", "GemmShape", "Options", "gemm_shapes", "run", "step_flops"]
