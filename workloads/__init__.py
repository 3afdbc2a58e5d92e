"""Workload generators and the trace format they write.

Each generator module registers itself in ``REGISTRY`` (see ``base.py``);
``python -m workloads.generate`` runs one by name.
"""
from workloads.base import REGISTRY, Workload, register, get  # noqa: F401
from workloads import buffer_touch  # noqa: F401  (registers)
from workloads import graph500  # noqa: F401  (registers)
from workloads import redis  # noqa: F401  (registers)
from workloads import hotspot  # noqa: F401  (registers)
from workloads import xsbench  # noqa: F401  (registers)
import warnings as _warnings
# `python -m workloads.lackey` runs a module this package has already imported
# (to register it); runpy's warning about that is harmless here.
_warnings.filterwarnings("ignore", category=RuntimeWarning,
                         message="'workloads.lackey' found in sys.modules")
from workloads import lackey  # noqa: F401,E402  (registers)
