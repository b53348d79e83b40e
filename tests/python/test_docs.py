"""The documentation's code runs and prints what the pages say.

Every ```pycon block of every docs/**/*.md page is a doctest; the blocks of one page share
their names, in order, as a reader running them one after another would. A page whose
output drifts from the library's fails here. The API reference pages must name every public
name of the modules they cover.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import blasnet as bn

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[^}]*\})?\s*([\w-]*)")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def pycon_only(text: str) -> str:
    """The page with every line outside a ```pycon block blanked, so doctest sees only the
    examples and its line numbers are the page's."""
    kept: list[str] = []
    fence: str | None = None
    in_pycon = False
    for line in text.splitlines():
        match = FENCE.match(line.strip())
        if fence is None and match:
            fence, in_pycon = match.group(1), match.group(3) == "pycon"
            kept.append("")
        elif fence is not None and line.strip() == fence:
            fence, in_pycon = None, False
            kept.append("")
        else:
            kept.append(line if in_pycon else "")
    return "\n".join(kept) + "\n"


def page_test(page: Path) -> doctest.DocTest:
    name = str(page.relative_to(DOCS))
    return doctest.DocTestParser().get_doctest(
        pycon_only(page.read_text(encoding="utf-8")), {}, name, str(page), 0
    )


def test_the_pages_are_found() -> None:
    names = {str(page.relative_to(DOCS)) for page in PAGES}
    assert {"index.md", "getting-started.md", "tutorial/xor.md", "howto/training.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages write their model files and CSVs to the working folder, as a reader would.
    monkeypatch.chdir(tmp_path)
    test = page_test(page)
    if page.parent.name == "tutorial" and page.name != "index.md":
        assert test.examples, f"{test.name}: a tutorial section without runnable code"
    threads = bn.get_num_threads()
    printing = np.get_printoptions()
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    try:
        runner.run(test)
    finally:
        bn.set_num_threads(threads)
        np.set_printoptions(**printing)
    failed, tried = runner.summarize(verbose=False)
    assert failed == 0, f"{test.name}: {failed} of {tried} examples failed (output above)"


def test_pycon_blocks_are_recognised() -> None:
    text = "a\n```pycon\n>>> 1 + 1\n2\n```\n```python\n>>> 1 + 1\n3\n```\n"
    test = doctest.DocTestParser().get_doctest(pycon_only(text), {}, "t", "t", 0)
    assert [(e.source, e.want, e.lineno) for e in test.examples] == [("1 + 1\n", "2\n", 2)]


@pytest.mark.parametrize(
    ("module", "page"),
    [
        ("blasnet", "blasnet.rst"),
        ("blasnet.schedules", "schedules.rst"),
        ("blasnet.datasets", "datasets.rst"),
        ("blasnet.sklearn", "sklearn.rst"),
        ("blasnet.plots", "plots.rst"),
        ("blasnet.distributed", "distributed.rst"),
        ("blasnet.onnx_export", "onnx_export.rst"),
    ],
)
def test_api_reference_covers_the_module(module: str, page: str) -> None:
    text = (DOCS / "api" / page).read_text(encoding="utf-8")
    if f".. automodule:: {module}\n   :members:\n" in text:
        return  # autodoc documents every public member itself
    imported = importlib.import_module(module)
    public = getattr(imported, "__all__", None) or [
        name for name, value in vars(imported).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module
    ]
    documented = set(re.findall(r"^\.\. \w+:: (?:[\w.]+\.)?(\w+)\s*$", text, re.MULTILINE))
    for listed in re.findall(r"^\s+:members: (.+)$", text, re.MULTILINE):
        documented |= {name.strip() for name in listed.split(",")}
    # Submodules in __all__ have pages of their own.
    missing = [name for name in public if name not in documented
               and not inspect.ismodule(getattr(imported, name))]
    assert not missing, f"docs/api/{page} does not document {missing}"
