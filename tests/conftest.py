import pytest

from fftconv_cupy.runtime.device import gpu_available


def pytest_addoption(parser):
    parser.addoption("--shard", default=None, metavar="I/N",
                     help="run the I-th of N contiguous slices of the collected tests (0 <= I < N); "
                          "scripts/gpu-tests runs the N slices side by side")


def _shard(value):
    try:
        i, n = (int(v) for v in value.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard expects I/N with integers, got {value!r}") from None
    if not 0 <= i < n:
        raise pytest.UsageError(f"--shard {value}: need 0 <= I < N")
    return i, n


@pytest.hookimpl(trylast=True)       # after -m / -k have deselected: slices of what runs
def pytest_collection_modifyitems(config, items):
    if config.getoption("--shard"):
        # contiguous slices keep a test's parametrizations (and so its plans' compiles) together
        i, n = _shard(config.getoption("--shard"))
        lo, hi = len(items) * i // n, len(items) * (i + 1) // n
        config.hook.pytest_deselected(items=items[:lo] + items[hi:])
        items[:] = items[lo:hi]
    if gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
