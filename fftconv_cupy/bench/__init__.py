"""Benchmarks shipped with the package (``fftconv-cli bench``, ``python -m benchmarks.run``).

``causal``  the causal depthwise convolution sweep: harness, timing, peers
``run``     the plain-text driver behind ``python -m benchmarks.run``
``report``  CSV / JSON / plot writers and the verdict used by the CLI
"""
