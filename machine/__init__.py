"""The simulated machine: physical memory, page tables, TLBs, fault path, clock.

Mechanism only; policies (``policies/``) decide.  Entry points:
``machine.machine.Machine`` (state and mechanisms), ``machine.engine.replay``
(the compiled per-access loop), ``python -m sim.simulate`` (run a policy on
traces), ``python -m sim.bench`` (throughput benchmark).
"""
