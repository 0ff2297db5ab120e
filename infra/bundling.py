"""Lambda bundles built with pip, never Docker.

A function's bundle is its dependency group from pyproject.toml (`lambda` or
`recommend`), installed for ARM64 Lambda (manylinux wheels for both platform
tags, see FIELD-NOTES), plus `shared/` and the function's own context package.
Installed dependencies are cached per group and requirement hash under
`.cache/bundles/`, so each group is downloaded once.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "bundles"
LAMBDA_PYTHON = "3.14"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
_SELF_REFERENCE = re.compile(r"^persona\[(?P<groups>[^\]]+)\]$")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
CACHE_FORMAT = "2"  # bump when the way dependencies are installed changes


def group_requirements(group: str, pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The pinned requirements of an optional-dependency group, self-references expanded."""
    groups = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    if group not in groups:
        raise KeyError(f"pyproject.toml has no optional-dependency group {group!r}")
    out: list[str] = []
    for requirement in groups[group]:
        nested = _SELF_REFERENCE.match(requirement.replace(" ", ""))
        if nested:
            for name in nested["groups"].split(","):
                out.extend(r for r in group_requirements(name, pyproject) if r not in out)
        elif requirement not in out:
            out.append(requirement)
    return out


def install_dependencies(group: str) -> Path:
    """pip-install the group for ARM64 Lambda into the cache (once) and return the folder."""
    requirements = group_requirements(group)
    pins = (REPO_ROOT / "constraints.txt").read_text()
    digest = hashlib.sha256("\n".join([CACHE_FORMAT, LAMBDA_PYTHON, *PLATFORMS, *requirements, pins]).encode()).hexdigest()[:16]
    target = CACHE_DIR / f"{group}-py{LAMBDA_PYTHON}-{digest}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    # --no-compile: bytecode of the host's Python would be dead weight in a 3.14 bundle.
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
               "--target", str(target), "--only-binary=:all:", "--implementation", "cp", "--python-version", LAMBDA_PYTHON]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    # The same transitive versions the tests ran against (constraints.txt).
    command += ["--constraint", str(REPO_ROOT / "constraints.txt")]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bundling group {group!r} failed:\n{result.stderr[-4000:]}")
    (target / ".complete").write_text("\n".join(requirements) + "\n")
    return target


def assemble(output_dir: Path, group: str, context: str) -> None:
    """Dependencies + shared/ + functions/<context>/ into `output_dir`."""
    shutil.copytree(
        install_dependencies(group), output_dir, dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".complete", "__pycache__", "bin"),  # bin/: console scripts Lambda never runs
    )
    shutil.copytree(REPO_ROOT / "shared", output_dir / "shared", dirs_exist_ok=True, ignore=_IGNORE)
    (output_dir / "functions").mkdir(exist_ok=True)
    shutil.copy2(REPO_ROOT / "functions" / "__init__.py", output_dir / "functions" / "__init__.py")
    shutil.copytree(REPO_ROOT / "functions" / context, output_dir / "functions" / context, dirs_exist_ok=True, ignore=_IGNORE)


@jsii.implements(ILocalBundling)
class PipBundler:
    def __init__(self, group: str, context: str) -> None:
        self.group = group
        self.context = context

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:  # noqa: ARG002
        assemble(Path(output_dir), self.group, self.context)
        return True


def bundling_options(group: str, context: str) -> BundlingOptions:
    # The image is never pulled: local bundling always succeeds or raises.
    return BundlingOptions(image=DockerImage.from_registry("local-bundling-only"), local=PipBundler(group, context))


def source_hash(group: str, context: str) -> str:
    """Asset hash from what goes into the bundle, so unchanged functions keep their asset."""
    digest = hashlib.sha256("\n".join(group_requirements(group)).encode())
    for folder in (REPO_ROOT / "shared", REPO_ROOT / "functions" / context):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()
