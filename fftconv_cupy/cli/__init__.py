"""fftconv-cli: inspect plans and generated kernels, manage the cache, benchmark, verify.

    fftconv-cli info                       versions, device, cache, support table
    fftconv-cli plan --len 1M              the plan the library chooses, and its costs
    fftconv-cli render --len 64K -o k.cu   the generated CUDA (--compile: NVRTC for sm_90)
    fftconv-cli cache path|ls|clear        the compiled-kernel cache
    fftconv-cli bench --len 1M             causal benchmark against the CuPy peers (GPU)
    fftconv-cli ablate order --len 1M --orders 2,3,4,5
                                           Monarch-order ablation against cupyx (GPU)
    fftconv-cli verify --cases 50          random problems against scipy.signal.fftconvolve
"""
from __future__ import annotations

import click

from .._version import __version__
from .ablate import ablate
from .bench import bench
from .cache import cache
from .info import info
from .plan import plan_cmd, render
from .verify import verify

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="fftconv-cli")
def main():
    """Fused FFT convolutions on NVIDIA GPUs: plans, generated kernels, benchmarks."""


main.add_command(info)
main.add_command(plan_cmd, "plan")
main.add_command(render)
main.add_command(cache)
main.add_command(bench)
main.add_command(ablate)
main.add_command(verify)
