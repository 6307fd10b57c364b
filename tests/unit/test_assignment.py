"""Account-manager assignment: hand-worked cases per reason, invariants on seeded random data,
stability across runs, and an exact cross-check against a plain one-by-one simulation."""

import heapq
import math

import numpy as np
import pandas as pd
import pytest

import customer_tiers.assignment.placement as placement
from customer_tiers.assignment import (
    ASSIGNMENT_COLUMNS,
    LOAD_COLUMNS,
    REASONS,
    AssignmentResult,
    assign_accounts,
)

TIER_WEIGHTS = {0: 4.0, 1: 3.0, 2: 2.0, 3: 1.0}  # Diamond, Gold, Silver, Bronze


def customers_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, tier_rank, priority_value, current_staff_id); weight from the tier."""
    frame = pd.DataFrame(
        rows, columns=["customer_id", "tier_rank", "priority_value", "current_staff_id"]
    )
    frame["priority_value"] = frame["priority_value"].astype(float)
    frame["weight"] = frame["tier_rank"].map(TIER_WEIGHTS)
    return frame


def managers_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (staff_id, capacity or None, active)."""
    frame = pd.DataFrame(rows, columns=["staff_id", "capacity", "active"])
    frame["capacity"] = frame["capacity"].astype(float)
    return frame


def outcome(customers: pd.DataFrame, managers: pd.DataFrame, **kw: int) -> dict[str, tuple]:
    """customer_id -> (staff_id, reason)."""
    table = assign_accounts(customers, managers, **kw).assignments
    return {r.customer_id: (r.staff_id, r.reason) for r in table.itertuples(index=False)}


# --- hand-worked cases ------------------------------------------------------------------------


def test_kept_and_new() -> None:
    customers = customers_frame([("c1", 0, 1.0, "A"), ("c2", 1, 1.0, None)])
    managers = managers_frame([("A", 2, True), ("B", 2, True)])
    # c1 stays with A (load 4); c2 goes to the lighter B.
    assert outcome(customers, managers) == {"c1": ("A", "kept"), "c2": ("B", "new")}


def test_weighted_balance_worked_by_hand() -> None:
    customers = customers_frame(
        [
            ("d1", 0, 0, None),
            ("g1", 1, 0, None),
            ("g2", 1, 0, None),
            ("s1", 2, 0, None),
            ("s2", 2, 0, None),
            ("b1", 3, 0, None),
            ("b2", 3, 0, None),
        ]
    )
    managers = managers_frame([("A", None, True), ("B", None, True), ("C", None, True)])
    result = assign_accounts(customers, managers)
    # d1->A(4) g1->B(3) g2->C(3) s1->B(5: B,C tie on load and count, B first by id)
    # s2->C(5) b1->A(5) b2->A(6: all at 5, all 2 customers, A first by id).
    got = dict(zip(result.assignments.customer_id, result.assignments.staff_id, strict=True))
    assert got == {"b1": "A", "b2": "A", "d1": "A", "g1": "B", "g2": "C", "s1": "B", "s2": "C"}
    assert result.loads["weighted_load"].tolist() == [6.0, 5.0, 5.0]
    assert result.loads["customers"].tolist() == [3, 2, 2]
    assert result.loads["capacity"].isna().all() and result.loads["room"].isna().all()


def test_over_capacity_keeps_best_and_rebalances_rest() -> None:
    customers = customers_frame(
        [("c1", 0, 1.0, "A"), ("c2", 1, 9.0, "A"), ("c3", 1, 5.0, "A"), ("c4", 1, None, "A")]
    )
    managers = managers_frame([("A", 2, True), ("B", None, True)])
    # A keeps c1 (best tier) and c2 (higher priority_value than c3; NaN ranks last).
    assert outcome(customers, managers) == {
        "c1": ("A", "kept"),
        "c2": ("A", "kept"),
        "c3": ("B", "rebalanced"),
        "c4": ("B", "rebalanced"),
    }


def test_over_capacity_tie_breaks_on_customer_id() -> None:
    customers = customers_frame([("x2", 2, 3.0, "A"), ("x1", 2, 3.0, "A")])
    managers = managers_frame([("A", 1, True), ("B", 1, True)])
    assert outcome(customers, managers) == {"x1": ("A", "kept"), "x2": ("B", "rebalanced")}


def test_released_customer_without_room_is_no_capacity() -> None:
    customers = customers_frame([("c1", 1, 1.0, "A"), ("c2", 1, 0.0, "A")])
    managers = managers_frame([("A", 1, True)])
    assert outcome(customers, managers) == {"c1": ("A", "kept"), "c2": (None, "no_capacity")}


def test_inactive_and_unknown_manager() -> None:
    customers = customers_frame([("c1", 0, 1.0, "A"), ("c2", 1, 1.0, "GHOST")])
    managers = managers_frame([("A", 5, False), ("B", 5, True), ("C", 5, True)])
    # c1 leaves inactive A for B (B, C tie; B first by id); c2's unknown manager counts as
    # inactive and it goes to the lighter C.
    assert outcome(customers, managers) == {
        "c1": ("B", "manager_inactive"),
        "c2": ("C", "manager_inactive"),
    }


def test_no_capacity_for_lower_tiers() -> None:
    customers = customers_frame([("c1", 0, 1.0, None), ("c2", 1, 1.0, None)])
    managers = managers_frame([("A", 1, True), ("B", 0, True)])
    assert outcome(customers, managers) == {"c1": ("A", "new"), "c2": (None, "no_capacity")}


def test_top_tier_displaces_lowest_priority_worse_tier_customer() -> None:
    customers = customers_frame(
        [("low1", 3, 1.0, "A"), ("low2", 2, 1.0, "B"), ("top", 0, 1.0, None)]
    )
    managers = managers_frame([("A", 1, True), ("B", 1, True)])
    result = assign_accounts(customers, managers)
    got = {
        r.customer_id: (r.staff_id, r.previous_staff_id, r.reason)
        for r in result.assignments.itertuples(index=False)
    }
    assert got == {
        "low1": (None, "A", "no_capacity"),
        "low2": ("B", "B", "kept"),
        "top": ("A", None, "new"),
    }
    assert result.loads["customers"].tolist() == [1, 1]
    assert result.loads["weighted_load"].tolist() == [4.0, 2.0]


def test_top_tier_rank_is_configurable_and_strictly_worse() -> None:
    customers = customers_frame([("g_kept", 1, 1.0, "A"), ("g_new", 1, 5.0, None)])
    managers = managers_frame([("A", 1, True)])
    # With top tier = 1 the new Gold finds nobody strictly worse to displace.
    assert outcome(customers, managers, top_tier_rank=1)["g_new"] == (None, "no_capacity")
    customers = customers_frame([("s_kept", 2, 1.0, "A"), ("g_new", 1, 5.0, None)])
    assert outcome(customers, managers, top_tier_rank=1) == {
        "g_new": ("A", "new"),
        "s_kept": (None, "no_capacity"),
    }
    # Not top tier under the default: no displacement.
    assert outcome(customers, managers)["g_new"] == (None, "no_capacity")


def test_several_top_tier_customers_take_victims_in_priority_order() -> None:
    customers = customers_frame(
        [
            ("b1", 3, 5.0, "A"),
            ("b2", 3, 1.0, "B"),
            ("s1", 2, 1.0, "C"),
            ("d1", 0, 9.0, None),
            ("d2", 0, 1.0, None),
            ("d3", 0, 0.0, None),
        ]
    )
    managers = managers_frame([("A", 1, True), ("B", 1, True), ("C", 1, True)])
    # Victims from the bottom: b2 (Bronze, lower value), then b1, then s1.
    assert outcome(customers, managers) == {
        "d1": ("B", "new"),
        "d2": ("A", "new"),
        "d3": ("C", "new"),
        "b1": (None, "no_capacity"),
        "b2": (None, "no_capacity"),
        "s1": (None, "no_capacity"),
    }


def test_top_tier_without_victims_is_no_capacity() -> None:
    customers = customers_frame([("d1", 0, 2.0, "A"), ("d2", 0, 1.0, None)])
    managers = managers_frame([("A", 1, True)])
    assert outcome(customers, managers) == {"d1": ("A", "kept"), "d2": (None, "no_capacity")}


# --- edge cases --------------------------------------------------------------------------------


def test_empty_customers() -> None:
    customers = customers_frame([])
    managers = managers_frame([("A", 3, True), ("B", None, False)])
    result = assign_accounts(customers, managers)
    assert result.assignments.empty
    assert list(result.assignments.columns) == list(ASSIGNMENT_COLUMNS)
    assert list(result.loads.columns) == list(LOAD_COLUMNS)
    assert result.loads["customers"].tolist() == [0, 0]
    assert result.loads["room"].tolist()[0] == 3 and pd.isna(result.loads["room"].iloc[1])


def test_no_active_managers() -> None:
    customers = customers_frame([("c1", 0, 1.0, "A"), ("c2", 3, 1.0, None)])
    managers = managers_frame([("A", None, False)])
    assert outcome(customers, managers) == {
        "c1": (None, "no_capacity"),
        "c2": (None, "no_capacity"),
    }
    assert outcome(customers, managers_frame([])) == {
        "c1": (None, "no_capacity"),
        "c2": (None, "no_capacity"),
    }


def test_unlimited_capacity_keeps_everyone() -> None:
    customers = customers_frame([(f"c{i}", i % 4, float(i), "A") for i in range(50)])
    managers = managers_frame([("A", None, True), ("B", None, True)])
    assert set(outcome(customers, managers).values()) == {("A", "kept")}


def test_invalid_input_is_rejected() -> None:
    managers = managers_frame([("A", 1, True)])
    with pytest.raises(ValueError, match="duplicate"):
        assign_accounts(customers_frame([("c1", 0, 1, None), ("c1", 1, 1, None)]), managers)
    bad = customers_frame([("c1", 0, 1, None)]).assign(weight=0.0)
    with pytest.raises(ValueError, match="weight"):
        assign_accounts(bad, managers)
    with pytest.raises(ValueError, match="capacity"):
        assign_accounts(customers_frame([]), managers_frame([("A", -1, True)]))


# --- seeded random data: invariants ------------------------------------------------------------


def random_customers(n: int, seed: int, current: list[str | None] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tier = rng.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4])
    value = rng.integers(0, 50, size=n).astype(float)  # repeats exercise the id tie-break
    value[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "tier_rank": tier,
            "weight": np.array([TIER_WEIGHTS[t] for t in tier]),
            "priority_value": value,
            "current_staff_id": current if current is not None else [None] * n,
        }
    )


ROOMY_MANAGERS = managers_frame(
    [
        (f"M{j:02d}", cap, True)
        for j, cap in enumerate([300, 250, None, 400, 260, None, 500, 280, 350, None])
    ]
)
TIGHT_MANAGERS = managers_frame(
    [
        (f"M{j:02d}", cap, True)
        for j, cap in enumerate([30, 250, None, 40, 10, None, 500, 0, 350, None])
    ]
)


def check_invariants(
    customers: pd.DataFrame, managers: pd.DataFrame, result: AssignmentResult
) -> None:
    table, loads = result.assignments, result.loads
    assert table["customer_id"].tolist() == sorted(customers["customer_id"])
    assert set(table["reason"]) <= set(REASONS)
    assert (table["staff_id"].isna() == (table["reason"] == "no_capacity")).all()
    counts = table["staff_id"].value_counts()
    limits = managers.set_index("staff_id")["capacity"]
    for staff, count in counts.items():
        assert pd.isna(limits[staff]) or count <= limits[staff]
        assert managers.set_index("staff_id").loc[staff, "active"]
    assert loads["customers"].sum() == table["staff_id"].notna().sum()


def test_fresh_assignment_balances_weighted_load() -> None:
    customers = random_customers(2000, seed=7)
    result = assign_accounts(customers, ROOMY_MANAGERS)
    check_invariants(customers, ROOMY_MANAGERS, result)
    assert (result.assignments["reason"] == "new").all()
    load = result.loads["weighted_load"]
    assert load.sum() == customers["weight"].sum()
    assert ((load - load.mean()).abs() <= 0.10 * load.mean()).all()


def test_tight_capacity_never_exceeded() -> None:
    ids = [*TIGHT_MANAGERS["staff_id"], "GHOST", None]
    rng = np.random.default_rng(3)
    current = [ids[i] for i in rng.integers(0, len(ids), 2000)]
    managers = TIGHT_MANAGERS.assign(capacity=TIGHT_MANAGERS["capacity"].fillna(100))
    managers.loc[1, "active"] = False
    customers = random_customers(2000, seed=3, current=current)
    result = assign_accounts(customers, managers)
    check_invariants(customers, managers, result)
    assert (result.loads["room"] >= 0).all()
    assert (result.assignments["reason"] == "no_capacity").any()


# --- stability ---------------------------------------------------------------------------------


def fed_back(customers: pd.DataFrame, managers: pd.DataFrame) -> pd.DataFrame:
    """The customers with the assignment of one run as their current manager."""
    staff = assign_accounts(customers, managers).assignments.set_index("customer_id")["staff_id"]
    return customers.assign(current_staff_id=customers["customer_id"].map(staff))


def test_new_customer_moves_nobody_else() -> None:
    base = fed_back(random_customers(2000, seed=11), ROOMY_MANAGERS)
    newcomer = customers_frame([("NEW1", 0, 100.0, None)])
    result = assign_accounts(pd.concat([base, newcomer], ignore_index=True), ROOMY_MANAGERS)
    table = result.assignments.set_index("customer_id")
    others = table.drop(index="NEW1")
    assert (others["staff_id"] == others["previous_staff_id"]).all()
    assert (others["reason"] == "kept").all()
    assert table.loc["NEW1", "reason"] == "new" and table.loc["NEW1", "staff_id"] is not None


def test_deactivated_manager_moves_only_its_customers() -> None:
    base = fed_back(random_customers(2000, seed=12), ROOMY_MANAGERS)
    managers = ROOMY_MANAGERS.copy()
    managers.loc[managers["staff_id"] == "M03", "active"] = False
    table = assign_accounts(base, managers).assignments
    orphaned = table["previous_staff_id"] == "M03"
    assert orphaned.any()
    assert (table.loc[orphaned, "reason"] == "manager_inactive").all()
    assert table.loc[orphaned, "staff_id"].notna().all()
    assert (table.loc[orphaned, "staff_id"] != "M03").all()
    rest = table[~orphaned]
    assert (rest["staff_id"] == rest["previous_staff_id"]).all()
    assert (rest["reason"] == "kept").all()


def test_same_input_same_output_and_row_order_does_not_matter() -> None:
    customers = random_customers(2000, seed=5)
    customers["current_staff_id"] = fed_back(customers, TIGHT_MANAGERS)["current_staff_id"]
    customers.loc[customers.index[::7], "current_staff_id"] = None
    first = assign_accounts(customers, TIGHT_MANAGERS)
    again = assign_accounts(customers, TIGHT_MANAGERS)
    shuffled = assign_accounts(
        customers.sample(frac=1.0, random_state=1), TIGHT_MANAGERS.sample(frac=1.0, random_state=2)
    )
    for other in (again, shuffled):
        pd.testing.assert_frame_equal(first.assignments, other.assignments)
        pd.testing.assert_frame_equal(first.loads, other.loads)


# --- cross-check against a plain simulation of the rules -----------------------------------------


def simulate(customers: pd.DataFrame, managers: pd.DataFrame, top: int) -> dict[str, tuple]:
    """The rules applied literally, one customer at a time (slow; small inputs only)."""

    def priority(r: object) -> tuple:
        no_value = math.isnan(r.priority_value)
        return (
            r.tier_rank,
            -r.weight,
            no_value,
            0.0 if no_value else -r.priority_value,
            r.customer_id,
        )

    rows = sorted(customers.itertuples(index=False), key=priority)
    rank = {r.customer_id: i for i, r in enumerate(rows)}
    by_id = {r.customer_id: r for r in rows}
    active = dict(zip(managers["staff_id"], managers["active"], strict=True))
    cap = {
        s: None if pd.isna(c) else int(c)
        for s, c in zip(managers["staff_id"], managers["capacity"], strict=True)
    }
    members: dict[str, list[str]] = {s: [] for s in active}
    staff: dict[str, str | None] = {}
    kept: set[str] = set()
    why: dict[str, str] = {}

    def has_room(s: str) -> bool:
        return active[s] and (cap[s] is None or len(members[s]) < cap[s])

    queue: list[tuple[int, str]] = []
    for r in rows:
        cur = None if pd.isna(r.current_staff_id) else r.current_staff_id
        if cur is not None and active.get(cur, False):
            if has_room(cur):
                staff[r.customer_id] = cur
                members[cur].append(r.customer_id)
                kept.add(r.customer_id)
                continue
            why[r.customer_id] = "rebalanced"
        else:
            why[r.customer_id] = "new" if cur is None else "manager_inactive"
        queue.append((rank[r.customer_id], r.customer_id))
    heapq.heapify(queue)
    while queue:
        _, cid = heapq.heappop(queue)
        staff[cid] = None
        options = [s for s in sorted(active) if has_room(s)]
        if options:
            best = min(
                options,
                key=lambda s: (sum(by_id[c].weight for c in members[s]), len(members[s]), s),
            )
            staff[cid] = best
            members[best].append(cid)
        elif by_id[cid].tier_rank == top:
            victims = [c for s in active for c in members[s] if by_id[c].tier_rank > top]
            if victims:
                victim = max(victims, key=rank.__getitem__)
                slot = staff[victim]
                members[slot].remove(victim)
                kept.discard(victim)
                why[victim] = "rebalanced"
                heapq.heappush(queue, (rank[victim], victim))
                staff[cid] = slot
                members[slot].append(cid)
    return {
        c: (s, "no_capacity" if s is None else "kept" if c in kept else why[c])
        for c, s in staff.items()
    }


def random_case(seed: int, many_weights: bool) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    rng = np.random.default_rng(seed)
    n_mgr = int(rng.integers(1, 7))
    caps = [None if rng.random() < 0.25 else int(rng.integers(0, 80)) for _ in range(n_mgr)]
    managers = managers_frame([(f"M{j}", caps[j], bool(rng.random() < 0.8)) for j in range(n_mgr)])
    n = int(rng.integers(0, 300))
    ids = [*managers["staff_id"], "GHOST", None, None]
    customers = random_customers(
        n, seed=seed, current=[ids[i] for i in rng.integers(0, len(ids), n)]
    )
    if many_weights:  # whole numbers keep float sums exact, as in the simulation
        customers["weight"] = rng.integers(1, 30, n).astype(float)
    return customers, managers, int(rng.integers(0, 2))


@pytest.mark.parametrize("min_run", [1, 64, 10**9], ids=["vectorised", "mixed", "heap"])
@pytest.mark.parametrize("many_weights", [False, True], ids=["tier-weights", "many-weights"])
def test_matches_plain_simulation(
    monkeypatch: pytest.MonkeyPatch, min_run: int, many_weights: bool
) -> None:
    monkeypatch.setattr(placement, "MIN_VECTOR_RUN", min_run)
    for seed in range(40):
        customers, managers, top = random_case(seed, many_weights)
        assert outcome(customers, managers, top_tier_rank=top) == simulate(
            customers, managers, top
        ), f"seed {seed}"


@pytest.mark.parametrize("bad_guess", [False, True], ids=["estimated", "forced-retry"])
def test_vectorised_run_takes_the_k_smallest_keys(
    monkeypatch: pytest.MonkeyPatch, bad_guess: bool
) -> None:
    """One equal-weight run against a brute-force sort of every manager's pick keys."""
    if bad_guess:  # a too-short first guess must be caught and widened
        monkeypatch.setattr(placement, "_first_guess", lambda load, room, w, k: room * 0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        m, w, k = int(rng.integers(1, 8)), float(rng.choice([0.1, 0.7, 1.0, 3.0])), 0
        load = rng.choice([0.0, 0.3, 1.0, 2.1], size=m)
        count = rng.integers(0, 3, size=m)
        room = rng.choice([0, 1, 5, 10**6], size=m)
        k = int(rng.integers(1, 40))
        keys = sorted(
            (load[j] + t * w, count[j] + t, j) for j in range(m) for t in range(min(room[j], k))
        )
        pool = placement.Pool(load.copy(), count.copy(), room.copy())
        chosen = placement._merge_run(pool, w, k)
        assert chosen.tolist() == [j for _, _, j in keys[:k]]
        assert (pool.room == room - np.bincount(chosen, minlength=m)).all()
