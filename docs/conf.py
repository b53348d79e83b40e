"""Sphinx configuration of blasnet's documentation (docs/build.sh builds it)."""

from __future__ import annotations

import re

from sphinx.application import Sphinx

import blasnet

project = "blasnet"
author = "blasnet contributors"
copyright = "blasnet contributors"
release = blasnet.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# The tutorial writes the note's equations in $…$ and $$…$$; headings get anchors for links.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# The API pages list each class's members with autodoc; numpydoc's own member tables would
# repeat them.
numpydoc_show_class_members = False
autodoc_member_order = "bysource"

html_theme = "furo"
html_title = f"blasnet {release}"

# Show NumPy's typing aliases by name in signatures rather than as the unions they stand for.
autodoc_type_aliases = {
    "npt.ArrayLike": "numpy.typing.ArrayLike",
    "npt.DTypeLike": "numpy.typing.DTypeLike",
    "npt.NDArray": "numpy.typing.NDArray",
}
autodoc_typehints_format = "short"
autoclass_content = "both"  # pybind11 classes: the signature lives in __init__.__doc__

# pybind11 writes signatures as "(self: blasnet._core.SGD, lr: SupportsFloat | SupportsIndex)";
# show them as the stubs (python/blasnet/_core.pyi) do: "(lr: float)".
_PYBIND_TYPES = {
    "SupportsFloat | SupportsIndex": "float",
    "SupportsInt | SupportsIndex": "int",
    "typing.SupportsFloat | typing.SupportsIndex": "float",
    "typing.SupportsInt | typing.SupportsIndex": "int",
}


def _tidy_signature(
    app: Sphinx, what: str, name: str, obj: object, options: object, signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    if signature is None:
        return None
    signature = re.sub(r"^\(self: [\w.]+(, )?", "(", signature)
    for spelled, plain in _PYBIND_TYPES.items():
        signature = signature.replace(spelled, plain)
    # An alias of autodoc_type_aliases nested in another type prints as its forward reference.
    signature = re.sub(r"TypeAliasForwardRef\('([\w.]+)'\)", r"\1", signature)
    return signature, return_annotation


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-signature", _tidy_signature)
