"""The fused CPU Viterbi kernel (``csrc/crf_viterbi.cc``): compiled on first use, then cached.

``LinearChainCRF.viterbi_decode`` on the CPU calls :func:`load`. The first call in a fresh cache
compiles the Paddle custom operator with ``paddle.utils.cpp_extension`` (about 15 s; it needs a
C++ compiler, which Paddle's own custom-op machinery also needs). Later calls, in any process,
only load the cached library (a few milliseconds). When the kernel cannot be built or loaded,
:func:`load` returns None, logs the reason once, and the layer decodes with its Paddle ops
instead: same paths, slower (``docs/benchmarks.md``).

Environment:
    ``ERNIE_RES_CRF_KERNEL=0`` never builds or loads the kernel (always the Paddle ops).
    ``ERNIE_RES_KERNEL_DIR`` caches the build there instead of ``~/.cache/ernie_res/kernels``.

The cache key hashes the source, the Paddle version and commit, Python's version and the machine
type, so an upgrade recompiles instead of loading a stale library. Concurrent first uses (e.g.
the ranks of ``paddle.distributed.launch``) compile once: a file lock serialises them.
"""

import contextlib
import hashlib
import logging
import os
import platform
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

import paddle

__all__ = ["OP_NAME", "SOURCE", "BACKENDS", "for_backend", "load", "load_error", "cache_dir", "enabled"]

OP_NAME = "ernie_res_crf_viterbi"
SOURCE = Path(__file__).resolve().parent / "csrc" / "crf_viterbi.cc"
ENV_SWITCH = "ERNIE_RES_CRF_KERNEL"
ENV_DIR = "ERNIE_RES_KERNEL_DIR"
BACKENDS = ("auto", "kernel", "paddle")
_OFF, _ON = ("0", "off", "false", "no"), ("1", "on", "true", "yes", "")

logger = logging.getLogger("ernie_res")
_lock = threading.Lock()
_state = {"tried": False, "op": None, "error": None}


def enabled():
    """False when ``ERNIE_RES_CRF_KERNEL`` is 0/off/false/no, True when it is unset or
    1/on/true/yes; any other value is an error (a typo must not silently pick a backend)."""
    value = os.environ.get(ENV_SWITCH, "1").strip().lower()
    if value not in _OFF + _ON:
        raise ValueError(f"{ENV_SWITCH}: expected one of 0/off/false/no or 1/on/true/yes, "
                         f"got {os.environ[ENV_SWITCH]!r}")
    return value not in _OFF


def for_backend(backend, place):
    """The kernel that ``LinearChainCRF.viterbi_decode(backend=...)`` should run for tensors on
    ``place``, or None for its Paddle ops. ``"auto"``: the kernel on the CPU when it loads;
    ``"kernel"``: the kernel, or RuntimeError saying why not; ``"paddle"``: None."""
    if backend not in BACKENDS:
        raise ValueError(f"LinearChainCRF: expected backend 'auto', 'kernel' or 'paddle', got {backend!r}")
    op = load() if backend != "paddle" and place.is_cpu_place() else None
    if backend == "kernel" and op is None:
        reason = load_error() if place.is_cpu_place() else f"the emissions are on {place}, not on the CPU"
        raise RuntimeError(f"LinearChainCRF: the Viterbi kernel is unavailable: {reason}")
    return op


def cache_dir():
    """The directory holding this source's build for this Paddle and Python."""
    root = os.environ.get(ENV_DIR)
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ernie_res" / "kernels"
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), paddle.__version__.encode(), paddle.version.commit.encode(),
                 sys.version.encode(), platform.machine().encode()):
        key.update(part)
        key.update(b"\0")
    return Path(root) / f"{OP_NAME}-{key.hexdigest()[:16]}"


def load():
    """The kernel as ``op(emissions, lengths, transitions, start, end) -> [scores, paths]``
    (see ``csrc/crf_viterbi.cc``), or None when it is disabled or cannot be built; then
    :func:`load_error` says why. Tried once per process."""
    with _lock:
        if not _state["tried"]:
            on = enabled()  # raises on a bad value, every time: "tried" is set only after it
            _state["tried"] = True
            if not on:
                _state["error"] = f"disabled by {ENV_SWITCH}={os.environ.get(ENV_SWITCH)}"
            else:
                try:
                    _state["op"] = _build_and_load()
                except Exception as error:  # no compiler, no headers, a broken cache, ...
                    _state["error"] = f"{type(error).__name__}: {error}"
                    logger.warning("ernie_res: the CPU Viterbi kernel is unavailable (%s); decoding with "
                                   "Paddle ops instead (same paths, slower). Its build cache is %s; set %s=0 "
                                   "to skip this attempt.", _state["error"], cache_dir(), ENV_SWITCH)
        return _state["op"]


def load_error():
    """Why :func:`load` returned None (None if it has not or if it succeeded)."""
    return _state["error"]


def _build_and_load():
    from paddle.utils.cpp_extension import load as compile_and_load
    from paddle.utils.cpp_extension import load_op_meta_info_and_register_op

    directory = cache_dir()
    library = directory / OP_NAME / f"{OP_NAME}.so"  # where paddle.utils.cpp_extension.load puts it
    registered = False
    if not library.is_file():
        directory.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(directory.parent / f"{directory.name}.lock"):
            if not library.is_file():  # another process may have built it while we waited
                staging = directory.parent / f".{directory.name}.{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                logger.info("ernie_res: compiling the CPU Viterbi kernel once (about 15 s) into %s", directory)
                begin = time.time()
                with warnings.catch_warnings():
                    # the build works without ccache; say nothing about it, and only that
                    warnings.filterwarnings("ignore", message="No ccache found",
                                            category=UserWarning)
                    compile_and_load(name=OP_NAME, sources=[str(SOURCE)], build_directory=str(staging))
                shutil.rmtree(directory, ignore_errors=True)
                os.replace(staging, directory)  # atomic: readers see a complete build or none
                logger.info("ernie_res: compiled the CPU Viterbi kernel in %.1f s", time.time() - begin)
                registered = True
                if not library.is_file():
                    raise FileNotFoundError(f"the build did not produce {library}")
    if not registered:
        load_op_meta_info_and_register_op(str(library))
    run = paddle._C_ops._run_custom_op  # what paddle.utils.cpp_extension's generated wrappers call

    def op(emissions, lengths, transitions, start, end):
        return run(OP_NAME, emissions, lengths, transitions, start, end)

    return op


@contextlib.contextmanager
def _file_lock(path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
