"""Errors the command line maps to exit codes (docs/contract.md, exit codes).

Every module raises these; only the CLI turns them into a process exit, so nothing imports
the CLI back.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage or unreadable input: exit 2 with the message."""
