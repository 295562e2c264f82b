"""The import contracts (.importlinter) hold on the tree, and they can fail: a copy of the tree
with one backward import (tenancy using qa) breaks the layers contract."""

import os
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def _packages() -> list[str]:
    config = ConfigParser()
    config.read(ROOT / ".importlinter")
    return config["importlinter"]["root_packages"].split()


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / ".importlinter", tree)
    for package in _packages():
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tree


def test_the_tree_keeps_every_contract(tmp_path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_backward_import_breaks_the_layers(tmp_path):
    tree = _copy(tmp_path)
    selectors = tree / "tenancy" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nimport qa.models  # noqa: E402, F401\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "layers" in result.stdout and "BROKEN" in result.stdout
    assert "tenancy.selectors -> qa.models" in result.stdout
