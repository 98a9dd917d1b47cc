"""The options of prediction (``tools/infer.py`` flags, ``api.predict`` options) and the
values each accepts: one table, read by the argument parser and by ``api.predict`` alike.
Standard library only, so ``tools/infer.py --help`` stays fast."""
import math

#: prediction options (``tools/infer.py`` flags, ``api.predict`` options) and their ranges:
#: ``(kind, low, high)`` with ``kind`` "int" or "float"; ``low`` is inclusive for ints,
#: exclusive for floats; ``high`` (floats) is inclusive.
PREDICT_OPTIONS = {"top_k": ("int", 1, None), "batch_size": ("int", 1, None),
                   "num_samples": ("int", 1, None), "beam_size": ("int", 1, None),
                   "steps": ("int", 2, None), "max_len": ("int", 0, None),
                   "sample_top_k": ("int", 0, None), "temperature": ("float", 0, None),
                   "top_p": ("float", 0, 1), "sort_window": ("int", 0, None)}


def describe_predict_option(name):
    """``"an integer >= 1"``, ``"a number > 0"``, ``"a number in (0, 1]"``."""
    kind, low, high = PREDICT_OPTIONS[name]
    if kind == "int":
        return f"an integer >= {low}"
    return f"a number in ({low}, {high}]" if high is not None else f"a number > {low}"


def predict_option_ok(name, value):
    """Whether ``value`` is allowed for the ``predict`` option ``name``."""
    kind, low, high = PREDICT_OPTIONS[name]
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int) and value >= low
    return (isinstance(value, (int, float)) and math.isfinite(value) and value > low
            and (high is None or value <= high))


def check_predict_options(options):
    """Raise ``ValueError`` for a ``predict`` option outside its range (None = the default)."""
    for name in PREDICT_OPTIONS:
        value = options.get(name)
        if value is not None and not predict_option_ok(name, value):
            raise ValueError(f"{name}: expected {describe_predict_option(name)}, got "
                             f"{value!r}")
