"""HawkEye (Panwar, Bansal, Gopinath, ASPLOS'19), one file per mechanism of
the paper, to read beside it and beside ``apanwariisc/HawkEye``:

- ``policy``: the two registered policies (``hawkeye-pmu``, ``hawkeye-g``),
  fault-time allocation and the promotion thread.
- ``access_map``: access-coverage buckets and ``kbinmanager`` (§3.1).
- ``prezero``: asynchronous pre-zeroing (``asynczero``, §3.3).
- ``bloat_recovery``: zero sub-page scan and split (``remove.c``, §3.2).
- ``profiler``: the MMU-overhead profiler (``x86-MMU-Profiler``, §3.4).
"""
from policies.hawkeye.policy import HawkEye, HawkEyeG, HawkEyePMU  # noqa: F401  (register)
