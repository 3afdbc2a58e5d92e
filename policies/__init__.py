"""Huge-page policies, one module each, all implementing ``policies.base.Policy``.

``create(name, machine, params)`` builds one by its registered name.
"""
from policies.base import REGISTRY, KernelThread, Policy, check_params, create, register, scale_durations  # noqa: F401
from policies import linux_4k, linux_thp, linux_612  # noqa: F401  (register)
from policies import hawkeye  # noqa: F401  (register hawkeye-pmu, hawkeye-g)
from policies import freebsd, ingens  # noqa: F401  (register freebsd, ingens)
from policies import quicksilver  # noqa: F401  (register quicksilver)
