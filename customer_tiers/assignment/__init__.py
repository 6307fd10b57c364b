"""Account-manager assignment (分户): balanced, capacity-bound, stable across runs."""

from customer_tiers.assignment.balance import (
    ASSIGNMENT_COLUMNS,
    LOAD_COLUMNS,
    REASONS,
    AssignmentResult,
    assign_accounts,
)

__all__ = ["ASSIGNMENT_COLUMNS", "LOAD_COLUMNS", "REASONS", "AssignmentResult", "assign_accounts"]
