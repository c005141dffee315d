"""Converting Python values for the library, one rule for the whole package.

- Times: a :class:`~datetime.datetime` given to the library must be
  timezone-aware (a naive one is refused, as :class:`~evident.AuditLog`
  always did: guessing local time silently shifts evidence); it is sent as
  RFC 3339 UTC with microseconds. Times from the library (RFC 3339) become
  aware UTC datetimes, parsed here only.
- JSON: :func:`plain` turns a value into plain JSON data (numpy scalars and
  arrays, tuples, datetimes, paths and enums are converted); NaN, infinities,
  integers outside 64 bits and other types are refused, or with ``lenient``
  (history summaries) stored as their ``str()``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

from .errors import InternalError, InvalidArgumentError

__all__ = ["ts_text", "ts_out", "ts_in", "now", "plain", "json_bytes", "number", "pair"]

#: One encoder for every call (``encode`` keeps no state: safe to share
#: between threads). Its output never holds a raw NUL (U+0000 is escaped).
ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def ts_out(dt: datetime, name: str = "ts") -> str:
    """An aware datetime -> RFC 3339 UTC with microseconds; a naive one or
    another type raises :class:`InvalidArgumentError` naming ``name``."""
    if not isinstance(dt, datetime):
        raise InvalidArgumentError(f"`{name}` must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidArgumentError(f"`{name}` must be timezone-aware (e.g. tzinfo=timezone.utc)")
    return utc_text(dt)


def utc_text(dt: datetime) -> str:
    """An aware datetime as a record's time (spec § 5.3): UTC, microseconds,
    four-digit year (``strftime("%Y")`` does not pad years below 1000)."""
    u = dt.astimezone(timezone.utc)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}.{u.microsecond:06d}Z")


def ts_text(ts: Union[datetime, str, None], name: str = "ts") -> Optional[str]:
    """:func:`ts_out`, passing None and strings (RFC 3339 text, checked by
    the library) through."""
    if ts is None or isinstance(ts, str):
        return ts
    return ts_out(ts, name)


_TS_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)\Z"
)


def ts_in(text: Any) -> Optional[datetime]:
    """An RFC 3339 time from the library -> an aware datetime in UTC (None
    stays None)."""
    if text is None:
        return None
    m = _TS_RE.match(str(text))
    if not m:
        raise InternalError(f"the library returned an unreadable time {text!r}")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    us = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), us, tzinfo=tz)
    return dt.astimezone(timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


def plain(value: Any, what: str, lenient: bool = False) -> Any:
    """``value`` as plain JSON data (dict/list/str/int/float/bool/None)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            return int(value)
        if lenient:
            return str(value)
        raise InvalidArgumentError(
            f"{what} is {value}, outside the 64-bit integers JSON values are kept "
            "exactly in (store it as a string or a float)"
        )
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        if lenient:
            return repr(value)
        raise InvalidArgumentError(
            f"{what} is {value!r}, which JSON cannot store (use None or a string)"
        )
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                if not lenient:
                    raise InvalidArgumentError(
                        f"{what} has a key {k!r} that is not a str (JSON keys are strings)"
                    )
                k = str(k)
            out[k] = plain(v, f"{what}[{k!r}]", lenient)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{what}[{i}]", lenient) for i, v in enumerate(value)]
    if isinstance(value, datetime):
        if lenient and value.tzinfo is None:
            return str(value)
        return ts_out(value, what)
    if isinstance(value, enum.Enum):
        return plain(value.value, what, lenient)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return plain(value.tolist(), what, lenient)
    if lenient:
        return str(value)
    raise InvalidArgumentError(
        f"{what} cannot be stored as JSON: {type(value).__name__} is not a JSON type"
    )


def json_bytes(value: Any, what: str, lenient: bool = False) -> bytes:
    """:func:`plain` as compact UTF-8 JSON."""
    return ENCODER.encode(plain(value, what, lenient)).encode("utf-8", "surrogatepass")


def number(value: Any, what: str) -> float:
    """An int, float or numpy scalar -> float (bools and others refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidArgumentError(f"`{what}` must be a number, not {type(value).__name__}")
    return float(value)


def pair(value: Any, what: str) -> Optional[Tuple[float, float]]:
    """A pair of numbers -> a tuple of floats (None stays None); whether it
    is a valid range is the library's rule."""
    if value is None:
        return None
    try:
        a, b = value
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"`{what}` must be a pair (start, end), not {value!r}") from None
    return (number(a, what), number(b, what))
