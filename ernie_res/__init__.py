"""ernie_res: ERNIE backbones with our own Paddle layers for DOC, REL, SEQ and GEN tasks.

``from ernie_res import Predictor`` is lazy: ``import ernie_res`` itself imports nothing else
(not even Paddle), so tools start fast.
"""

__version__ = "0.1.0"
__all__ = ["Predictor", "__version__"]


def __getattr__(name):
    if name == "Predictor":
        from ernie_res.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'ernie_res' has no attribute {name!r}")
