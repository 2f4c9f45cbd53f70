"""What the Python tests share: where the sources, the reference data and the nabla binary are.

ctest sets NABLA_SOURCE_DIR and NABLA_BINARY (tests/CMakeLists.txt); run by hand, the sources are
found from this file's place.
"""

import os
import subprocess

SOURCE_DIR = os.environ.get(
    "NABLA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE_DIR = os.path.join(SOURCE_DIR, "tests", "reference")
SAMPLES_DIR = os.path.join(SOURCE_DIR, "samples")
NABLA_BINARY = os.environ.get("NABLA_BINARY", "nabla")


def run_nabla(*args, cwd=None):
    """Runs the nabla binary; returns (exit status, stdout, stderr)."""
    p = subprocess.run([NABLA_BINARY, *args], capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr
