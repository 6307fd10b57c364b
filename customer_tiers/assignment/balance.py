"""Account-manager assignment (分户): every non-churned customer gets an active manager,
within capacity, with weighted workload balanced and yesterday's pairs kept where possible.

Customers are handled in priority order (tier_rank asc, weight desc, priority_value desc with
NaN last, customer_id asc); internally every per-customer array is in that order, so a
position doubles as the priority rank. Managers are indexed in staff_id order so index order
breaks ties by staff_id. Nothing depends on the input row order.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customer_tiers.assignment.placement import Pool, place

REASONS = ("kept", "new", "rebalanced", "manager_inactive", "no_capacity")
KEPT, NEW, REBALANCED, MANAGER_INACTIVE, NO_CAPACITY = range(len(REASONS))

CUSTOMER_COLUMNS = ("customer_id", "tier_rank", "weight", "priority_value", "current_staff_id")
MANAGER_COLUMNS = ("staff_id", "capacity", "active")
ASSIGNMENT_COLUMNS = ("customer_id", "staff_id", "previous_staff_id", "reason")
LOAD_COLUMNS = ("staff_id", "active", "capacity", "customers", "weighted_load", "room")


@dataclass(frozen=True)
class AssignmentResult:
    """`assignments`: one row per customer, by customer_id; `loads`: one row per manager."""

    assignments: pd.DataFrame
    loads: pd.DataFrame


@dataclass(frozen=True)
class _Managers:
    """Managers in staff_id order; capacity is NaN when unlimited."""

    ids: np.ndarray
    active: np.ndarray
    capacity: np.ndarray


@dataclass(frozen=True)
class _Customers:
    """Customers in priority order; `current` is a manager index, -1 for none or unknown."""

    ids: np.ndarray
    tier: np.ndarray
    weight: np.ndarray
    previous: np.ndarray
    current: np.ndarray
    has_current: np.ndarray
    by_id: np.ndarray  # priority positions listed in customer_id order, for the output


def assign_accounts(
    customers: pd.DataFrame, managers: pd.DataFrame, *, top_tier_rank: int = 0
) -> AssignmentResult:
    """Assign each customer an active manager; see the module docstring for the ordering.

    Kept pairs stay unless the manager is over capacity (then the manager keeps the
    highest-priority customers); everyone else is placed greedily on the lowest weighted load.
    A top-tier customer finding no room takes the slot of the lowest-priority customer of a
    strictly worse tier; anyone left without room gets staff_id None, reason no_capacity.
    """
    mgrs = _prepare_managers(managers)
    cust = _prepare_customers(customers, mgrs)
    kept = _keep_current(cust, mgrs)
    assigned = np.where(kept, cust.current, -1)
    pool = _pool_after_keeping(cust, mgrs, assigned)
    to_place = np.flatnonzero(~kept)
    assigned[to_place] = place(cust.weight[to_place], pool)
    _displace_for_top_tier(cust, assigned, to_place, top_tier_rank)
    reasons = _reasons(cust, mgrs, kept, assigned)
    return AssignmentResult(
        assignments=_assignments_frame(cust, mgrs, assigned, reasons),
        loads=_loads_frame(cust, mgrs, assigned),
    )


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


def _id_order(ids: pd.Series, name: str) -> np.ndarray:
    """Positions of ids in sorted order; rejects missing and duplicate ids."""
    if ids.isna().any():
        raise ValueError(f"{name} has missing ids")
    order = ids.argsort().to_numpy()
    # Checking neighbours after the sort we need anyway is cheaper than Series.is_unique.
    ranked = ids.to_numpy(dtype=object)[order]
    if (ranked[1:] == ranked[:-1]).any():
        raise ValueError(f"{name} has duplicate ids")
    return order


def _prepare_managers(managers: pd.DataFrame) -> _Managers:
    _require_columns(managers, MANAGER_COLUMNS, "managers")
    if managers["active"].isna().any():
        raise ValueError("managers.active has missing values")
    order = _id_order(managers["staff_id"], "managers.staff_id")
    capacity = _floats(managers["capacity"])[order]
    limited = capacity[~np.isnan(capacity)]
    if (limited < 0).any() or (limited != np.floor(limited)).any():
        raise ValueError("managers.capacity must be a whole number >= 0 or missing")
    return _Managers(
        ids=managers["staff_id"].to_numpy(dtype=object)[order],
        active=managers["active"].to_numpy(dtype=bool)[order],
        capacity=capacity,
    )


def _prepare_customers(customers: pd.DataFrame, mgrs: _Managers) -> _Customers:
    _require_columns(customers, CUSTOMER_COLUMNS, "customers")
    tier_series = pd.to_numeric(customers["tier_rank"])
    if tier_series.isna().any():
        raise ValueError("customers.tier_rank has missing values")
    tier = tier_series.to_numpy(dtype=np.int64)
    weight = _floats(customers["weight"])
    if not (np.isfinite(weight) & (weight > 0)).all():
        raise ValueError("customers.weight must be finite and > 0")
    id_order = _id_order(customers["customer_id"], "customers.customer_id")
    order = _priority_order(tier, weight, _floats(customers["priority_value"]), id_order)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    current = customers["current_staff_id"]
    return _Customers(
        ids=customers["customer_id"].to_numpy(dtype=object)[order],
        tier=tier[order],
        weight=weight[order],
        previous=current.to_numpy(dtype=object, na_value=None)[order],
        current=pd.Index(mgrs.ids).get_indexer(current.to_numpy(dtype=object))[order],
        has_current=current.notna().to_numpy()[order],
        by_id=position[id_order],
    )


def _floats(column: pd.Series) -> np.ndarray:
    """float64 values, NaN for missing (nullable dtypes included)."""
    return pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)


def _priority_order(
    tier: np.ndarray, weight: np.ndarray, value: np.ndarray, id_order: np.ndarray
) -> np.ndarray:
    """Row positions best first: tier asc, weight desc, value desc (NaN last), id asc."""
    id_rank = np.empty_like(id_order)
    id_rank[id_order] = np.arange(id_order.size)
    no_value = np.isnan(value)
    # np.lexsort sorts by the last key first.
    return np.lexsort((id_rank, np.where(no_value, 0.0, -value), no_value, -weight, tier))


def _keep_current(cust: _Customers, mgrs: _Managers) -> np.ndarray:
    """Mask of customers keeping an active current manager, best first up to capacity."""
    eligible = _with_active_current(cust, mgrs)
    positions = np.flatnonzero(eligible)
    manager = cust.current[positions]
    # Stable sort keeps priority order inside each manager's group.
    by_manager = np.argsort(manager, kind="stable")
    grouped = manager[by_manager]
    rank_in_group = np.arange(grouped.size) - np.searchsorted(grouped, grouped, side="left")
    limit = np.where(np.isnan(mgrs.capacity), np.inf, mgrs.capacity)
    kept = np.zeros(cust.ids.size, dtype=bool)
    kept[positions[by_manager[rank_in_group < limit[grouped]]]] = True
    return kept


def _with_active_current(cust: _Customers, mgrs: _Managers) -> np.ndarray:
    known = cust.current >= 0
    active = np.zeros(cust.ids.size, dtype=bool)
    active[known] = mgrs.active[cust.current[known]]
    return active


def _pool_after_keeping(cust: _Customers, mgrs: _Managers, assigned: np.ndarray) -> Pool:
    """Loads of the kept customers and the room left; inactive managers get no room."""
    count, load = _manager_totals(cust, mgrs, assigned)
    # Unlimited room only needs to exceed the number of customers.
    free = np.where(np.isnan(mgrs.capacity), cust.ids.size + 1, mgrs.capacity - count)
    room = np.where(mgrs.active, free, 0).astype(np.int64)
    return Pool(load=load, count=count, room=room)


def _manager_totals(
    cust: _Customers, mgrs: _Managers, assigned: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customers, weighted load) per manager."""
    on = assigned >= 0
    count = np.bincount(assigned[on], minlength=mgrs.ids.size).astype(np.int64)
    load = np.bincount(assigned[on], weights=cust.weight[on], minlength=mgrs.ids.size)
    return count, load.astype(np.float64)


def _displace_for_top_tier(
    cust: _Customers, assigned: np.ndarray, to_place: np.ndarray, top_tier_rank: int
) -> None:
    """Give unplaced top-tier customers the slots of the lowest-priority worse-tier ones.

    Placement only fails once every manager is full, and a swap frees no room, so a displaced
    customer, processed again later in priority order, finds none: it ends without a manager.
    Unplaced top-tier customers therefore take victims in order: best customer, worst victim.
    """
    unplaced = to_place[assigned[to_place] < 0]
    needy = unplaced[cust.tier[unplaced] == top_tier_rank]
    if needy.size == 0:
        return
    victims = np.flatnonzero((assigned >= 0) & (cust.tier > top_tier_rank))[::-1]
    swaps = min(needy.size, victims.size)
    assigned[needy[:swaps]] = assigned[victims[:swaps]]
    assigned[victims[:swaps]] = -1


def _reasons(
    cust: _Customers, mgrs: _Managers, kept: np.ndarray, assigned: np.ndarray
) -> np.ndarray:
    """Reason code per customer (index into REASONS)."""
    released = _with_active_current(cust, mgrs)
    moved = np.select([~cust.has_current, released], [NEW, REBALANCED], default=MANAGER_INACTIVE)
    return np.where(assigned < 0, NO_CAPACITY, np.where(kept, KEPT, moved)).astype(np.int8)


def _assignments_frame(
    cust: _Customers, mgrs: _Managers, assigned: np.ndarray, reasons: np.ndarray
) -> pd.DataFrame:
    rows = cust.by_id
    staff_or_none = np.append(mgrs.ids, None)  # index -1 picks the trailing None
    return pd.DataFrame(
        {
            "customer_id": cust.ids[rows],
            # object dtype so a missing manager stays None instead of becoming NaN
            "staff_id": pd.Series(staff_or_none[assigned[rows]], dtype=object),
            "previous_staff_id": pd.Series(cust.previous[rows], dtype=object),
            "reason": np.asarray(REASONS, dtype=object)[reasons[rows]],
        },
        columns=list(ASSIGNMENT_COLUMNS),
    )


def _loads_frame(cust: _Customers, mgrs: _Managers, assigned: np.ndarray) -> pd.DataFrame:
    count, load = _manager_totals(cust, mgrs, assigned)
    capacity = pd.array(
        [None if np.isnan(c) else int(c) for c in mgrs.capacity.tolist()], dtype="Int64"
    )
    return pd.DataFrame(
        {
            "staff_id": mgrs.ids,
            "active": mgrs.active,
            "capacity": capacity,
            "customers": count,
            "weighted_load": load,
            "room": capacity - count,
        },
        columns=list(LOAD_COLUMNS),
    )
