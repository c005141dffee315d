#!/bin/bash
# Reproduction script generated on {{ generated }}
# Original execution timespan: {{ start }} to {{ end }}
# Written by `evident reproduce` from {{ ops|length }} recorded operation(s).

set -e  # Exit on error
{% if error_handling %}
CURRENT_OPERATION="(none)"
trap 'echo "Reproduction failed during ${CURRENT_OPERATION}" >&2' ERR
{% endif %}
echo {{ start_msg }}
{% for op in ops %}{% if op.checkout %}
# Ensure correct git state
git checkout {{ op.checkout }}
{% endif %}{% if op.not_checked_out %}
# Recorded git commit {{ op.not_checked_out }} is not a commit id: not checked out
{% endif %}
# Operation {{ loop.index }}: {{ op.title }}
{% if op.failed %}# The original run failed: {{ op.failed }}
{% endif %}{% if op.recorded_command %}# Recorded command (shown, not run): {{ op.recorded_command }}
{% endif %}echo {{ op.echo }}
{% if error_handling %}CURRENT_OPERATION="operation {{ loop.index }}"
{% endif %}{% if timing %}op_start=$(date +%s)
{% endif %}{{ op.command }}
{% if timing %}echo "  Operation {{ loop.index }} took $(( $(date +%s) - op_start ))s"
{% endif %}{% endfor %}
echo "Reproduction script completed successfully"
