"""Loading the evident shared library and the ctypes prototypes of its C ABI.

The library is looked up, in order:

1. the file named by the environment variable ``EVIDENT_LIBRARY``;
2. the library installed inside this package: ``evident/_libevident.so``
   (the Linux wheel, and ``pip install`` from source on Linux and macOS),
   ``evident/libevident.dylib`` (the macOS wheels, built from the library
   cross-linked for macOS) or ``evident/evident.dll`` (the Windows wheel,
   built from the library cross-built with mingw-w64).

Nothing is downloaded and no system path is searched. The library is loaded
with :class:`ctypes.CDLL`, so the GIL is released during every call.

Every prototype below mirrors ``include/evident.h`` (ABI 1.0). The session
container's functions (``evident_session_*``, ``evident_trace_*``,
``evident_save_options_*``) are not needed to load the library: without
them the logs work, and :func:`session_lib` raises
:class:`~evident.errors.UnsupportedError` when a session is used.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import math
import os
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, List, NoReturn, Optional, Tuple

from .errors import (
    EvidentIOError,
    InternalError,
    InvalidArgumentError,
    STATUS_OK,
    UnsupportedError,
    error_class,
    io_error,
)

ABI_VERSION_MAJOR = 1
ABI_VERSION_MINOR = 11
HASH_HEX_CAPACITY = 129
UINT64_MAX = 2**64 - 1
SIZE_MAX = 2 ** (8 * ctypes.sizeof(c_size_t)) - 1

# enum values (include/evident.h)
FRAMING = {None: 0, "auto": 0, "jsonl": 1, "binary": 2}
FRAMING_NAMES = {1: "jsonl", 2: "binary"}
ALG = {None: 0, "auto": 0, "sha256": 1, "hmac-sha256": 2, "hmac-sha512": 3}
ALG_NAMES = {1: "sha256", 2: "hmac-sha256", 3: "hmac-sha512"}
DURABILITY = {"sync": 1, "group": 2, "group_commit": 2, "buffered": 3}
LOCK_MODE = {"exclusive": 1, "shared": 2}
ORDER_OLDEST_FIRST = 1
ORDER_NEWEST_FIRST = 2


class evident_event(Structure):
    _fields_ = [
        ("event_type", c_char_p),
        ("action", c_char_p),
        ("actor", c_char_p),
        ("host", c_char_p),
        ("session_id", c_char_p),
        ("source", c_char_p),
        ("error", c_char_p),
        ("note", c_char_p),
        ("git_commit", c_char_p),
        ("details_json", c_char_p),
        ("ts", c_char_p),
        ("otr", c_bool),
        ("has_success", c_bool),
        ("success", c_bool),
        ("has_duration_ms", c_bool),
        ("duration_ms", c_double),
    ]


class evident_head(Structure):
    _fields_ = [("seq", c_uint64), ("hash", c_char * HASH_HEX_CAPACITY)]


PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_uint64, c_uint64)

# Opaque handles are plain void pointers.
_P = c_void_p
_PP = POINTER(c_void_p)
_S = c_uint32  # evident_status

# name: (restype, argtypes)
_CORE_PROTOTYPES = {
    # library
    "evident_version": (c_char_p, []),
    "evident_abi_version": (c_uint32, []),
    "evident_last_error": (c_char_p, []),
    "evident_last_error_copy": (c_size_t, [c_char_p, c_size_t]),
    "evident_last_errno": (ctypes.c_int, []),
    "evident_last_error_path": (c_char_p, []),
    "evident_status_name": (c_char_p, [c_uint32]),
    "evident_violation_kind_name": (c_char_p, [c_uint32]),
    "evident_string_free": (None, [c_void_p]),
    # log
    "evident_log_open": (_S, [c_char_p, _P, _PP]),
    "evident_log_append": (_S, [_P, POINTER(evident_event), POINTER(evident_head)]),
    "evident_log_append_json": (_S, [_P, c_char_p, POINTER(evident_head)]),
    "evident_log_sync": (_S, [_P]),
    "evident_log_close": (_S, [_P]),
    "evident_log_free": (None, [_P]),
    "evident_log_head": (_S, [_P, POINTER(evident_head)]),
    "evident_log_recovery": (_S, [_P, _PP]),
    "evident_log_path": (c_char_p, [_P]),
    "evident_log_log_id": (c_char_p, [_P]),
    "evident_log_key_id": (c_char_p, [_P]),
    "evident_log_framing": (c_uint32, [_P]),
    "evident_log_alg": (c_uint32, [_P]),
    # recovery
    "evident_recovery_free": (None, [_P]),
    "evident_recovery_created": (c_bool, [_P]),
    "evident_recovery_torn_count": (c_size_t, [_P]),
    "evident_recovery_truncated": (c_bool, [_P, POINTER(c_uint64), POINTER(c_uint64)]),
    "evident_recovery_torn_tail": (
        _S,
        [_P, c_size_t, POINTER(c_uint64), POINTER(c_uint64), POINTER(c_char_p)],
    ),
    # open options
    "evident_open_options_new": (_S, [_PP]),
    "evident_open_options_free": (None, [_P]),
    "evident_open_options_set_framing": (_S, [_P, c_uint32]),
    "evident_open_options_set_key": (_S, [_P, POINTER(c_uint8), c_size_t]),
    "evident_open_options_set_alg": (_S, [_P, c_uint32]),
    "evident_open_options_set_durability": (_S, [_P, c_uint32]),
    "evident_open_options_set_lock_mode": (_S, [_P, c_uint32]),
    "evident_open_options_set_lock_timeout_ms": (_S, [_P, c_uint64]),
    "evident_open_options_set_create": (_S, [_P, c_bool]),
    "evident_open_options_set_create_new": (_S, [_P, c_bool]),
    "evident_open_options_set_adopt_empty": (_S, [_P, c_bool]),
    "evident_open_options_set_actor": (_S, [_P, c_char_p]),
    "evident_open_options_set_host": (_S, [_P, c_char_p]),
    "evident_open_options_set_buffer_size": (_S, [_P, c_size_t]),
    # query
    "evident_query_new": (_S, [_PP]),
    "evident_query_free": (None, [_P]),
    "evident_query_set_session_id": (_S, [_P, c_char_p]),
    "evident_query_set_event_type": (_S, [_P, c_char_p]),
    "evident_query_set_action": (_S, [_P, c_char_p]),
    "evident_query_set_actor": (_S, [_P, c_char_p]),
    "evident_query_set_source": (_S, [_P, c_char_p]),
    "evident_query_set_since": (_S, [_P, c_char_p]),
    "evident_query_set_until": (_S, [_P, c_char_p]),
    "evident_query_set_seq_min": (_S, [_P, c_uint64]),
    "evident_query_set_seq_max": (_S, [_P, c_uint64]),
    "evident_query_set_order": (_S, [_P, c_uint32]),
    "evident_query_set_limit": (_S, [_P, c_size_t]),
    "evident_query_run": (_S, [c_char_p, _P, _PP]),
    "evident_query_next": (_S, [_P, _PP]),
    "evident_query_next_batch": (_S, [_P, c_size_t, _PP, POINTER(c_size_t)]),
    "evident_query_next_lines": (
        _S, [_P, c_size_t, _PP, POINTER(c_size_t), POINTER(c_size_t)]
    ),
    "evident_read_last": (
        _S, [c_char_p, c_size_t, _PP, POINTER(c_size_t), POINTER(c_size_t)]
    ),
    "evident_query_iter_free": (None, [_P]),
    # entry
    "evident_entry_free": (None, [_P]),
    "evident_entry_seq": (c_uint64, [_P]),
    "evident_entry_ts": (c_char_p, [_P]),
    "evident_entry_ts_unix_us": (c_int64, [_P]),
    "evident_entry_event_type": (c_char_p, [_P]),
    "evident_entry_action": (c_char_p, [_P]),
    "evident_entry_actor": (c_char_p, [_P]),
    "evident_entry_host": (c_char_p, [_P]),
    "evident_entry_session_id": (c_char_p, [_P]),
    "evident_entry_source": (c_char_p, [_P]),
    "evident_entry_error": (c_char_p, [_P]),
    "evident_entry_note": (c_char_p, [_P]),
    "evident_entry_git_commit": (c_char_p, [_P]),
    "evident_entry_details_json": (c_char_p, [_P]),
    "evident_entry_prev": (c_char_p, [_P]),
    "evident_entry_hash": (c_char_p, [_P]),
    "evident_entry_otr": (c_bool, [_P]),
    "evident_entry_has_success": (c_bool, [_P]),
    "evident_entry_success": (c_bool, [_P]),
    "evident_entry_has_duration_ms": (c_bool, [_P]),
    "evident_entry_duration_ms": (c_double, [_P]),
    "evident_entry_to_json": (_S, [_P, _PP]),
    # verify
    "evident_verify_options_new": (_S, [_PP]),
    "evident_verify_options_free": (None, [_P]),
    "evident_verify_options_set_key": (_S, [_P, POINTER(c_uint8), c_size_t]),
    "evident_verify_options_set_expected_head": (_S, [_P, c_uint64, c_char_p]),
    "evident_verify_options_set_expected_log_id": (_S, [_P, c_char_p]),
    "evident_verify_options_set_all": (_S, [_P, c_bool]),
    "evident_verify_options_set_threads": (_S, [_P, c_size_t]),
    "evident_verify_options_set_progress": (_S, [_P, PROGRESS_FN, c_void_p]),
    "evident_verify": (_S, [c_char_p, _P, _PP]),
    "evident_verify_result_free": (None, [_P]),
    "evident_verify_result_valid": (c_bool, [_P]),
    "evident_verify_result_only_torn_tail": (c_bool, [_P]),
    "evident_verify_result_not_a_log": (c_bool, [_P]),
    "evident_verify_result_entries": (c_uint64, [_P]),
    "evident_verify_result_head_seq": (c_uint64, [_P]),
    "evident_verify_result_head_hash": (c_char_p, [_P]),
    "evident_verify_result_log_id": (c_char_p, [_P]),
    "evident_verify_result_key_id": (c_char_p, [_P]),
    "evident_verify_result_framing": (c_uint32, [_P]),
    "evident_verify_result_alg": (c_uint32, [_P]),
    "evident_verify_result_bytes": (c_uint64, [_P]),
    "evident_verify_result_violation_count": (c_size_t, [_P]),
    "evident_verify_result_violations_total": (c_uint64, [_P]),
    "evident_verify_result_in_flight_tail": (c_uint64, [_P]),
    "evident_verify_result_violation": (_S, [_P, c_size_t, _PP]),
    "evident_verify_result_to_json": (_S, [_P, _PP]),
    "evident_violation_get_kind": (c_uint32, [_P]),
    "evident_violation_has_seq": (c_bool, [_P]),
    "evident_violation_seq": (c_uint64, [_P]),
    "evident_violation_line": (c_uint64, [_P]),
    "evident_violation_offset": (c_uint64, [_P]),
    "evident_violation_message": (c_char_p, [_P]),
}

# The session container (include/evident.h, "session" section).
_U8P = POINTER(c_uint8)
_SESSION_PROTOTYPES = {
    "evident_session_new": (_S, [c_char_p, _PP]),
    "evident_session_load": (_S, [c_char_p, _U8P, c_size_t, c_uint64, _PP]),
    "evident_session_free": (None, [_P]),
    "evident_session_info_json": (_S, [_P, _PP]),
    "evident_session_set_name": (_S, [_P, c_char_p]),
    "evident_session_metadata_json": (_S, [_P, _PP]),
    "evident_session_set_metadata_json": (_S, [_P, c_char_p]),
    "evident_session_summary": (_S, [_P, _PP]),
    "evident_session_to_json": (_S, [_P, _PP]),
    # traces
    "evident_session_add_trace": (_S, [_P, c_char_p, c_uint32, c_void_p, c_uint64, c_char_p]),
    "evident_session_load_trace": (_S, [_P, c_char_p, c_char_p, _PP]),
    "evident_session_remove_trace": (_S, [_P, c_char_p]),
    "evident_session_trace_names_json": (_S, [_P, _PP]),
    "evident_session_get_trace": (_S, [_P, c_char_p, _PP]),
    "evident_trace_free": (None, [_P]),
    "evident_trace_data": (
        _S,
        [_P, POINTER(c_void_p), POINTER(c_uint64), POINTER(c_uint64), POINTER(c_uint32)],
    ),
    "evident_trace_info_json": (_S, [_P, _PP]),
    "evident_trace_verify": (_S, [_P]),
    # annotations
    "evident_session_annotate": (_S, [_P, c_char_p, c_char_p]),
    "evident_session_set_layer": (_S, [_P, c_char_p]),
    "evident_session_clear_layer": (_S, [_P, c_char_p]),
    "evident_session_remove_layer": (_S, [_P, c_char_p]),
    "evident_session_layers_json": (_S, [_P, _PP]),
    "evident_session_annotations_json": (
        _S,
        [_P, c_char_p, ctypes.c_int, c_double, c_double, _PP],
    ),
    # measurements, history
    "evident_session_record_measurement": (_S, [_P, c_char_p]),
    "evident_session_measurements_json": (_S, [_P, _PP]),
    "evident_session_record_history": (_S, [_P, c_char_p]),
    "evident_session_history_json": (_S, [_P, _PP]),
    "evident_session_set_history_limit": (_S, [_P, c_uint64]),
    "evident_session_set_history_auto_record": (_S, [_P, c_bool]),
    # logic shared by the bindings
    "evident_session_remove_annotation": (_S, [_P, c_char_p, c_uint64]),
    "evident_dtype_from_name": (_S, [c_char_p, POINTER(c_uint32)]),
    "evident_dtype_name": (c_char_p, [c_uint32]),
    "evident_dtype_byte_len": (c_bool, [c_uint32, c_uint64, POINTER(c_uint64)]),
    "evident_dtypes_json": (_S, [_PP]),
    "evident_dtype_json": (_S, [c_char_p, c_uint32, _PP]),
    "evident_dtype_len_samples": (_S, [c_uint32, c_uint64, c_uint64, POINTER(c_uint64)]),
    "evident_annotation_normalise_json": (_S, [c_char_p, _PP]),
    "evident_session_history_summary_json": (_S, [_P, _PP]),
    "evident_session_history_script": (_S, [_P, c_char_p, c_char_p, c_uint32, _PP]),
    "evident_history_entry_code": (_S, [c_char_p, c_char_p, c_uint32, _PP]),
    "evident_measurement_tracekit_json": (_S, [c_char_p, _PP]),
    "evident_session_measurements_tracekit_json": (_S, [_P, _PP]),
    # single properties (ABI 1.4, src/ffi/session_more.rs)
    "evident_session_info_field_json": (_S, [_P, c_char_p, _PP]),
    "evident_session_layer_json": (_S, [_P, c_char_p, _PP]),
    "evident_session_layer_names_json": (_S, [_P, _PP]),
    # one JSON argument instead of many calls (ABI 1.5, src/ffi/session_py.rs)
    "evident_session_save_json": (_S, [_P, c_char_p, _U8P, c_size_t, c_char_p, _P, _PP]),
    "evident_session_load_trace_json": (_S, [_P, c_char_p, c_char_p, c_char_p, c_bool, _PP]),
    "evident_session_put_layer_json": (_S, [_P, c_char_p]),
    "evident_session_history_find_json": (_S, [_P, c_char_p, c_bool, _PP]),
    # saving
    "evident_save_options_new": (_S, [_PP]),
    "evident_save_options_free": (None, [_P]),
    "evident_save_options_set_compress": (_S, [_P, ctypes.c_int32]),
    "evident_save_options_set_include_traces": (_S, [_P, c_bool]),
    "evident_save_options_set_key": (_S, [_P, _U8P, c_size_t]),
    "evident_save_options_set_sync": (_S, [_P, c_bool]),
    "evident_save_options_set_adopt_empty": (_S, [_P, c_bool]),
    "evident_save_options_set_lock_timeout_ms": (_S, [_P, c_uint64]),
    "evident_save_options_set_audit_log": (_S, [_P, _P]),
    "evident_session_save": (_S, [_P, c_char_p, _P, _PP]),
    # for the Go package (ABI 1.5, src/ffi/session_go2.rs)
    "evident_args_from_go_json": (_S, [c_char_p, _PP]),
    "evident_session_get_json": (_S, [_P, c_char_p, c_char_p, _PP]),
    "evident_session_change_json": (_S, [_P, c_char_p, c_char_p, _PP]),
    # file level
    "evident_session_versions_json": (_S, [c_char_p, _U8P, c_size_t, _PP]),
    "evident_session_compact": (_S, [c_char_p, _U8P, c_size_t, _PP]),
    "evident_session_verify": (_S, [c_char_p, _U8P, c_size_t, _PP]),
}


# --- measurements, TraceKit audit chain (ABI 1.2) --------------------------
_MEASURE_PROTOTYPES = {
    "evident_measure_samples": (_S, [c_void_p, c_size_t, c_double, c_uint32, POINTER(c_double)]),
    "evident_trace_measure": (_S, [_P, c_uint32, POINTER(c_double)]),
    "evident_measure_from_name": (_S, [c_char_p, POINTER(c_uint32)]),
    "evident_session_measure": (_S, [_P, c_char_p, c_uint32, POINTER(c_double)]),
    "evident_session_load_trace_with": (_S, [_P, c_char_p, c_char_p, c_char_p, _PP]),
    "evident_tracekit_hmac": (_S, [c_char_p, _U8P, c_size_t, c_char_p, _PP]),
    "evident_tracekit_verify": (_S, [c_char_p, _U8P, c_size_t, c_char_p, POINTER(ctypes.c_int64)]),
    "evident_tracekit_export": (_S, [c_char_p, _U8P, c_size_t, c_char_p, c_char_p, _PP]),
    "evident_tracekit_export_file": (_S, [c_char_p, _U8P, c_size_t, c_char_p, c_char_p, c_char_p]),
    "evident_tracekit_filter": (_S, [c_char_p, c_char_p, c_char_p, _PP]),
    "evident_tracekit_chain": (_S, [c_char_p, _U8P, c_size_t, c_char_p, _PP]),
    "evident_tracekit_verify_entries": (_S, [c_char_p, _U8P, c_size_t, c_char_p, POINTER(ctypes.c_int64)]),
    "evident_tracekit_check_log_details": (_S, [c_char_p]),
}
# --- batch appends (ABI 1.3) -------------------------------------------------
_BATCH_PROTOTYPES = {
    "evident_open_options_set_commit_delay_us": (_S, [_P, ctypes.c_uint64]),
    "evident_log_append_batch": (_S, [_P, POINTER(evident_event), c_size_t, POINTER(evident_head)]),
    "evident_log_append_jsonl": (
        _S,
        [_P, c_char_p, c_size_t, POINTER(evident_head), c_size_t, POINTER(c_size_t)],
    ),
}

# --- a batch as one JSON array (ABI 1.7) ---------------------------------------
_ARRAY_PROTOTYPES = {
    "evident_log_append_json_array": (
        _S,
        [_P, c_char_p, c_size_t, POINTER(evident_head), c_size_t, POINTER(c_size_t)],
    ),
}

# --- the same, refusing a null (ABI 1.12) --------------------------------------
_ARRAY_NO_NULL_PROTOTYPES = {
    "evident_log_append_json_array_no_null": (
        _S,
        [_P, c_char_p, c_size_t, POINTER(evident_head), c_size_t, POINTER(c_size_t)],
    ),
}

# --- the compatibility layers' rules (ABI 1.5) --------------------------------
_COMPAT_PROTOTYPES = {
    "evident_compat_rtgs_records": (_S, [c_char_p, _PP]),
    "evident_compat_rtgs_range": (_S, [c_char_p, c_char_p, _PP]),
    "evident_compat_parse_time": (_S, [c_char_p, c_char_p, _PP]),
    "evident_compat_secureml_file_name": (_S, [c_char_p, _PP]),
    # ABI 1.6
    "evident_compat_rtgs_pg_config": (_S, [c_char_p, _PP]),
    "evident_compat_rtgs_status": (_S, [_PP]),
    "evident_compat_rtgs_recent": (_S, [c_char_p, c_char_p, c_char_p, c_int64, _PP]),
    "evident_compat_rtgs_recent_text": (_S, [c_char_p, _PP]),
    "evident_compat_secureml_status_success": (_S, [c_char_p, _PP]),
    "evident_compat_secureml_select": (_S, [c_char_p, c_char_p, c_char_p, c_char_p, _PP]),
}

# ABI 1.13: how long verify watches a torn tail for a writer
_IN_FLIGHT_WAIT_PROTOTYPES = {
    "evident_verify_options_set_in_flight_wait_ms": (_S, [_P, c_uint64]),
}

# ABI 1.14: an annotation changed in place writes through
_REPLACE_ANNOTATION_PROTOTYPES = {
    "evident_session_replace_annotation": (_S, [_P, c_char_p, c_uint64, c_char_p, c_char_p]),
}

# ABI 1.11: existing OpenParallax audit files (src/ffi/openparallax.rs)
_OPENPARALLAX_PROTOTYPES = {
    "evident_openparallax_detect": (_S, [c_char_p, POINTER(ctypes.c_int32)]),
    "evident_openparallax_verify": (_S, [c_char_p, _PP]),
    "evident_openparallax_read": (_S, [c_char_p, c_char_p, _PP]),
    "evident_openparallax_import": (_S, [c_char_p, c_char_p, c_char_p, _PP]),
    "evident_openparallax_migrate": (_S, [c_char_p, c_char_p, _PP]),
}

#: enum evident_measure, by name.
MEASURES = {
    "frequency": 1,
    "period": 2,
    "amplitude": 3,
    "rise_time": 4,
    "fall_time": 5,
    "duty_cycle": 6,
    "thd": 7,
}

#: Every function of the ABI (abi/symbols.txt).
_PROTOTYPES = {
    **_CORE_PROTOTYPES,
    **_SESSION_PROTOTYPES,
    **_MEASURE_PROTOTYPES,
    **_BATCH_PROTOTYPES,
    **_ARRAY_PROTOTYPES,
    **_ARRAY_NO_NULL_PROTOTYPES,
    **_COMPAT_PROTOTYPES,
    **_OPENPARALLAX_PROTOTYPES,
    **_IN_FLIGHT_WAIT_PROTOTYPES,
    **_REPLACE_ANNOTATION_PROTOTYPES,
}


def _candidates() -> List[Path]:
    here = Path(__file__).resolve().parent
    # `_libevident.so` is what the Linux wheel and a build from source install
    # (one py3-none wheel for every Python), `libevident.dylib` what the macOS
    # wheels install; the interpreter-tagged names come from builds before it
    # and must not shadow it when both are present.
    names = ["_libevident.so"]
    names += ["_libevident" + s for s in importlib.machinery.EXTENSION_SUFFIXES]
    names += ["libevident.so", "libevident.dylib", "evident.dll"]
    return [here / n for n in names]


def _find_library() -> str:
    override = os.environ.get("EVIDENT_LIBRARY")
    if override:
        if not os.path.isfile(override):
            raise ImportError(
                f"EVIDENT_LIBRARY={override!r}: no such file (it must name the "
                "evident shared library, e.g. target/release/libevident.so)"
            )
        return override
    for p in _candidates():
        if p.is_file():
            return str(p)
    raise ImportError(
        "the evident shared library is not installed in "
        f"{Path(__file__).resolve().parent} (reinstall with "
        "`pip install ./bindings/python`, or set EVIDENT_LIBRARY to the path of "
        "libevident.so / libevident.dylib / evident.dll)"
    )


def _bind(lib: ctypes.CDLL, prototypes: Any) -> List[str]:
    """Sets restype/argtypes of every function present; returns the missing names."""
    missing = []
    for name, (restype, argtypes) in prototypes.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    return missing


def _load() -> Tuple[ctypes.CDLL, str]:
    path = _find_library()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"cannot load the evident library {path}: {e}") from e
    missing = _bind(lib, _CORE_PROTOTYPES)
    abi = lib.evident_abi_version()
    if abi >> 16 != ABI_VERSION_MAJOR or abi < (ABI_VERSION_MAJOR << 16 | ABI_VERSION_MINOR):
        raise ImportError(
            f"the evident library {path} has ABI version {abi >> 16}.{abi & 0xFFFF}; "
            f"this package needs {ABI_VERSION_MAJOR}.{ABI_VERSION_MINOR} or a later "
            f"{ABI_VERSION_MAJOR}.x"
        )
    if missing:
        raise ImportError(f"the evident library {path} lacks {', '.join(missing)}")
    return lib, path


lib, library_path = _load()
_session_missing = _bind(lib, _SESSION_PROTOTYPES)
_measure_missing = _bind(lib, _MEASURE_PROTOTYPES)
_batch_missing = _bind(lib, _BATCH_PROTOTYPES)
#: Empty when the library has evident_log_append_json_array (ABI 1.7);
#: AuditLog.log_many uses it then, else newline-separated JSON.
_array_missing = _bind(lib, _ARRAY_PROTOTYPES)
#: Empty when the library has evident_log_append_json_array_no_null (ABI
#: 1.12): log_many then needs no search for orjson's null of its own.
_array_no_null_missing = _bind(lib, _ARRAY_NO_NULL_PROTOTYPES)
_compat_missing = _bind(lib, _COMPAT_PROTOTYPES)
_openparallax_missing = _bind(lib, _OPENPARALLAX_PROTOTYPES)
#: Empty when the library has evident_verify_options_set_in_flight_wait_ms
#: (ABI 1.13), which verify(in_flight_wait=...) needs.
_in_flight_wait_missing = _bind(lib, _IN_FLIGHT_WAIT_PROTOTYPES)
#: Empty when the library has evident_session_replace_annotation (ABI 1.14).
_replace_annotation_missing = _bind(lib, _REPLACE_ANNOTATION_PROTOTYPES)


def compat_call(name: str, *args: Any) -> str:
    """Calls one of the ``evident_compat_*`` functions (ABI 1.5, 1.6), whose
    last argument receives a string; returns that string."""
    if _compat_missing:
        raise UnsupportedError(
            f"the evident library {library_path} lacks {', '.join(_compat_missing)}: "
            "rebuild it (ABI 1.6 or later)"
        )
    out = c_void_p()
    check(getattr(lib, name)(*args, ctypes.byref(out)))
    return take_string(out)


def openparallax_call(name: str, *args: Any) -> str:
    """Calls one of the ``evident_openparallax_*`` functions (ABI 1.11)
    whose last argument receives a string; returns that string. Paths and
    strings are passed as UTF-8 (``str`` or ``os.PathLike``)."""
    if _openparallax_missing:
        raise UnsupportedError(
            f"the evident library {library_path} lacks {', '.join(_openparallax_missing)}: "
            "rebuild it (ABI 1.11 or later)"
        )
    out = c_void_p()
    check(getattr(lib, name)(*[_utf8(a) for a in args], ctypes.byref(out)))
    return take_string(out)


def openparallax_detect(path: Any) -> bool:
    """``evident_openparallax_detect``: whether ``path`` is an OpenParallax
    audit file."""
    if _openparallax_missing:
        raise UnsupportedError(
            f"the evident library {library_path} lacks {', '.join(_openparallax_missing)}: "
            "rebuild it (ABI 1.11 or later)"
        )
    out = ctypes.c_int32(0)
    check(lib.evident_openparallax_detect(_utf8(path), ctypes.byref(out)))
    return bool(out.value)


def _utf8(a: Any) -> Optional[bytes]:
    if a is None:
        return None
    if isinstance(a, bytes):
        return a
    return path_arg(a)


def batch_lib() -> ctypes.CDLL:
    """The library, checked to have the batch append functions (ABI 1.3)."""
    if _batch_missing:
        raise UnsupportedError(
            f"the evident library {library_path} lacks {', '.join(_batch_missing)}: "
            "rebuild it (ABI 1.3 or later)"
        )
    return lib


def measure_lib() -> ctypes.CDLL:
    """The library, checked to have the measurement and TraceKit functions (ABI 1.2)."""
    if _measure_missing:
        raise UnsupportedError(
            f"the evident library {library_path} lacks {', '.join(_measure_missing[:3])}: "
            "rebuild it (ABI 1.2 or later)"
        )
    return lib


def session_lib() -> ctypes.CDLL:
    """The library, checked to have the session container's functions."""
    if _session_missing:
        raise UnsupportedError(
            f"the evident library {library_path} has no session container "
            f"(it lacks {', '.join(_session_missing[:3])}"
            f"{', ...' if len(_session_missing) > 3 else ''}): rebuild it from a "
            "source tree that includes src/ffi/session.rs"
        )
    return lib


# --- status handling -------------------------------------------------------


def raise_status(status: int) -> NoReturn:
    """Raises the exception for a failed call, with the thread's last error."""
    message = (lib.evident_last_error() or b"").decode("utf-8", "replace")
    name = (lib.evident_status_name(status) or b"").decode("ascii", "replace")
    if not message:
        message = f"evident call failed with {name}"
    cls = error_class(status)
    if cls is EvidentIOError:
        path = lib.evident_last_error_path()
        raise io_error(
            message,
            lib.evident_last_errno() or None,
            os.fsdecode(path) if path is not None else None,
            status=status,
            status_name=name,
        )
    raise cls(message, status=status, status_name=name)


def check(status: int) -> None:
    """Raises unless ``status`` is ``EVIDENT_STATUS_OK``."""
    if status != STATUS_OK:
        raise_status(status)


# --- argument conversion (what ctypes would otherwise do silently wrong) ---


def text(value: Optional[str], name: str) -> Optional[bytes]:
    """A ``str`` as UTF-8 for a ``const char *`` argument (``None`` -> NULL).

    Lone surrogates are passed through so that the library reports them
    (``EVIDENT_STATUS_INVALID_UTF8``); an embedded NUL, which a C string
    cannot carry, is refused rather than silently truncated.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"`{name}` must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgumentError(f"`{name}` contains a NUL character (U+0000)")
    return value.encode("utf-8", "surrogatepass")


def path_arg(path: "os.PathLike[str] | str") -> bytes:
    """A path argument: ``str`` or path-like, as the file system encodes it."""
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise InvalidArgumentError(
            f"path must be a str or os.PathLike, not {type(path).__name__}"
        ) from None
    if b"\x00" in raw:
        raise InvalidArgumentError("path contains a NUL character")
    return raw


def unsigned(value: Any, name: str, maximum: int = UINT64_MAX) -> int:
    """An integer for a ``uint64_t`` / ``size_t`` argument (ctypes would wrap)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"`{name}` must be an int, not {type(value).__name__}")
    if value < 0 or value > maximum:
        raise InvalidArgumentError(f"`{name}` must be between 0 and {maximum}, got {value}")
    return value


def milliseconds(value: Any, name: str) -> int:
    """A number of seconds (>= 0; infinity: the longest) as whole
    milliseconds for a ``uint64_t`` argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"`{name}` must be a number of seconds")
    if math.isnan(value) or value < 0:
        raise InvalidArgumentError(f"`{name}` must be >= 0, got {value}")
    return UINT64_MAX if math.isinf(value) else min(int(round(value * 1000)), UINT64_MAX)


def key_arg(key: Optional[bytes]) -> Tuple[Any, int]:
    """``(pointer, length)`` for a key argument (NULL, 0 when ``None``)."""
    if key is None:
        return None, 0
    if isinstance(key, str) or not isinstance(key, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"`key` must be bytes, not {type(key).__name__}")
    data = bytes(key)
    buf = (c_uint8 * max(len(data), 1)).from_buffer_copy(data or b"\0")
    return buf, len(data)


def decode(raw: Optional[bytes]) -> Optional[str]:
    return None if raw is None else raw.decode("utf-8", "surrogateescape")


def take_string(ptr: c_void_p) -> str:
    """Copies and frees a ``char *`` documented "free with evident_string_free"."""
    if not ptr.value:
        raise InternalError("the library returned a NULL string")
    try:
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        lib.evident_string_free(ptr)


def take_bytes(ptr: c_void_p) -> bytes:
    """Like :func:`take_string`, without decoding (for ``json.loads``)."""
    if not ptr.value:
        raise InternalError("the library returned a NULL string")
    try:
        return ctypes.string_at(ptr.value)
    finally:
        lib.evident_string_free(ptr)


def head_tuple(h: evident_head) -> Tuple[int, str]:
    return int(h.seq), h.hash.decode("ascii")


def version() -> str:
    return (lib.evident_version() or b"").decode("ascii")


def kind_name(kind: int) -> str:
    return (lib.evident_violation_kind_name(kind) or b"unknown").decode("ascii")
