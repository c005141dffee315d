"""Compliance checks of a dataset (``evident_compliance_check`` of the C
ABI; the checks are the library's, documented in ``src/compliance.rs``).

>>> evident.compliance.check("GDPR", {"columns": [{"name": "email", "values": []}]})  # doctest: +SKIP
{'regulation': 'GDPR', ..., 'personal_data_columns': {'email': 'email'}, ...}
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict

from . import _native as N
from .errors import UnsupportedError

__all__ = ["check"]

_P = ctypes.c_void_p
_PROTOTYPES = {
    "evident_compliance_check": (ctypes.c_uint32, [ctypes.c_char_p] * 2 + [ctypes.POINTER(_P)]),
}
_missing = N._bind(N.lib, _PROTOTYPES)
# Listed with the rest of the ABI (the ABI-completeness test reads it).
N._PROTOTYPES.update(_PROTOTYPES)


def check(regulation: str, dataset: Dict[str, Any]) -> Dict[str, Any]:
    """Checks ``dataset`` (``{"columns": [{"name", "values"}], "dataset_name",
    "num_records", "metadata"}``, JSON-safe) against ``regulation``;
    returns the report (``regulation``, ``dataset_name``, ``num_records``,
    ``columns``, ``personal_data_columns``, ``issues``, ``warnings``,
    ``passed_checks``, ``compliant``, ``checks``)."""
    if _missing:
        raise UnsupportedError(
            f"the evident library {N.library_path} has no compliance checks (it lacks "
            f"{', '.join(_missing)}): rebuild it from a source tree with src/compliance.rs"
        )
    out = _P()
    N.check(
        N.lib.evident_compliance_check(
            str(regulation).encode(), json.dumps(dataset).encode(), ctypes.byref(out)
        )
    )
    return json.loads(N.take_string(out))
