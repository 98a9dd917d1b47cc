"""The package reads top-down: no import cycles between files and no import that goes up the
declared layer order. Every import counts, function-local ones included (parsed with ``ast``,
not executed).

Layers, lowest first (a module may import from a lower layer, or from its own subpackage;
subpackages that share a layer are siblings and must not import each other):

    0  config, utils, predict_options
    1  data, layers
    2  metrics                    (reads data's label sets and tag rules)
    3  models
    4  engine, tasks              (engine is task-free; tasks bind data + models + metrics)
    5  api                        (the assembly: config -> task -> model -> engine)
    6  tools/*.py, benchmarks/*.py
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ernie_res"
LAYERS = [("config", "utils", "predict_options"), ("data", "layers"), ("metrics",), ("models",),
          ("engine", "tasks"), ("api",), ("inference_dir",), ("predictor",)]
RANK = {part: i for i, parts in enumerate(LAYERS) for part in parts}
TOP = len(LAYERS)                  # tools and benchmarks
#: function-local imports are allowed only for these: slow to import and needed by few
#: calls (PaddleNLP takes 4-5 s, VisualDL and Matplotlib about 1 s; paddle where a module
#: otherwise runs without it, e.g. paddle.inference), or POSIX-only (fcntl)
LOCAL_IMPORT_ALLOWED = {"paddlenlp", "visualdl", "matplotlib", "PIL", "paddle", "fcntl"}


def _module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    files = sorted((ROOT / PACKAGE).rglob("*.py"))
    files += sorted((ROOT / "tools").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    return files


def _imports(path):
    """``[(imported module, line, is_function_local)]`` for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    local_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    local_lines.add(inner.lineno)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, node.lineno in local_lines) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            # "from ernie_res.models import base" imports the submodule ernie_res.models.base
            for a in node.names:
                full = f"{base}.{a.name}"
                target = full if (ROOT / Path(*full.split("."))).with_suffix(".py").is_file() \
                    or (ROOT / Path(*full.split(".")) / "__init__.py").is_file() else base
                out.append((target, node.lineno, node.lineno in local_lines))
    return out


def _rank(module):
    """Layer rank of an ernie_res module (TOP for tools/benchmarks)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return TOP
    if len(parts) == 1:
        return -1                # the package __init__: the version, and Predictor lazily
    return RANK[parts[1]]


def _group(module):
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else parts[0]


def _graph():
    """``{module: (path, [(imported module, line, is_local)])}`` over every source file."""
    return {_module_name(path): (path, _imports(path)) for path in _sources()}


def layer_violations(graph):
    bad = []
    for mod, (path, imports) in graph.items():
        here = _rank(mod)
        for target, line, local in imports:
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            if mod == PACKAGE and local and target == f"{PACKAGE}.predictor":
                continue       # the lazy `from ernie_res import Predictor` (module __getattr__)
            there = _rank(target)
            same_part = _group(target) == _group(mod)
            if there > here or (there == here and not same_part):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {mod} (layer {here}) imports "
                           f"{target} (layer {there})")
    return bad


def cycles(graph):
    """Every cycle found by a depth-first search over file-to-file imports."""
    edges = {m: sorted({t for t, _, local in imps if t in graph and t != m
                        and not (m == PACKAGE and local)})   # lazy: runs after both load
             for m, (_, imps) in graph.items()}
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_every_package_part_has_a_layer():
    parts = {p.name if p.is_dir() else p.stem for p in (ROOT / PACKAGE).iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file())
             or (p.suffix == ".py" and p.stem != "__init__")}
    assert parts <= set(RANK), f"declare a layer for {sorted(parts - set(RANK))}"


def test_no_upward_or_sideways_imports():
    bad = layer_violations(_graph())
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_import_cycles_between_files():
    found = cycles(_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_function_local_imports_are_only_for_optional_or_heavy_dependencies():
    bad = []
    for mod, (path, imports) in _graph().items():
        if not mod.startswith(PACKAGE):
            continue
        for target, line, local in imports:
            if local and target.split(".")[0] not in LOCAL_IMPORT_ALLOWED \
                    and (mod, target) != (PACKAGE, f"{PACKAGE}.predictor"):
                bad.append(f"{path.relative_to(ROOT)}:{line}: local import of {target}")
    assert not bad, "move these imports to the top of their module:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("from ernie_res.engine.trainer import Trainer\n", "ernie_res.engine.trainer"),
    ("def f():\n    from ernie_res.tasks import TASKS\n", "ernie_res.tasks"),
    ("from ernie_res.models import base\n", "ernie_res.models.base"),
    ("import ernie_res.layers.crf\n", "ernie_res.layers.crf"),
])
def test_the_parser_sees_top_level_and_local_imports(tmp_path, source, expected):
    f = tmp_path / "probe.py"
    f.write_text(source, encoding="utf-8")
    assert expected in [t for t, _, _ in _imports(f)]


def test_the_checks_catch_a_planted_upward_import_and_cycle():
    """Tests that can fail: plant models -> engine, and a two-file cycle, and see both."""
    graph = _graph()
    path, imports = graph["ernie_res.models.doc_classifier"]
    graph["ernie_res.models.doc_classifier"] = (path, imports + [
        ("ernie_res.engine.trainer", 1, False)])
    assert any("doc_classifier.py:1: ernie_res.models.doc_classifier (layer 3) imports "
               "ernie_res.engine.trainer (layer 4)" in b for b in layer_violations(graph))
    path, imports = graph["ernie_res.layers.residual"]
    graph["ernie_res.layers.residual"] = (path, imports + [("ernie_res.layers.crf", 1, False)])
    path, imports = graph["ernie_res.layers.crf"]
    graph["ernie_res.layers.crf"] = (path, imports + [("ernie_res.layers.residual", 1, False)])
    assert any({"ernie_res.layers.crf", "ernie_res.layers.residual"} <= set(c)
               for c in cycles(graph))


def test_import_ernie_res_imports_nothing_else_and_predictor_is_lazy():
    import subprocess
    import sys

    code = ("import sys, ernie_res; loaded = sorted(m for m in sys.modules if m.startswith("
            "('ernie_res.', 'paddle'))); print(loaded); from ernie_res import Predictor; "
            "print(Predictor.__module__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == ["[]", "ernie_res.predictor"]
