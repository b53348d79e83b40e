"""blasnet tames OpenBLAS's idle spinning at import without changing the user's environment."""

from __future__ import annotations

import os
import subprocess
import sys

SNIPPET = """
import os, sys
before = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
import blasnet
after = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
print(repr(before), repr(after), "numpy" in sys.modules)
"""


def run(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_environment_is_given_back_after_import() -> None:
    """The timeout is only set while the libraries load; the process's environment is as it was."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    assert run(env) == "None None True"


def test_a_users_timeout_is_kept() -> None:
    env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="9")
    assert run(env) == "'9' '9' True"
