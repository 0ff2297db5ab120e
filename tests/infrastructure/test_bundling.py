"""Lambda bundles: pip for ARM64, no Docker; only the recommend (and, numpy alone, results) bundles carry the numeric stack."""

from __future__ import annotations

import pytest

from infra.bundling import assemble, group_requirements
from infra.topology import TOPOLOGY

pytestmark = pytest.mark.infrastructure


def _names(requirements):
    return {r.split("==")[0].split("[")[0].lower() for r in requirements}


def test_only_the_recommend_and_results_groups_carry_the_numeric_stack():
    assert {"numpy", "onnxruntime"} <= _names(group_requirements("recommend"))
    assert "numpy" in _names(group_requirements("results")) and "onnxruntime" not in _names(group_requirements("results"))
    for function in TOPOLOGY.functions:
        if function.bundle not in ("recommend", "results"):
            assert not {"numpy", "onnxruntime"} & _names(group_requirements(function.bundle)), function.id


def test_group_pins_are_exact():
    for group in ("lambda", "privacy", "recommend", "results", "models", "infra", "local"):
        assert all("==" in r for r in group_requirements(group)), group


def test_unknown_group_is_a_clear_error():
    with pytest.raises(KeyError, match="no optional-dependency group"):
        group_requirements("nope")


def test_a_real_bundle_is_arm64_and_holds_only_its_context(tmp_path):
    """Runs pip for aarch64 (cached under .cache/bundles after the first run)."""
    assemble(tmp_path, "lambda", "profiles")
    assert (tmp_path / "aws_lambda_powertools").is_dir()
    assert list(tmp_path.glob("pydantic_core/_pydantic_core*aarch64*.so")), "pydantic-core must be the ARM64 build"
    assert not (tmp_path / "numpy").exists() and not (tmp_path / "onnxruntime").exists()
    assert (tmp_path / "shared" / "envelope.py").is_file()
    assert (tmp_path / "functions" / "profiles" / "handlers.py").is_file()
    assert not (tmp_path / "functions" / "platform").exists()  # other contexts stay out
    assert not list(tmp_path.rglob("__pycache__/*.cpython-311.pyc")), "host bytecode must not ship"


def test_the_privacy_bundle_carries_the_tcf_decoder_for_arm64(tmp_path):
    assemble(tmp_path, "privacy", "privacy")
    assert (tmp_path / "iab_tcf").is_dir() and list(tmp_path.glob("bitarray/_bitarray*aarch64*.so"))
    assert (tmp_path / "functions" / "privacy" / "consent.py").is_file() and not (tmp_path / "functions" / "profiles").exists()


_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} | {n for n in sys.modules if n.startswith("functions.")})))
"""
# Import names of packages that only some bundles carry (or none: tooling and test-only).
_GUARDED = {"numpy": "numpy", "onnxruntime": "onnxruntime", "onnx": "onnx", "scipy": "scipy", "implicit": "implicit",
            "moto": "moto", "iab_tcf": "iab-tcf-bitarray"}


@pytest.mark.parametrize("function", TOPOLOGY.functions, ids=lambda f: f.id)
def test_a_handler_imports_only_what_its_bundle_carries(function):
    """A bundle holds its dependency group, shared/ and its own context: importing anything
    else works in the tests' venv and fails in Lambda, so check it in a fresh interpreter."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _PROBE, function.module], cwd=root, capture_output=True, text=True, check=True)
    imported = set(json.loads(out.stdout))
    carried = _names(group_requirements(function.bundle))
    missing = {module for module, dist in _GUARDED.items() if module in imported and dist not in carried}
    assert not missing, f"{function.id} imports {sorted(missing)}, which its {function.bundle!r} bundle does not carry"
    foreign = {m for m in imported if m.startswith("functions.") and m.split(".")[1] != function.context}
    assert not foreign, f"{function.id} imports other contexts' code its bundle does not hold: {sorted(foreign)}"
