"""Recommender training, ONNX export and evaluation (the recommend context's offline side).

`persona train`, `persona evaluate` and `persona recommend-batch` delegate here; the
artifact contract with serving is functions/recommend/artifacts.py. See README.md.
"""
