"""Sphinx configuration: the user guide (README.md, through myst-parser) and the API
reference (autodoc + numpydoc of the public ``winit`` namespace).

    pip install ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

tests/test_docs.py builds them too and fails on any warning from these sources (and,
with WINIT_DOCS_STRICT=1, from winit's docstrings: the target is a ``-W`` build).

It documents the winit that Python imports (``python -m sphinx`` run from the checkout
puts the checkout first); a checkout that is not built in place (no compiled kernels)
gives way to the installed winit, and the checkout is the last resort.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_winit():
    """The winit on sys.path (this checkout last), skipping an unbuilt checkout."""
    sys.path.append(ROOT)
    try:
        return importlib.import_module("winit")
    except ImportError:  # an unbuilt checkout (no compiled kernels) shadows the installed one
        for name in [m for m in sys.modules if m == "winit" or m.startswith("winit.")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]
    try:
        return importlib.import_module("winit")
    except ImportError as exc:
        raise ImportError("the docs import winit: pip install '.[docs]' (or build this checkout "
                          "in place: python setup.py build_ext --inplace)") from exc


winit = _import_winit()

project = "winit"
author = "the winit developers"
copyright = "the winit developers"
version = release = winit.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
nitpicky = False

# The optional modules import their library at the top (winit.dask: dask, winit.jax: jax,
# winit.keras: keras) or inside functions (winit.hf: torch, transformers); a library that is
# not installed is replaced by a stand-in, so the reference builds without it. Keras 3 needs a
# backend before it is first imported: JAX's when installed, else its numpy backend.
os.environ.setdefault("KERAS_BACKEND", "jax" if importlib.util.find_spec("jax") else "numpy")
autodoc_mock_imports = [m for m in ("dask", "jax", "keras", "torch", "transformers")
                        if importlib.util.find_spec(m) is None]
if "keras" in autodoc_mock_imports:
    # Keras' registering decorator, a stand-in too, would hide WinitInitializer's methods
    # behind the stand-in, and its stand-in base class its signature: document the class the
    # decorator was given, with the signature of its __init__.
    from sphinx.ext.autodoc.mock import mock, undecorate

    with mock(["keras"]):
        _winit_keras = importlib.import_module("winit.keras")
    _cls = undecorate(_winit_keras.WinitInitializer)
    _init = inspect.signature(_cls.__init__)
    _cls.__signature__ = _init.replace(parameters=list(_init.parameters.values())[1:])
    _winit_keras.WinitInitializer = _cls
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc Parameters sections say it

numpydoc_show_class_members = False  # members are listed by autodoc's :members:
numpydoc_xref_param_type = False
# Docstring checks (warnings): every parameter documented (PR01), no documented parameter
# that does not exist (PR02), a Returns section where a value is returned (RT01).
numpydoc_validation_checks = {"PR01", "PR02", "RT01"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__repr__$", r"\.__str__$"}

myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"winit {release}"
