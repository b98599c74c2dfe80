"""Oversight, on top of the trail core: the misuse rules, flags and their outcomes, notices of
views, and the auditor's workspace (reports, pages, exports). The only part of audit that
imports accounts and children (docs/decisions/0006)."""
