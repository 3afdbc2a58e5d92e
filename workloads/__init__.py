"""Workload generators and the trace format they write.

Each generator module registers itself in ``REGISTRY`` (see ``base.py``) when
imported, which ``get`` does on a kind's first use; ``python -m
workloads.generate`` runs one by name.
"""
from workloads.base import REGISTRY, Workload, register, get  # noqa: F401
