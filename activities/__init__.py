"""Every side effect a workflow causes. Activities are idempotent by construction."""
