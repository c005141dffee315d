"""Drop-in style APIs of the audit systems evident replaces.

- :mod:`evident.compat.openparallax`: the OpenParallax audit Python API
  (``AuditLogger``, ``EventType``, ``verify_integrity``, ``read_entries``,
  ``Query``, ``AuditError``);
- :mod:`evident.compat.tracekit`: TraceKit's ``AuditTrail``
  (``record_action``, ``verify_integrity``, ``get_entries``,
  ``export_audit_log``), backed by an evident log file;
- :mod:`evident.compat.rtgs`: RTGS Lab Tools' audit module and its
  ``rtgs audit`` CLI (``python -m evident.compat.rtgs``);
- :mod:`evident.compat.secureml`: SecureML's ``AuditTrail``,
  ``audit_function``, ``get_audit_logs``, ``ReportGenerator`` and
  ``ComplianceAuditor``.

All are thin: the log, its chain and its checks are evident's.
"""
