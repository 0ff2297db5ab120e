"""Recommender training, ONNX export and evaluation (the recommend context's offline side).

Empty until the recommendations work lands; kept so the layout of DESIGN.md holds
and `pyproject.toml` already packages it.
"""
