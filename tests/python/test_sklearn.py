"""blasnet.sklearn: scikit-learn's estimator checks, pipelines, grid search, and accuracy on digits
next to scikit-learn's own MLPClassifier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.model_selection import GridSearchCV, train_test_split  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
from sklearn.utils.estimator_checks import parametrize_with_checks  # type: ignore[import-untyped]

import blasnet as bn


import blasnet.sklearn as bsk

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks(  # type: ignore[untyped-decorator]
    [
        bsk.MLPClassifier(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01, random_state=0),
        bsk.MLPRegressor(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01, random_state=0),
        bsk.Perceptron(max_iter=5, random_state=0),
    ],
    expected_failed_checks=bsk.expected_failed_checks,
)
def test_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def _digits() -> tuple[Any, Any, Any, Any]:
    X, y = bn.datasets.load_digits()
    split: list[Any] = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    return split[0], split[1], split[2], split[3]


def test_pipeline_accuracy_close_to_sklearn() -> None:
    X_train, X_test, y_train, y_test = _digits()
    settings: dict[str, Any] = {"hidden_layer_sizes": (64,), "max_iter": 60, "random_state": 0}
    ours = make_pipeline(StandardScaler(), bsk.MLPClassifier(**settings)).fit(X_train, y_train)
    theirs = make_pipeline(StandardScaler(), SkMLPClassifier(**settings)).fit(X_train, y_train)
    ours_score, theirs_score = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    assert ours_score > 0.93
    assert ours_score >= theirs_score - 0.02


def test_fitted_attributes_follow_sklearn() -> None:
    X_train, _, y_train, _ = _digits()
    clf = bsk.MLPClassifier((16, 8), max_iter=5, random_state=0, early_stopping=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train / 16, y_train)
    assert [c.shape for c in clf.coefs_] == [(64, 16), (16, 8), (8, 10)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (10,)]
    assert len(clf.loss_curve_) == clf.n_iter_ == 5
    assert clf.validation_scores_ is not None and len(clf.validation_scores_) == 5
    assert clf.out_activation_ == "softmax"
    np.testing.assert_allclose(clf.predict_proba(X_train[:3] / 16).sum(axis=1), 1.0, rtol=1e-6)
    binary = bsk.MLPClassifier((4,), max_iter=3, random_state=0).fit(X_train[:50], y_train[:50] > 4)
    assert binary.out_activation_ == "logistic" and binary.coefs_[-1].shape == (4, 1)
    assert binary.predict_proba(X_train[:5]).shape == (5, 2)


def test_partial_fit_needs_classes_first() -> None:
    X_train, _, y_train, _ = _digits()
    clf = bsk.MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_train, y_train)
    clf.partial_fit(X_train[:100], y_train[:100], classes=np.arange(10))
    clf.partial_fit(X_train[100:], y_train[100:])
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2


def test_grid_search() -> None:
    X_train, X_test, y_train, y_test = _digits()
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), bsk.MLPClassifier(max_iter=15, random_state=0)),
        {"mlpclassifier__hidden_layer_sizes": [(8,), (32,)]},
        cv=2,
    ).fit(X_train, y_train)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] == (32,)
    assert grid.score(X_test, y_test) > 0.8


def test_perceptron_one_vs_rest() -> None:
    X_train, X_test, y_train, y_test = _digits()
    clf = bsk.Perceptron(max_iter=20, random_state=0).fit(X_train, y_train)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert clf.score(X_test, y_test) > 0.85


def test_start_weights_are_drawn_like_scikit_learns() -> None:
    """Every W and b within ±√(k / (fan_in + fan_out)), k = 6 (2 for logistic units), and
    spread over that range (one Adam step of 1e-3 later): scikit-learn's start, not He's
    wider one for relu."""
    X, y = bn.datasets.load_digits()
    for activation, k in [("relu", 6.0), ("logistic", 2.0)]:
        clf = bsk.MLPClassifier((50,), activation=activation, max_iter=1, random_state=0)
        clf.partial_fit(X[:1] / 16, y[:1], classes=np.arange(10))  # one step of Adam
        for W, b in zip(clf.coefs_, clf.intercepts_):
            bound = np.sqrt(k / sum(W.shape))
            assert np.abs(W).max() <= bound * 1.05 and np.abs(W).max() > 0.9 * bound


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_scores_match_scikit_learn_on_the_same_data_and_settings(solver: str) -> None:
    """Held-out accuracy on digits and R² on a Friedman regression, each within 0.015 of
    scikit-learn's estimator given the same arguments (bench/estimators.py times them)."""
    from sklearn.datasets import make_friedman1  # type: ignore[import-untyped]
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    X, y = bn.datasets.load_digits()
    Xf, yf = make_friedman1(n_samples=2000, n_features=10, noise=0.3, random_state=0)
    yf = (yf - yf.mean()) / yf.std()
    extra = {"learning_rate_init": 0.05, "momentum": 0.9} if solver == "sgd" else {}
    cases: list[tuple[type, type, tuple[Any, Any], dict[str, Any]]] = [
        (bsk.MLPClassifier, SkMLPClassifier, (X / 16, y), {"hidden_layer_sizes": (64,)}),
        (bsk.MLPRegressor, SkMLPRegressor, (Xf, yf), {"hidden_layer_sizes": (64, 64)}),
    ]
    for ours, theirs, (data, target), arguments in cases:
        a, b, c, d = train_test_split(data, target, test_size=0.25, random_state=0)
        settings = dict(arguments, solver=solver, batch_size=32, max_iter=40, tol=0.0,
                        random_state=0, **extra)
        with pytest.warns(ConvergenceWarning):
            mine = ours(**settings).fit(a, c).score(b, d)
        with pytest.warns(ConvergenceWarning):
            reference = theirs(**settings).fit(a, c).score(b, d)
        assert abs(mine - reference) < 0.015, (ours.__name__, mine, reference)


def test_unpickling_goes_through_the_model_file_checks() -> None:
    """The estimators' networks pickle as model files (one serialization path), so a pickle
    is checked as blasnet.load checks a file before anything is built from it."""
    import pickle

    X, y = bn.datasets.cake(n_samples=40, spread=0.3, seed=0)
    reg = bsk.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, y.astype(float))
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    clf = bsk.Perceptron(max_iter=2).fit(X, y)
    assert np.array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))
    for model in (reg.network_, clf.perceptron_):
        rebuild, (data,) = model.__reduce__()
        with pytest.raises(bn.ModelFileError, match="model bytes"):
            rebuild(data[: len(data) // 2])
        header_claims_more = (2**40).to_bytes(8, "little") + data[8:]
        with pytest.raises(bn.ModelFileError, match="model bytes"):
            rebuild(header_claims_more)
