"""The package's shape (issue #14): no import cycle, public names only outside the package,
small modules and functions, and ``gcnn.pretrained`` both callable and the registry's home."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "gcnn"
#: The core, shaped by other work: its size is not checked here.
CORE = {"gcnn.groups", "gcnn.kernels", "gcnn.layers", "gcnn.models", "gcnn.equivariance"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The gcnn modules ``name`` imports, at any depth of its code (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from X import y`` imports X, and X.y when y is a module
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    state: Dict[str, int] = {}  # 1: on the stack, 2: done
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_gcnn_import_graph_has_no_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # A package's own __init__ runs before its submodules; an import of the package from one
    # of its submodules is not a cycle Python would trip on, so such edges are left out.
    graph = {name: {t for t in targets if not name.startswith(t + ".")}
             for name, targets in graph.items()}
    assert graph["gcnn.pretrained"] >= {"gcnn.checkpoint", "gcnn.experiments"}
    assert "gcnn.train" not in graph["gcnn.pretrained"]
    assert _find_cycle(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) == []


def _code_of_notebook(path: Path) -> Iterator[str]:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            # IPython magics and shell escapes are not Python: `pass` in their place
            yield "\n".join(line[: len(line) - len(line.lstrip())] + "pass"
                            if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _private_uses(code: str) -> List[str]:
    """Private names of gcnn that ``code`` imports or reaches through an attribute."""
    tree = ast.parse(code)
    gcnn_names: Set[str] = set()
    bad: List[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "gcnn":
                    gcnn_names.add((a.asname or a.name).split(".")[0])
                    bad += [p for p in a.name.split(".") if p.startswith("_")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gcnn":
            bad += [p for p in node.module.split(".") if p.startswith("_")]
            for a in node.names:
                gcnn_names.add(a.asname or a.name)
                if a.name.startswith("_"):
                    bad.append(f"{node.module}.{a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in gcnn_names:
                bad.append(f"{ast.unparse(node)}")
    return bad


def test_the_private_name_check_finds_private_names():
    assert _private_uses("from gcnn.train import _parser") == ["gcnn.train._parser"]
    assert _private_uses("from gcnn import train as T\nT._parser()") == ["T._parser"]
    assert _private_uses("import gcnn\ngcnn.layers._GroupConvBase") == [
        "gcnn.layers._GroupConvBase"]
    assert _private_uses("import gcnn\nimport torch\ngcnn.__version__, torch._C") == []


@pytest.mark.parametrize("path", sorted((REPO / "book").glob("*.ipynb"))
                         + sorted((REPO / "scripts").glob("*.py")), ids=lambda p: p.name)
def test_notebooks_and_scripts_use_public_names_only(path):
    codes = _code_of_notebook(path) if path.suffix == ".ipynb" else [path.read_text("utf-8")]
    bad = [name for code in codes for name in _private_uses(code)]
    assert bad == [], f"{path.name} uses private names of gcnn: {bad}"


def test_upper_floors_are_small_modules_of_short_functions():
    """No module over 400 lines; no function body over 60 lines (docstring not counted)."""
    too_long = []
    for name, path in _modules().items():
        if name in CORE:
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(
                        getattr(body[0], "value", None), ast.Constant):
                    body = body[1:]
                if body and body[-1].end_lineno - body[0].lineno + 1 > 60:
                    too_long.append(f"{name}.{node.name}")
    assert too_long == []


def test_pretrained_is_callable_and_carries_the_registry():
    import gcnn
    from gcnn.experiments import SHIPPED
    from gcnn.pretrained import PRETRAINED, pretrained

    assert gcnn.pretrained.PRETRAINED is PRETRAINED is SHIPPED
    assert callable(gcnn.pretrained) and gcnn.pretrained.pretrained is pretrained
    model = gcnn.pretrained("cnn")
    assert not model.training and model.config == gcnn.pretrained_metrics("cnn")["model_config"]
    with pytest.raises(ValueError, match="unknown pretrained model"):
        gcnn.pretrained("resnet")


def test_every_public_name_of_gcnn_is_there():
    import gcnn

    missing = [n for n in gcnn.__all__ if not hasattr(gcnn, n)]
    assert missing == [] and len(set(gcnn.__all__)) == len(gcnn.__all__)


def test_pyproject_lists_every_package_folder():
    # A folder of gcnn missing from [tool.setuptools] packages is missing from the wheel (and
    # from `pip install git+...`, as the notebooks' Colab cell does), though the editable
    # install of the tests still finds it.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "gcnn").rglob("__init__.py")}
    assert folders == listed
