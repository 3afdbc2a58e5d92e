"""Formatting of numbers and configuration values for the report's text and tables.

Every formatter returns "–" for a missing or non-numeric value.
"""
from __future__ import annotations

import math

from hpsim.units import GIB, MIB


def bad(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def fmt_num(x, sig: int = 4) -> str:
    """A number with `sig` significant digits, thousands separators, no exponent."""
    if bad(x):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, sig - 1 - mag)
    return f"{x:,.{decimals}f}"


def fmt_about(x) -> str:
    """A number rounded to one significant digit, as a paper's round figure: 512 -> 500."""
    if bad(x) or float(x) == 0:
        return fmt_num(x)
    x = float(x)
    return fmt_num(round(x, -math.floor(math.log10(abs(x)))))


def fmt_int(x) -> str:
    return "–" if bad(x) else f"{int(round(float(x))):,}"


def fmt_pct(x, decimals: int = 1) -> str:
    return "–" if bad(x) else f"{100 * float(x):.{decimals}f}%"


def fmt_x(x) -> str:
    """A ratio: 512×, 132×, 4.2×."""
    if bad(x):
        return "–"
    x = float(x)
    return f"{x:.0f}×" if abs(x) >= 10 else f"{x:.1f}×"


def fmt_value(v) -> str:
    """A configuration value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_value(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={fmt_value(x)}" for k, x in v.items()) if v else "(no options)"
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fmt_mib(x) -> str:
    """Bytes as MiB (GiB from 2 GiB up)."""
    if bad(x):
        return "–"
    x = float(x)
    return f"{x / GIB:,.2f} GiB" if abs(x) >= 2 * GIB else f"{x / MIB:,.1f} MiB"


def fmt_gain(x) -> str:
    """A relative gain: +12.3% / −4.0%."""
    if bad(x):
        return "–"
    return f"{100 * float(x):+.1f}%".replace("-", "−")


def fmt_fixed(x, decimals: int = 3) -> str:
    return "–" if bad(x) else f"{float(x):.{decimals}f}"


def fmt_ratio(x) -> str:
    """A ratio near 1, with two decimals: 1.09×."""
    return "–" if bad(x) else f"{float(x):.2f}×"


def fmt_faster(g) -> str:
    """A gain g = other's run time / ours - 1 as words: '11.5% faster', '4.0% slower'
    (slower: our run time / other's - 1)."""
    if bad(g):
        return "– faster"
    g = float(g)
    if g >= 0:
        return f"{100 * g:.1f}% faster"
    return f"{100 * (1 / (1 + g) - 1):.1f}% slower" if g > -1 else "slower"


def fmt_eff(x) -> str:
    """A ratio that may be far below 1: 29×, 1.0×, 0.03×."""
    if bad(x):
        return "–"
    return fmt_x(x) if abs(float(x)) >= 0.95 else f"{fmt_num(x, 2)}×"


def fmt_s(x) -> str:
    return "–" if bad(x) else f"{fmt_num(x, 3)} s"
