"""The tree stays ruff-clean (lint and format), as part of the test command."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: install the project with '.[test]'")
    return found


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    done = subprocess.run([ruff(), *command, str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
