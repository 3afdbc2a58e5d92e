"""Real Linux as ground truth: replay the project's traces on the host
kernel (``host.replay``), measure the machine's constants (``host.calibrate``)
and compare the simulation with the kernel (``host.validate``).

Imports ``hpsim`` and the trace reader (``workloads.trace``) only: the
measurements never depend on the simulator they check.
"""
