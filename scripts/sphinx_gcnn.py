"""A small Sphinx extension for the book's API reference (loaded from ``_config.yml``).

It keeps the docstrings of :mod:`gcnn` free of Sphinx workarounds, so that
``jupyter-book build . -W -n`` (warnings are errors, every cross-reference must resolve) passes:

* **Re-exported names.** ``gcnn.CyclicGroup`` is documented where it is defined,
  ``gcnn.groups.CyclicGroup``. A reference to the short name resolves to the defining one.
* **Short names inside gcnn.** ``:meth:`Group.left_action_on_R2``` written in another module
  resolves when exactly one documented ``gcnn`` object ends with that name (the same search a
  leading ``.`` asks for). Two or more candidates still fail the build.
* **Private base classes.** ``class LiftingConvolution(_GroupConvBase)`` is shown with the public
  bases of ``_GroupConvBase`` instead (``torch.nn.Module``), since private classes are not
  documented.
* **Plain attribute docstrings.** For attributes, data and properties, Napoleon reads
  ``"Word: text"`` on the first docstring line as ``type: description`` and emits a reference to
  a type called ``Word``. The types here come from the annotations, so an empty reST comment
  (``..`` and a blank line) is put in front; Napoleon then keeps the text as it is.

And one fix for the pages themselves:

* **Inline scripts once.** Sphinx 7.4 writes an inline ``<script>`` that an extension adds after
  the builder started twice (once as filename ``None``, once as ``''``). sphinx-thebe's
  ``const THEBE_JS_URL = ...`` then throws "Identifier 'THEBE_JS_URL' has already been
  declared" on every page. Duplicates are dropped from each page's script list.

And the browser packages the pages load (MathJax), served from the book itself:

* **Web assets.** Every package of ``scripts/web_assets.py`` that is staged in ``.web_assets/``
  is added to ``html_static_path`` (it lands in ``_static/<target>/``), except those marked
  ``static=False`` (onnxruntime-web, which the live demo copies itself). When MathJax is not
  staged, ``mathjax_path`` falls back to Sphinx's CDN default and a note (not a warning: a
  reader's ``-W`` build without npm still passes, with math that needs a network) says how to
  fetch it. The browser test, which runs offline, then fails on the missing local MathJax.
"""

from __future__ import annotations

import importlib
from typing import Any, List, Optional

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

import web_assets

logger = logging.getLogger(__name__)

PACKAGE = "gcnn"
#: Sphinx 7's default ``mathjax_path``, used only when MathJax is not staged.
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"


def _import_dotted(name: str) -> Optional[Any]:
    """The object called ``name`` (``pkg.mod.Class.attr``), or None when it cannot be imported."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _canonical_name(target: str) -> Optional[str]:
    """``gcnn.groups.CyclicGroup`` for ``gcnn.CyclicGroup``; None when nothing changes."""
    obj = _import_dotted(target)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return None
    canonical = f"{module}.{qualname}"
    if canonical == target or not canonical.startswith(PACKAGE + "."):
        return None
    return canonical


def _missing_reference(app: Sphinx, env, node: nodes.Element, contnode: nodes.Element):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    fromdoc = node.get("refdoc", env.docname)
    reftype = node["reftype"]

    def resolve(name: str):
        return domain.resolve_xref(env, fromdoc, app.builder, reftype, name, node, contnode)

    if target.startswith(PACKAGE + "."):
        canonical = _canonical_name(target)
        if canonical is not None:
            return resolve(canonical)
        return None

    if target.startswith(".") or node.get("refspecific"):
        return None  # the domain already did the fuzzy search
    candidates = [
        name
        for name, _obj in domain.find_obj(
            env, node.get("py:module"), node.get("py:class"), target, reftype, 1
        )
        if name.startswith(PACKAGE + ".")
    ]
    if len(candidates) == 1:
        return resolve(candidates[0])
    return None


def _public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: List[type]) -> None:
    result: List[type] = []

    def add(base: type) -> None:
        if base.__name__.startswith("_") and base.__module__.startswith(PACKAGE):
            for parent in base.__bases__:
                add(parent)
        elif base not in result:
            result.append(base)

    for base in list(bases):
        add(base)
    bases[:] = result


def _plain_attribute_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                               lines: List[str]) -> None:
    if what in ("attribute", "data", "property") and any(line.strip() for line in lines):
        lines[:0] = ["..", ""]


def _script_key(script: Any) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", script) or "", getattr(script, "priority", 500),
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                            doctree: Any) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _serve_web_assets(app: Sphinx, config: Config) -> None:
    for pkg in web_assets.PACKAGES:
        if not pkg.static:
            continue  # copied by its page hook (onnxruntime-web: scripts/gcnn_live.py)
        if web_assets.is_staged(pkg):
            config.html_static_path = [*config.html_static_path, str(pkg.folder)]
            continue
        logger.info(f"NOTE: {pkg.name}@{pkg.version} is not in {web_assets.VENDOR}; run "
                    f"'python scripts/web_assets.py' (npm) to serve it with the book.",
                    color="red")
        if pkg is web_assets.MATHJAX:
            logger.info(f"NOTE: formulas load MathJax from {MATHJAX_CDN} instead: they render "
                        f"only online.", color="red")
            config.mathjax_path = MATHJAX_CDN


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("config-inited", _serve_web_assets)
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-process-bases", _public_bases)
    # before sphinx.ext.napoleon (priority 500)
    app.connect("autodoc-process-docstring", _plain_attribute_docstring, priority=400)
    # after the handlers that add page scripts (myst-nb's ipywidgets, priority 500)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    # the live demo (scripts/gcnn_live.py): its files in _static/gcnn-live, its script on its pages
    app.setup_extension("gcnn_live")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
