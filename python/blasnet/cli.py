"""The ``blasnet`` command."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np

from . import _core, cli_args, demo
from ._paths import checked_path
from .bench import command as bench_command
from .cli_data import class_indices, default_task, encode_classes, read_data
from .history import EpochRecord
from .loading import load
from .models import Sequential
from .training import EarlyStopping

#: What a user's data, files or sizes can raise, the library's documented exception types:
#: printed as one line, without a traceback. ValueError covers ModelFileError and
#: OnnxExportError, FloatingPointError NonFiniteError; MemoryError is a size the machine
#: cannot hold; an ImportError is an optional package that is not installed (``export``
#: needs onnx).
_USER_ERRORS = (OSError, ValueError, KeyError, FloatingPointError, OverflowError, MemoryError,
                ImportError)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line on stderr (not the usage block),
    exit status 2, as every other user mistake is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def cmake_dir() -> Path:
    """The folder holding blasnetConfig.cmake inside the installed package: with it on
    CMAKE_PREFIX_PATH, ``find_package(blasnet CONFIG REQUIRED)`` finds the headers, the static
    library and the OpenBLAS it calls.

    Examples
    --------
    >>> from blasnet.cli import cmake_dir
    >>> (cmake_dir() / "blasnetConfig.cmake").is_file()
    True
    """
    return Path(__file__).resolve().parent / "cmake"


class _PrintAndExit(argparse.Action):
    """An option that prints a fixed text and exits, like --version."""

    def __init__(self, option_strings: Sequence[str], dest: str, text: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)
        self.text = text

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(self.text)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    Examples
    --------
    >>> from blasnet.cli import build_parser
    >>> args = build_parser().parse_args(["train", "data.csv", "--target", "y",
    ...                                   "--out", "model.safetensors", "--hidden", "32,16"])
    >>> args.command, args.data, args.hidden, args.optimizer, args.epochs
    ('train', 'data.csv', [32, 16], 'adam', 100)
    """
    parser = _Parser(
        prog="blasnet",
        description="Feed-forward neural networks whose passes are BLAS matrix products.",
    )
    parser.add_argument("--version", action="version", version=f"blasnet {_core.__version__}")
    parser.add_argument(
        "--cmake-dir",
        action=_PrintAndExit,
        text=str(cmake_dir()),
        help="print the folder of blasnet's CMake package (for CMAKE_PREFIX_PATH) and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="train the note's XOR and cake and the shipped digits, beside NumPy",
        description="Trains the note's XOR (Figure 4) and two-class cake (Figure 1) examples "
        "and the shipped optical digits, each also with the plain NumPy reference from the "
        "same weights; prints what the networks learned, the accuracies and the training "
        "times side by side, and writes the pictures (decision regions, loss curves, "
        "timings) as PNG files.",
    )
    demo_parser.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                             help="precision of the networks (default float64)")
    demo_parser.add_argument("--seed", type=cli_args.seed, default=0,
                             help="seed of the weights, the data and the shuffling (default 0)")
    pictures = demo_parser.add_mutually_exclusive_group()
    pictures.add_argument("--plots", default="blasnet-demo", metavar="DIR",
                          help="folder for the PNG files (default ./blasnet-demo)")
    pictures.add_argument("--no-plots", dest="plots", action="store_const", const=None,
                          help="draw no pictures")

    bench_parser = commands.add_parser(
        "bench",
        help="time training steps of blasnet next to NumPy, PyTorch and scikit-learn",
        description="Times one training step and one epoch of each implementation, each in a "
        "process of its own, and prints the medians and their ratios to blasnet and to the "
        "GEMM floor. A short run; the full one is bench/run.py in the repository.",
    )
    bench_command.add_arguments(bench_parser)

    _add_train(commands)
    _add_predict(commands)
    _add_evaluate(commands)
    _add_export(commands)

    commands.add_parser(
        "info",
        help="show the version and the BLAS library in use",
        description="Prints blasnet's version, the BLAS library it calls and its thread count.",
    )
    return parser


_DATA_HELP = ("a CSV file with a header row, every cell numeric, or an NPZ file (name ending "
              "in .npz) with the features in an array X")
_CLASSES_NOTE = ("A classifier's classes are the distinct values of the target (names or "
                 "numbers); the model file keeps them, so predictions are these names.")


def _hidden_sizes(text: str) -> list[int]:
    """An argument type: comma-separated layer sizes, each a count."""
    try:
        return [cli_args.count(part) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"layer sizes like 64,64: {error}") from None


def _fraction(text: str) -> float:
    """An argument type: a share in [0, 1)."""
    value = cli_args.finite(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _add_train(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train a network on a CSV or NPZ file and write a model file",
        description="Trains a stack of dense layers on DATA and saves it, with the optimizer's "
        "state, to the model file --out (written atomically). The target column (CSV) or array "
        "(NPZ) is --target; every other CSV column is a feature. " + _CLASSES_NOTE + " A "
        "classifier ends in a softmax layer trained on softmax_cross_entropy; a regressor in an "
        "identity layer trained on mse.",
    )
    train.add_argument("data", metavar="DATA", help=_DATA_HELP)
    train.add_argument("--target", required=True, metavar="COLUMN",
                       help="the target column of a CSV, or the target array of an NPZ (e.g. y)")
    train.add_argument("--out", required=True, type=cli_args.output_file, metavar="MODEL",
                       help="the model file to write")
    train.add_argument("--task", choices=["classify", "regress"],
                       help="default: classify if the targets are names, or whole numbers with "
                       "at most 20 distinct values; else regress")
    train.add_argument("--hidden", type=_hidden_sizes, default=[64, 64], metavar="SIZES",
                       help="units of the hidden layers, comma-separated; '' for none "
                       "(default 64,64)")
    train.add_argument("--activation", default="relu",
                       help="activation of the hidden layers (default relu)")
    train.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                       help="the update rule (default adam)")
    train.add_argument("--lr", type=cli_args.finite, default=1e-3, help="learning rate (default 1e-3)")
    train.add_argument("--momentum", type=cli_args.finite, default=0.9,
                       help="momentum of sgd (default 0.9)")
    train.add_argument("--epochs", type=cli_args.count, default=100,
                       help="passes over the training samples (default 100)")
    train.add_argument("--batch-size", type=cli_args.count, default=32,
                       help="samples per gradient step (default 32)")
    train.add_argument("--validation", type=_fraction, default=0.1, metavar="FRACTION",
                       help="share of the samples held out for validation (default 0.1; 0: none)")
    train.add_argument("--patience", type=cli_args.count, metavar="N",
                       help="stop when the validation loss has not improved for N epochs, "
                       "keeping the best weights")
    train.add_argument("--seed", type=cli_args.seed, default=0,
                       help="seed of the weights, the split and the shuffling (default 0)")
    train.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                       help="precision of the network (default float64)")
    shown = train.add_mutually_exclusive_group()
    shown.add_argument("--table", dest="progress", action="store_false",
                       help="print a line per epoch (the default)")
    shown.add_argument("--progress", dest="progress", action="store_true",
                       help="show a progress bar instead of the table")
    train.set_defaults(progress=False)


def _add_predict(commands: Any) -> None:
    predict = commands.add_parser(
        "predict",
        help="write a model's predictions for a CSV or NPZ file as CSV",
        description="Writes one CSV row per sample of DATA: the class label (column 'label') "
        "for a classifier, with --proba also the probability of each class (p0, p1, ...); the "
        "output (column 'prediction', or y0, y1, ... for several) for a regressor. "
        "The features must be laid out as in training.",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file written by blasnet train")
    predict.add_argument("data", metavar="DATA", help=_DATA_HELP)
    predict.add_argument("--target", metavar="COLUMN",
                         help="a CSV column to ignore (the training target), if present")
    predict.add_argument("--out", type=cli_args.output_file, metavar="FILE", help="write here instead of to stdout")
    predict.add_argument("--proba", action="store_true",
                         help="add the class probabilities (classifiers)")


def _add_evaluate(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="print a model's loss, accuracy and confusion matrix on labelled data",
        description="Prints the loss on DATA; for a classifier also the accuracy and the "
        "confusion matrix (rows: true class, columns: predicted), for a regressor the RMSE. "
        + _CLASSES_NOTE,
    )
    evaluate.add_argument("model", metavar="MODEL", help="a model file written by blasnet train")
    evaluate.add_argument("data", metavar="DATA", help=_DATA_HELP)
    evaluate.add_argument("--target", required=True, metavar="COLUMN",
                          help="the target column of a CSV, or the target array of an NPZ")


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write a model file as ONNX, to serve it from onnxruntime or any ONNX runtime",
        description="Writes the Sequential, Graph or Perceptron in MODEL (a file written by "
        "blasnet train or by a model's save) to OUT as an ONNX model, checked by onnx.checker, "
        "with a dynamic batch dimension and the model's dtype. A Sequential reads 'X' and "
        "writes 'Y'; a Graph keeps its input and output names; a Perceptron reads 'x' and "
        "writes 'perceptron'. An RNN has no static graph and is refused. Needs the onnx "
        "package: pip install 'blasnet[onnx]'.",
    )
    export.add_argument("model", metavar="MODEL", help="a model file (.safetensors)")
    export.add_argument("out", type=cli_args.output_file, metavar="OUT", help="the ONNX file to write (atomically)")
    export.add_argument("--opset", type=cli_args.count, metavar="N",
                        help="the ONNX opset to target (default 17, at least 13)")


def _epoch_table(out: TextIO) -> Any:
    """A callback printing one row per epoch under a header, which it prints with the first
    row (an error before the first epoch leaves no table behind)."""

    def cell(value: float | None, width: int, spec: str) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"

    def show(record: EpochRecord) -> None:
        if record.epoch == 0:
            print(f"{'epoch':>5}  {'loss':>10}  {'val_loss':>10}  {'accuracy':>8}  "
                  f"{'val_acc':>8}  {'seconds':>8}", file=out)
        print(f"{record.epoch + 1:>5}  {cell(record.loss, 10, '.4g')}  "
              f"{cell(record.val_loss, 10, '.4g')}  {cell(record.accuracy, 8, '.3f')}  "
              f"{cell(record.val_accuracy, 8, '.3f')}  {cell(record.seconds, 8, '.4f')}",
              file=out)

    return show


def _train(args: argparse.Namespace, out: TextIO) -> int:
    from . import distributed

    # Under mpirun -n N (N > 1) every rank trains its part of each batch; rank 0 alone prints.
    comm = distributed.world()
    if comm is not None and comm.Get_rank() > 0:
        out = io.StringIO()
    X, y = read_data(args.data, args.target, need_target=True)
    assert y is not None
    task = args.task or default_task(y)
    layers = [_core.Dense(size, activation=args.activation) for size in args.hidden]
    targets: np.ndarray[Any, Any]
    classes = None
    if task == "classify":
        classes, targets = encode_classes(y, args.data)
        layers.append(_core.Dense(len(classes), activation="softmax"))
        loss = "softmax_cross_entropy"
        kind = f"classifier of {len(classes)} classes"
    else:
        if y.dtype.kind == "U":
            raise ValueError(f"{args.data}: the target '{args.target}' holds names, not "
                             "numbers: a regressor needs numeric targets (or use --task classify)")
        targets = y.reshape(len(y), -1)
        layers.append(_core.Dense(targets.shape[1]))
        loss = "mse"
        kind = f"regressor of {targets.shape[1]} output{'s' if targets.shape[1] > 1 else ''}"
    net = Sequential(layers, input_dim=X.shape[1], dtype=args.dtype, seed=args.seed)
    net.classes = classes
    optimizer: _core.Optimizer = (
        _core.Adam(lr=args.lr) if args.optimizer == "adam"
        else _core.SGD(lr=args.lr, momentum=args.momentum)
    )
    print(f"training a {kind} on {X.shape[0]} samples of {X.shape[1]} features", file=out)
    started = time.perf_counter()
    history = net.fit(
        X, targets, loss, optimizer, epochs=args.epochs, batch_size=args.batch_size,
        seed=args.seed, validation_fraction=args.validation or None,
        early_stopping=EarlyStopping(patience=args.patience) if args.patience else None,
        callbacks=() if args.progress else (_epoch_table(out),), verbose=args.progress,
        comm=comm,
    )
    if comm is None:
        net.save(args.out, optimizer=optimizer)
    else:
        distributed.save(net, args.out, comm, optimizer=optimizer)
    print(f"{history.epochs} epochs in {time.perf_counter() - started:.2f} s, final loss "
          f"{history.loss[-1]:.4g}; wrote {args.out}", file=out)
    return 0


def _load_sequential(path: str) -> tuple[Sequential, list[str | int | float] | None]:
    """The model in ``path`` and, for a classifier (one ending in softmax), its class names:
    those saved with it, else 0, 1, ..., k-1."""
    model = load(path)
    if not isinstance(model, Sequential):
        raise ValueError(f"{path}: holds a {type(model).__name__}; the command line runs "
                         "models written by blasnet train")
    if model.layers[-1].activation != "softmax":
        return model, None
    return model, model.classes or list(range(model.output_dim))


def _features(net: Sequential, X: np.ndarray[Any, Any], path: str) -> np.ndarray[Any, Any]:
    if X.shape[1] != net.input_dim:
        raise ValueError(f"{path}: {X.shape[1]} feature columns, the model expects "
                         f"{net.input_dim} (give --target to drop the target column)")
    return X


def _predict(args: argparse.Namespace, out: TextIO) -> int:
    net, classes = _load_sequential(args.model)
    X, _ = read_data(args.data, args.target, need_target=False)
    outputs = net.predict(_features(net, X, args.data))
    if args.out is None:
        _write_predictions(out, outputs, classes, args.proba)
    else:
        with open(checked_path(args.out), "w", encoding="utf-8", newline="") as file:
            _write_predictions(file, outputs, classes, args.proba)
    return 0


def _write_predictions(file: TextIO, outputs: np.ndarray[Any, Any],
                       classes: list[str | int | float] | None, proba: bool) -> None:
    """One CSV row per sample, each written as it is formatted (no copy of the whole text);
    the csv module quotes a class name that holds a comma or a quote."""
    writer = csv.writer(file, lineterminator="\n")
    if classes is None:
        writer.writerow(["prediction"] if outputs.shape[1] == 1 else [
            f"y{k}" for k in range(outputs.shape[1])])
        writer.writerows([f"{v:.10g}" for v in row] for row in outputs)
        return
    writer.writerow(["label"] + ([f"p_{name}" for name in classes] if proba else []))
    writer.writerows([str(classes[int(k)])] + ([f"{p:.6g}" for p in row] if proba else [])
                     for k, row in zip(np.argmax(outputs, axis=1), outputs))


def _evaluate(args: argparse.Namespace, out: TextIO) -> int:
    net, classes = _load_sequential(args.model)
    X, y = read_data(args.data, args.target, need_target=True)
    assert y is not None
    X = _features(net, X, args.data)
    print(f"{X.shape[0]} samples", file=out)
    if classes is None:
        targets = y.reshape(len(y), -1)
        if targets.shape[1] != net.output_dim:
            raise ValueError(f"{args.data}: {targets.shape[1]} target columns, the model has "
                             f"{net.output_dim} outputs")
        loss = net.evaluate(X, targets, "mse")
        rmse = float(np.sqrt(np.mean((net.predict(X) - targets) ** 2)))
        print(f"loss (mse): {loss:.6g}", file=out)
        print(f"RMSE: {rmse:.6g}", file=out)
        return 0
    k = net.output_dim
    labels = class_indices(y, classes, args.data)
    predicted = np.argmax(net.predict(X), axis=1)
    print(f"loss (softmax_cross_entropy): {net.evaluate(X, labels, 'softmax_cross_entropy'):.6g}",
          file=out)
    print(f"accuracy: {np.mean(predicted == labels):.4f}", file=out)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    names = [str(name) for name in classes]
    width = max(len(str(confusion.max())), *(len(name) for name in names))
    label_width = max(len(name) for name in names)
    print("confusion matrix (rows: true class, columns: predicted):", file=out)
    print(" " * (label_width + 1) + "".join(f"{name:>{width + 1}}" for name in names), file=out)
    for name, row in zip(names, confusion):
        print(f"{name:<{label_width + 1}}" + "".join(f"{n:>{width + 1}}" for n in row), file=out)
    return 0


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from .onnx_export import export

    # An RNN's file is refused by export, naming why (OnnxExportError, a ValueError).
    export(load(args.model), args.out, opset=args.opset)
    print(f"wrote {args.out}", file=out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    demo.run(out, dtype=args.dtype, seed=args.seed, plots_dir=args.plots)
    return 0


def _info(args: argparse.Namespace, out: TextIO) -> int:
    print(f"blasnet {_core.__version__}", file=out)
    print(f"BLAS: {_core.blas_config()}", file=out)
    print(f"BLAS threads: {_core.get_num_threads()}", file=out)
    return 0


_COMMANDS = {"train": _train, "predict": _predict, "evaluate": _evaluate, "export": _export,
             "demo": _demo, "bench": bench_command.main, "info": _info}

#: The library's argument names that its messages quote, per command, as that command's
#: options: "validation_fraction 0.01 of 49 samples ..." is "--validation 0.01 ...".
_OPTIONS = {
    "train": {"validation_fraction": "--validation", "batch_size": "--batch-size",
              "epochs": "--epochs", "patience": "--patience", "lr": "--lr",
              "momentum": "--momentum", "seed": "--seed"},
    "export": {"opset": "--opset"},
}


def _one_line(message: str, command: str) -> str:
    """``message`` as one printable line in the command's terms: runs of whitespace become
    one space, other control characters (a NUL or an escape from a file name or a cell)
    their escapes, so the terminal shows what the file holds."""
    words = " ".join(message.split())
    printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in words)
    return _in_option_terms(printable, command)


def _in_option_terms(message: str, command: str) -> str:
    """``message`` with the library's argument names, where they are followed by their
    value (``lr=0.0``, ``validation_fraction 0.01``), replaced by the command's options.
    A column or file named like an argument is quoted, so it is left as it is."""
    names = _OPTIONS.get(command, {})
    if not names:
        return message
    pattern = r"\b(" + "|".join(names) + r")(?==|\s[-+.\d])"
    return re.sub(pattern, lambda match: names[match.group(1)], message)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process's exit status.

    A user's mistake in any command — a missing or unreadable file, a missing column, a
    non-numeric or non-finite cell, a wrong number of features, a corrupt model file, a model
    ONNX cannot express, a size the machine cannot hold, a missing optional package — prints
    one line ``blasnet: error: ...`` on stderr and returns 2; Ctrl-C prints
    ``blasnet: interrupted`` and returns 130. An option out of its range, or
    an output file whose folder is missing, is refused before any work with one line
    ``blasnet COMMAND: error: ...`` and exit status 2 (SystemExit, as for ``--help``).

    Examples
    --------
    ``blasnet predict`` on a network saved from Python, y = x₁ + 2·x₂:

    >>> import os, tempfile
    >>> import blasnet as bn
    >>> from blasnet.cli import main
    >>> folder = tempfile.mkdtemp()
    >>> net = bn.Sequential([bn.Dense(1)], input_dim=2)
    >>> net.parameters()["0.W"][:] = [[1.0, 2.0]]
    >>> net.save(os.path.join(folder, "net.safetensors"))
    >>> with open(os.path.join(folder, "data.csv"), "w") as file:
    ...     _ = file.write("x1,x2\\n1,1\\n2,0.5\\n")
    >>> main(["predict", os.path.join(folder, "net.safetensors"), os.path.join(folder, "data.csv")])
    prediction
    3
    3
    0
    >>> main(["predict", os.path.join(folder, "missing.safetensors"),
    ...       os.path.join(folder, "data.csv")])  # the error is one line on stderr
    2
    """
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, sys.stdout)
    except _USER_ERRORS as error:
        print(f"blasnet: error: {_one_line(str(error), args.command) or type(error).__name__}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: the library stopped at a batch boundary; a model file is written whole or
        # not at all, so there is nothing to report but the stop. 130 = 128 + SIGINT.
        print("blasnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
