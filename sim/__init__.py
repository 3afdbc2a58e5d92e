"""The run layer: drives the machine (``machine/``) and a policy
(``policies/``) over workload traces and writes the result tables.

It sits above both: ``machine`` imports nothing from here or from
``policies``; ``policies`` imports ``machine`` only.

- ``sim.simulate``: trace cursors, the step loop, result tables, the CLI
  (``python -m sim.simulate``).
- ``sim.bench``: the throughput benchmark (``python -m sim.bench``).
- ``sim.warmup``: compiles every kernel once before simulations run in
  parallel (``python -m sim.warmup``).
- ``sim.testing``: small specs and traces for tests.
"""
