"""Signed checkpoints, Merkle proofs and a witness (``evident_checkpoint_*``
and ``evident_witness_*`` of the C ABI; spec/checkpoints.md). Keys,
checkpoints and proofs are their C2SP text forms.

>>> skey, vkey = evident.checkpoint.keygen("example.com/audit")        # doctest: +SKIP
>>> cp = evident.checkpoint.create("audit.jsonl", skey)                # doctest: +SKIP
>>> evident.checkpoint.verify("audit.jsonl", cp, vkey)["outcome"]      # doctest: +SKIP
'match'
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _native as N
from .errors import InvalidArgumentError, UnsupportedError
from .log import PathLike

__all__ = [
    "keygen",
    "create",
    "verify",
    "prove",
    "prove_consistency",
    "verify_proof",
    "witness_add_checkpoint",
    "AutoCheckpoint",
    "verify_in_log",
    "list_checkpoints",
]

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_U32 = ctypes.c_uint32
_PROTOTYPES = {
    "evident_checkpoint_keygen": (_U32, [_S, ctypes.c_int32, ctypes.POINTER(_P), ctypes.POINTER(_P)]),
    "evident_checkpoint_create": (_U32, [_S, _S, _S, ctypes.POINTER(_P)]),
    "evident_checkpoint_verify": (_U32, [_S, _S, _S, _S, ctypes.POINTER(_P)]),
    "evident_checkpoint_prove": (_U32, [_S, ctypes.c_uint64, _S, ctypes.POINTER(_P)]),
    "evident_checkpoint_prove_consistency": (_U32, [_S, _S, _S, ctypes.POINTER(_P)]),
    "evident_checkpoint_verify_proof": (
        _U32,
        [_S, _S, _S, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(_P)],
    ),
    "evident_checkpoint_verify_proof_origin": (
        _U32,
        [_S, _S, _S, _S, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(_P)],
    ),
    "evident_witness_add_checkpoint": (_U32, [_S, _S, _S, _S, ctypes.POINTER(_P)]),
    "evident_open_options_set_checkpoint": (
        _U32,
        [_P, _S, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int32],
    ),
    "evident_log_checkpoint_error": (_U32, [_P, ctypes.POINTER(_P)]),
    "evident_checkpoint_verify_in_log": (_U32, [_S, _S, _S, ctypes.POINTER(_P)]),
    "evident_checkpoint_list": (_U32, [_S, ctypes.POINTER(_P)]),
}
_missing = N._bind(N.lib, _PROTOTYPES)
N._PROTOTYPES.update(_PROTOTYPES)


def _lib() -> ctypes.CDLL:
    if _missing:
        raise UnsupportedError(
            f"the evident library {N.library_path} has no checkpoints (it lacks "
            f"{', '.join(_missing)}): rebuild it from a source tree with src/ffi/checkpoint.rs"
        )
    return N.lib


def _text(v: Any, name: str) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode()
    raise InvalidArgumentError(f"`{name}` must be str or bytes")


def _opts(**kw: Any) -> bytes:
    return json.dumps({k: v for k, v in kw.items() if v is not None}).encode()


def _key_hex(key: Optional[bytes]) -> Optional[str]:
    if key is None:
        return None
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidArgumentError("`key` must be bytes")
    return bytes(key).hex()


def keygen(name: str, witness: bool = False) -> Tuple[str, str]:
    """A new key pair ``(private key text, public key text)``: a log key,
    or with ``witness=True`` a cosignature key."""
    skey, vkey = _P(), _P()
    N.check(_lib().evident_checkpoint_keygen(_text(name, "name"), int(witness), ctypes.byref(skey), ctypes.byref(vkey)))
    return N.take_string(skey), N.take_string(vkey)


def create(
    log: PathLike,
    skey: str,
    origin: Optional[str] = None,
    size: Optional[int] = None,
    key: Optional[bytes] = None,
    sidecar: bool = True,
) -> str:
    """Signs a checkpoint of ``log`` (also appended to ``<log>.checkpoints``
    unless ``sidecar=False``); returns its text."""
    out = _P()
    opts = _opts(origin=origin, size=size, key_hex=_key_hex(key), no_sidecar=None if sidecar else True)
    N.check(_lib().evident_checkpoint_create(N.path_arg(log), _text(skey, "skey"), opts, ctypes.byref(out)))
    return N.take_string(out)


def verify(
    log: PathLike,
    checkpoint: str,
    vkey: str,
    incremental: bool = False,
    witness_keys: Sequence[str] = (),
    min_witnesses: int = 0,
    key: Optional[bytes] = None,
    origin: Optional[str] = None,
) -> Dict[str, Any]:
    """Checks ``log`` against a signed checkpoint; returns the report
    (``valid``, ``outcome``: ``match``, ``truncated``, ``root_mismatch``,
    ``damaged``, ``bad_signature``, ``too_few_witnesses``; ``message``, …).
    The checkpoint's origin must be ``origin`` (default: the log's,
    ``evident/<log id>``)."""
    out = _P()
    opts = _opts(
        incremental=incremental or None,
        witness_keys=list(witness_keys) or None,
        min_witnesses=min_witnesses or None,
        key_hex=_key_hex(key),
        origin=origin,
    )
    N.check(
        _lib().evident_checkpoint_verify(
            N.path_arg(log), _text(checkpoint, "checkpoint"), _text(vkey, "vkey"), opts, ctypes.byref(out)
        )
    )
    return json.loads(N.take_string(out))


def prove(log: PathLike, seq: int, checkpoint: str) -> str:
    """The inclusion proof (``c2sp.org/tlog-proof@v1``) of entry ``seq``."""
    out = _P()
    n = N.unsigned(seq, "seq", N.UINT64_MAX)  # ctypes would wrap 2**64 + 3 to 3
    N.check(_lib().evident_checkpoint_prove(N.path_arg(log), n, _text(checkpoint, "checkpoint"), ctypes.byref(out)))
    return N.take_string(out)


def prove_consistency(log: PathLike, old: str, new: str) -> str:
    """The consistency proof from checkpoint ``old`` to ``new`` (a
    tlog-witness request)."""
    out = _P()
    N.check(
        _lib().evident_checkpoint_prove_consistency(
            N.path_arg(log), _text(old, "old"), _text(new, "new"), ctypes.byref(out)
        )
    )
    return N.take_string(out)


def verify_proof(
    proof: str, vkey: str, old: Optional[str] = None, *, origin: Optional[str] = None
) -> Tuple[bool, Optional[str]]:
    """``(True, None)`` when the proof verifies (an inclusion proof, or a
    consistency proof from checkpoint ``old``), else ``(False, reason)``.
    ``origin``: the origin the proof's checkpoint must have (a log's is
    ``evident/<log id>`` unless it was signed with another); ``None``
    accepts any, so give it whenever the log is known."""
    valid = ctypes.c_int32()
    reason = _P()
    N.check(
        _lib().evident_checkpoint_verify_proof_origin(
            _text(proof, "proof"),
            _text(vkey, "vkey"),
            None if old is None else _text(old, "old"),
            None if origin is None else _text(origin, "origin"),
            ctypes.byref(valid),
            ctypes.byref(reason),
        )
    )
    return bool(valid.value), (N.take_string(reason) if reason.value else None)


def witness_add_checkpoint(store: PathLike, skey: str, log_vkeys: Sequence[str], request: str) -> Dict[str, Any]:
    """A witness over ``store`` handles a tlog-witness request; returns
    ``{"status", "outcome", "message", "signature_lines", "cosigned", ...}``."""
    out = _P()
    N.check(
        _lib().evident_witness_add_checkpoint(
            N.path_arg(store),
            _text(skey, "skey"),
            json.dumps(list(log_vkeys)).encode(),
            _text(request, "request"),
            ctypes.byref(out),
        )
    )
    return json.loads(N.take_string(out))


class AutoCheckpoint:
    """Automatic signed checkpoints of a writer, passed as
    ``AuditLog(path, checkpoint=AutoCheckpoint(skey, every_entries=1000))``
    (spec/checkpoints.md section 2.1).

    The log signs a checkpoint with the private key text ``skey`` after
    every ``every_entries`` entries (0: not by count), at the first append
    once ``every`` seconds have passed since the last one (0: not by time)
    and at close, into ``<log>.checkpoints``; with ``in_log`` each one is
    also written as a checkpoint record in the log. The log is synced
    first (in ``"buffered"`` mode a due checkpoint is a sync point), so a
    checkpoint never claims more than is durable. A failure to sign does
    not fail the append (see :meth:`AuditLog.checkpoint_error`); at close
    it is raised after the log is closed. Needs ``lock="exclusive"``.
    """

    __slots__ = ("skey", "every_entries", "every", "in_log")

    def __init__(self, skey: str, *, every_entries: int = 0, every: float = 0.0, in_log: bool = False) -> None:
        self.skey = _text(skey, "skey")
        self.every_entries = N.unsigned(every_entries, "every_entries", N.UINT64_MAX)
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every >= 0:
            raise InvalidArgumentError("`every` must be a number of seconds >= 0")
        self.every = float(every)
        self.in_log = bool(in_log)

    def __repr__(self) -> str:
        return f"AutoCheckpoint(every_entries={self.every_entries}, every={self.every}, in_log={self.in_log})"

    def _apply(self, opts: Any) -> None:
        N.check(
            _lib().evident_open_options_set_checkpoint(
                opts, self.skey, self.every_entries, int(round(self.every * 1000)), int(self.in_log)
            )
        )


def _checkpoint_error(handle: Any) -> Optional[str]:
    out = _P()
    N.check(_lib().evident_log_checkpoint_error(handle, ctypes.byref(out)))
    return N.take_string(out) if out.value else None


def verify_in_log(log: PathLike, vkey: str, key: Optional[bytes] = None) -> Dict[str, Any]:
    """Checks the checkpoint records written into ``log`` (section 2.2)
    with the public key text ``vkey``: ``valid``, ``checkpoints`` (found),
    ``last_size``, ``failures``, ``records_read``."""
    out = _P()
    N.check(
        _lib().evident_checkpoint_verify_in_log(
            N.path_arg(log), _text(vkey, "vkey"), _opts(key_hex=_key_hex(key)), ctypes.byref(out)
        )
    )
    return json.loads(N.take_string(out))


def list_checkpoints(log: PathLike) -> List[Dict[str, Any]]:
    """The checkpoints in ``<log>.checkpoints``, in order: ``size``,
    ``origin`` and ``checkpoint`` (the signed note text)."""
    out = _P()
    N.check(_lib().evident_checkpoint_list(N.path_arg(log), ctypes.byref(out)))
    return json.loads(N.take_string(out))
