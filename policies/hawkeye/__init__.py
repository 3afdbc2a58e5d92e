"""HawkEye (Panwar, Bansal, Gopinath, ASPLOS'19), one file per mechanism of
the paper, to read beside it and beside ``apanwariisc/HawkEye``:

- ``policy``: the two registered policies (``hawkeye-pmu``, ``hawkeye-g``),
  candidate registration and each variant's choice of the next candidate
  (``ohp_get_target_mm`` + ``get_ohp_mm_addr``, ``get_ohp_global_kaddr``).
- ``promotion``: the promotion thread (``ohp_scan_mm`` in HawkEye's
  ``mm/huge_memory.c``), with ``policies.khugepaged``'s collapse test.
- ``access_map``: access-coverage buckets and ``kbinmanager`` (§3.1).
- ``prezero``: asynchronous pre-zeroing (``asynczero``, §3.3).
- ``bloat_recovery``: zero sub-page scan and split (``remove.c``, §3.2).
- ``profiler``: the MMU-overhead profiler (``x86-MMU-Profiler``, §3.4).
"""
from policies.hawkeye.policy import HawkEye, HawkEyeG, HawkEyePMU  # noqa: F401  (register)
