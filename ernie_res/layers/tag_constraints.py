"""Valid tag transitions of chunk tagging schemes (IOB2, BIOES), for constrained CRFs.

A transition matrix mask built here makes constrained Viterbi decoding return only
well-formed tag sequences (``O -> I-X`` and ``B-X -> I-Y`` are forbidden in IOB2, and the
BIOES rules likewise), as in AllenNLP's ``allowed_transitions``.
"""
import numpy as np

_PREFIXES = {"IOB2": ("B", "I"), "BIOES": ("B", "I", "E", "S")}


def _parse_label(label, scheme):
    if label == "O":
        return "O", None
    prefix, sep, kind = label.partition("-")
    if not sep or not kind or prefix not in _PREFIXES[scheme]:
        raise ValueError(
            f"allowed_transitions: expected labels 'O' or '<{'|'.join(_PREFIXES[scheme])}>-TYPE' "
            f"for scheme {scheme}, got {label!r}"
        )
    return prefix, kind


def allowed_transitions(labels, scheme="IOB2"):
    """Which tag transitions are valid under a chunk tagging scheme.

    IOB2: ``I-X`` may only follow ``B-X`` or ``I-X`` (so never ``O``, another type, or the start).
    BIOES: ``B-X``/``I-X`` must be followed by ``I-X`` or ``E-X``; ``O``, ``E-X`` and ``S-X`` by
    ``O``, ``B-*`` or ``S-*``; a sequence starts with ``O``/``B-*``/``S-*`` and ends with
    ``O``/``E-*``/``S-*``.

    Args:
        labels (Sequence[str]): the label of each tag index, e.g. ``["O", "B-PER", "I-PER"]``.
        scheme (str): ``"IOB2"`` or ``"BIOES"``.

    Returns:
        tuple: ``(allowed, allowed_start, allowed_end)`` numpy bool arrays of shape
        ``[L, L]`` (``allowed[i, j]``: tag i may be followed by tag j), ``[L]`` and ``[L]``.
    """
    if scheme not in _PREFIXES:
        raise ValueError(f"allowed_transitions: expected scheme 'IOB2' or 'BIOES', got {scheme!r}")
    parsed = [_parse_label(label, scheme) for label in labels]
    if not parsed:
        raise ValueError("allowed_transitions: expected at least one label, got none")
    opens = ("O", "B", "S")  # a tag that may follow O, E-*, S-* or the start
    num = len(parsed)
    allowed = np.zeros([num, num], dtype=bool)
    for i, (p_from, k_from) in enumerate(parsed):
        for j, (p_to, k_to) in enumerate(parsed):
            if scheme == "IOB2":
                ok = p_to != "I" or (p_from in ("B", "I") and k_from == k_to)
            elif p_from in ("B", "I"):
                ok = p_to in ("I", "E") and k_from == k_to
            else:
                ok = p_to in opens
            allowed[i, j] = ok
    if scheme == "IOB2":
        allowed_start = np.array([p != "I" for p, _ in parsed])
        allowed_end = np.ones([num], dtype=bool)
    else:
        allowed_start = np.array([p in opens for p, _ in parsed])
        allowed_end = np.array([p in ("O", "E", "S") for p, _ in parsed])
    return allowed, allowed_start, allowed_end
