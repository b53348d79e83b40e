"""How blasnet writes a duration for people: in tables, reports and on pictures."""

from __future__ import annotations


def format_seconds(seconds: float) -> str:
    """Seconds with three significant digits, in s, ms or µs.

    Examples
    --------
    >>> from blasnet.units import format_seconds
    >>> format_seconds(2.5), format_seconds(0.00123), format_seconds(7.4e-6)
    ('2.5 s', '1.23 ms', '7.4 µs')
    """
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"
