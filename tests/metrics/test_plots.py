"""Confusion/transition matrix pictures for VisualDL."""
import matplotlib
import numpy as np
import pytest

from ernie_res.metrics.plots import matrix_image


@pytest.fixture
def pdf_backend():
    """A backend other than the usual Agg, so that a switch to Agg would show."""
    original = matplotlib.get_backend()
    matplotlib.use("pdf")
    yield "pdf"
    matplotlib.use(original)


def test_matrix_image_is_an_rgb_uint8_array_and_leaves_the_backend_alone(pdf_backend):
    backend = matplotlib.get_backend()
    assert backend == pdf_backend
    img = matrix_image(np.array([[5, 1], [0, 7]]), ["neg", "pos"])
    assert matplotlib.get_backend() == backend
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert (img < 128).any() and (img == 255).any()           # something drawn on white


def test_matrix_image_grows_with_the_labels_and_takes_floats():
    labels = [f"tag{i}" for i in range(30)]
    big = matrix_image(np.random.RandomState(0).rand(30, 30), labels, title="transitions")
    small = matrix_image(np.eye(3, dtype=np.int64), ["a", "b", "c"])
    assert big.dtype == np.uint8 and big.shape[2] == 3
    assert big.shape[0] > small.shape[0] and big.shape[1] > small.shape[1]
