"""The simulated machine: physical memory, page tables, TLBs, fault path, clock.

Mechanism only; policies (``policies/``) decide, through the mechanism API
alone (``machine.mechanisms``, results in ``machine.results``).  Entry points:
``machine.machine.Machine`` (state and mechanisms), ``machine.engine.replay``
(the compiled per-access loop), ``python -m sim.simulate`` (run a policy on
traces), ``python -m sim.bench`` (throughput benchmark).
"""
