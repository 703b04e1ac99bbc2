"""tests/conftest.py's --shard I/N: the slices partition what would run, in order."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests/cpu/test_banks.py"


def collected(*args):
    r = subprocess.run([sys.executable, "-m", "pytest", TARGET, "--collect-only", "-q",
                        "-p", "no:cacheprovider", *args], cwd=ROOT, capture_output=True, text=True)
    return r.returncode, [ln for ln in r.stdout.splitlines() if "::" in ln], r.stdout + r.stderr


def test_slices_partition_the_collection():
    rc, whole, _ = collected()
    assert rc == 0 and len(whole) >= 3
    parts = [collected("--shard", f"{i}/3")[1] for i in range(3)]
    assert [t for p in parts for t in p] == whole          # disjoint, complete, in order
    assert all(parts)


@pytest.mark.parametrize("bad", ["3/3", "-1/2", "a/b", "1"])
def test_bad_shard_is_a_usage_error(bad):
    rc, _, out = collected("--shard", bad)
    assert rc == 4 and "--shard" in out
