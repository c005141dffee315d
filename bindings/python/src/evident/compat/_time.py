"""Time arguments of the compatibility modules: the library's one rule
(``evident_compat_parse_time``) reads text; this module only applies the
host's time zone to local times, as the seed systems' ``datetime.now()``
and ``datetime.astimezone()`` do."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Optional, Tuple, Union

from .. import _native as _N
from .._convert import ts_in

DateLike = Union[str, date, datetime, None]


def parse(text: str, name: str) -> Tuple[str, Any]:
    """``("day", date)``, ``("naive", datetime)`` (local) or
    ``("instant", aware datetime)`` for ``text``; InvalidArgumentError
    (a ValueError) naming ``name`` for any other form."""
    r = json.loads(_N.compat_call("evident_compat_parse_time", text.encode(), name.encode()))
    kind, value = r["kind"], r["value"]
    if kind == "day":
        return kind, date.fromisoformat(value)
    if kind == "naive":
        return kind, datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f")
    return kind, ts_in(value)


def instant(v: DateLike, name: str = "time") -> Optional[datetime]:
    """``v`` as an aware UTC time; days and naive times are local time."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day).astimezone(timezone.utc)
    kind, t = parse(str(v), name)
    if kind == "day":
        t = datetime(t.year, t.month, t.day)
    return t.astimezone(timezone.utc)
