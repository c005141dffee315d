"""Drop-in style APIs of the audit systems evident replaces.

- :mod:`evident.compat.openparallax`: the OpenParallax audit Python API
  (``AuditLogger``, ``EventType``, ``verify_integrity``, ``read_entries``,
  ``Query``, ``AuditError``);
- :mod:`evident.compat.tracekit`: TraceKit's ``AuditTrail``
  (``record_action``, ``verify_integrity``, ``get_entries``,
  ``export_audit_log``), backed by an evident log file.

Both are thin: the log, its chain and its checks are evident's.
"""
