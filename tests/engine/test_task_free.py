"""engine/ is task-free: its code names no task or model and never probes a model with
hasattr/getattr (the trainer calls declared hooks). Scanned with tokenize/ast, so comments
and docstrings do not count."""
import ast
import io
import re
import tokenize
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "ernie_res" / "engine"

FORBIDDEN_PARTS = {"vae", "aggressive", "doc", "seq", "rel", "gen"}
FORBIDDEN_NAMES = {"encoder_parameters", "set_final_eval"}
WORD = re.compile(r"\b(" + "|".join(sorted(FORBIDDEN_PARTS | FORBIDDEN_NAMES)) + r")\b",
                  re.IGNORECASE)


def _docstring_lines(tree):
    """Start positions of every docstring (module, class, function)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add((body[0].lineno, body[0].col_offset))
    return out


def task_or_model_names(source):
    """Task or model names used in code: an identifier equal to a forbidden name or with one
    as an ``_``-separated part (``vae_beta``, ``is_aggressive``), and a forbidden word in a
    string literal that is not a docstring (``task == "doc"``). Comments, docstrings and
    longer words (``document``, ``generator``, ``release``) do not count."""
    docstrings = _docstring_lines(ast.parse(source))
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME:
            parts = set(tok.string.lower().split("_"))
            if tok.string in FORBIDDEN_NAMES or parts & FORBIDDEN_PARTS:
                hits.append((tok.start[0], tok.string))
        elif tok.type == tokenize.STRING and tok.start not in docstrings:
            hits += [(tok.start[0], m.group(0)) for m in WORD.finditer(tok.string)]
    return hits


def attribute_probes_on_the_model(source, func):
    """``hasattr(model, ...)``/``getattr(self.model, ...)`` calls (``func`` is the name)."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == func and node.args:
            target = node.args[0]
            name = target.id if isinstance(target, ast.Name) else \
                target.attr if isinstance(target, ast.Attribute) else ""
            if name in ("model", "net") or name.endswith("_model"):
                hits.append(node.lineno)
    return hits


def engine_sources():
    files = sorted(ENGINE.glob("*.py"))
    assert {f.name for f in files} >= {"trainer.py", "step_context.py", "evaluation.py",
                                       "checkpoint.py", "export.py"}
    return {f.name: f.read_text(encoding="utf-8") for f in files}


def test_the_source_scanners_catch_what_they_look_for():
    bad = ('"""A docstring may say vae, doc and seq."""\n'
           "def f(model, task):\n"
           "    # a comment may say aggressive\n"
           "    model.encoder_parameters()\n"
           "    vae_beta = 1\n"
           "    if task.name == 'doc':\n"
           "        model.set_final_eval()\n"
           "    if hasattr(model, 'x') or getattr(self.model, 'y', None):\n"
           "        return is_aggressive\n")
    assert task_or_model_names(bad) == [(4, "encoder_parameters"), (5, "vae_beta"),
                                        (6, "doc"), (7, "set_final_eval"),
                                        (9, "is_aggressive")]
    assert attribute_probes_on_the_model(bad, "hasattr") == [8]
    assert attribute_probes_on_the_model(bad, "getattr") == [8]
    fine = ('"""Documents, sequences, relations and generation."""\n'
            "def f(document, generator, release, sequence, regenerate):\n"
            "    return getattr(document, 'x', 0), f'{release} documents, docs/a.md'\n")
    assert task_or_model_names(fine) == []
    assert attribute_probes_on_the_model(fine, "getattr") == []


def test_engine_code_names_no_task_and_no_model():
    hits = {name: task_or_model_names(src) for name, src in engine_sources().items()}
    assert {name: h for name, h in hits.items() if h} == {}


def test_engine_never_asks_hasattr_on_the_model():
    hits = {name: attribute_probes_on_the_model(src, "hasattr")
            for name, src in engine_sources().items()}
    assert {name: h for name, h in hits.items() if h} == {}


def test_engine_never_asks_getattr_on_the_model():
    hits = {name: attribute_probes_on_the_model(src, "getattr")
            for name, src in engine_sources().items()}
    assert {name: h for name, h in hits.items() if h} == {}
