"""The recommend context: real-time recommendations from an ONNX model, with business
rules, a consent-aware neutral fallback and a creepiness guard."""
