"""ernie_res: ERNIE backbones with our own Paddle layers for DOC, REL, SEQ and GEN tasks."""

__version__ = "0.1.0"
