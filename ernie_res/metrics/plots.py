"""Pictures of evaluation results for VisualDL: confusion and transition matrices.

Matplotlib is imported when a picture is drawn, never at import time (it is slow to load).
"""
import io

import numpy as np


def matrix_image(matrix, labels, title="confusion matrix"):
    """Render a (confusion or transition) matrix as an ``[H, W, 3]`` uint8 image."""
    from matplotlib.figure import Figure
    from PIL import Image

    n = len(labels)
    size = max(4.0, 0.35 * n + 2)
    fig = Figure(figsize=(size, size), dpi=80)        # no pyplot: no global backend switch
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    if n <= 25 and np.issubdtype(np.asarray(matrix).dtype, np.integer):
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(matrix[i][j]), ha="center", va="center", fontsize=6)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
