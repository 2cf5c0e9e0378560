"""The import contracts of pyproject.toml ([tool.importlinter]) hold: each stage
imports only earlier ones (load < findings < store < report < outputs < pipeline <
cli), and nothing but the CLI imports it or Click."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def lint_imports() -> str:
    here = str(Path(sys.executable).parent)
    found = shutil.which("lint-imports", path=here) or shutil.which("lint-imports")
    if found is None:
        pytest.fail("import-linter is not installed: install the project with '.[test]'")
    return found


def test_import_contracts_hold():
    done = subprocess.run(
        [lint_imports(), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # the checkout's modules
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout
