"""Plans and arrays on several GPUs: a plan made on one device runs on any (its kernel
spectrum copied there on first use); an array on another device than the current one is
refused before any launch (a kernel would read it as a foreign address)."""
import numpy as np
import pytest

import fftconv_cupy as fc

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

two = pytest.mark.skipif(cupy.cuda.runtime.getDeviceCount() < 2 if cupy.cuda.is_available() else True,
                         reason="needs two GPUs")


def data(shape, k_len, device):
    rng = np.random.default_rng()
    with cupy.cuda.Device(device):
        return (cupy.asarray(rng.standard_normal(shape, dtype=np.float32)),
                cupy.asarray(rng.standard_normal((shape[-2], k_len), dtype=np.float32)))


@two
@pytest.mark.parametrize("length", [4096, 1 << 16, 1 << 20])
def test_plan_made_on_one_device_runs_on_another(length):
    x0, k0 = data((4, length), length // 8, 0)
    with cupy.cuda.Device(0):
        conv = fc.FFTConv(x0.shape, k0, mode="causal")
        ref = cupy.asnumpy(conv(x0))
    with cupy.cuda.Device(1):
        x1 = cupy.copy(x0)                  # onto the current device (asarray would keep device 0)
        assert x1.data.device_id == 1
        for _ in range(3):                  # the 64K plan replays a graph from the second call
            y1 = conv(x1)
            assert y1.data.device_id == 1
            np.testing.assert_array_equal(cupy.asnumpy(y1), ref)
        y1 = conv(x1[:, :])                 # the general path too
        np.testing.assert_array_equal(cupy.asnumpy(y1), ref)


@two
def test_array_on_another_device_is_refused():
    x0, k0 = data((2, 4096), 100, 0)
    with cupy.cuda.Device(0):
        conv = fc.FFTConv(x0.shape, k0, mode="full")
        before = cupy.asnumpy(x0)
    with cupy.cuda.Device(1):
        with pytest.raises(ValueError, match="signal is on device 0 but the current device is 1"):
            conv(x0)
        with pytest.raises(ValueError, match="on device 0 but the current device is 1"):
            fc.fftconvolve(x0, cupy.copy(k0), axes=-1)
    with cupy.cuda.Device(0):
        np.testing.assert_array_equal(cupy.asnumpy(x0), before)
        ref = cupy.asnumpy(conv(x0))        # the device still works
        assert np.isfinite(ref).all()


@two
def test_functional_calls_on_the_second_device():
    x1, k1 = data((3, 5000), 333, 1)
    with cupy.cuda.Device(1):
        y = fc.fftconvolve(x1, k1, mode="same", axes=-1)
        assert y.data.device_id == 1
    import scipy.signal as ss
    ref = ss.fftconvolve(cupy.asnumpy(x1).astype(np.float64), cupy.asnumpy(k1).astype(np.float64),
                         mode="same", axes=-1)
    assert np.linalg.norm(cupy.asnumpy(y) - ref) / np.linalg.norm(ref) < 1e-6
