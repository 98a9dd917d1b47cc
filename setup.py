"""ernie_res: ERNIE backbones with our own Paddle layers for DOC, REL, SEQ and GEN tasks.

Paddle itself is an extra, because the CPU and GPU builds are different packages that must
not be installed together:

    pip install -e ".[cpu]"                 # paddlepaddle==3.3.1 from PyPI
    pip install -e .  + a paddlepaddle-gpu wheel from Paddle's own index (docs/getting_started.md)
"""
from setuptools import find_packages, setup

setup(
    name="ernie_res",
    version="0.1.0",
    description="PaddlePaddle NLP toolkit: ERNIE + residual, attention, CRF and VAE layers",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ernie_res", "ernie_res.*"]),
    python_requires=">=3.9",
    install_requires=[
        # paddlenlp 3.0.0b4 imports only with this aistudio-sdk and a pyarrow below 20
        "paddlenlp==3.0.0b4",
        "aistudio-sdk==0.2.6",
        "pyarrow>=14,<20",
        "visualdl==2.5.3",
        "numpy>=1.23,<2",
        "PyYAML>=6",
        "matplotlib>=3.7",
        "Pillow>=9",
    ],
    extras_require={
        "cpu": ["paddlepaddle==3.3.1"],
        "test": ["pytest>=8"],
    },
)
