"""Greedy placement: each customer, in priority order, goes to the manager with the lowest
weighted load among those with room (ties: fewest customers, then staff order).

Manager state lives in `Pool` arrays indexed by the manager's position in staff_id order, so
comparing indices breaks ties by staff_id. A long run of customers with the same weight is
placed in one vectorised step: manager j's successive picks have keys
(load_j + t*w, count_j + t, j) for t = 0, 1, ..., which rise with t, so the greedy order over
the run is the merge of those sequences and the run takes the k smallest keys. Short runs
(many distinct weights) go through a heap instead.
"""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Equal-weight runs at least this long are merged vectorised; shorter ones use the heap,
# whose per-customer cost beats an O(managers) numpy step for a handful of customers.
MIN_VECTOR_RUN = 64

_NONE = np.empty(0, dtype=np.int64)


@dataclass
class Pool:
    """Mutable manager state; `room` is 0 for inactive managers and huge for unlimited ones."""

    load: np.ndarray  # float64 weighted load
    count: np.ndarray  # int64 customers
    room: np.ndarray  # int64 free slots


def place(weights: np.ndarray, pool: Pool) -> np.ndarray:
    """Manager index per customer (given in priority order), -1 where no room was left."""
    out = np.full(len(weights), -1, dtype=np.int64)
    for start, stop, vectorised in _runs(weights):
        if vectorised:
            chosen = _merge_run(pool, float(weights[start]), stop - start)
        else:
            chosen = _heap_run(pool, weights[start:stop])
        out[start : start + len(chosen)] = chosen
        # Room never comes back during placement, so a short fill ends it for everyone after.
        if len(chosen) < stop - start:
            break
    return out


def _runs(weights: np.ndarray) -> Iterator[tuple[int, int, bool]]:
    """(start, stop, vectorised): long equal-weight blocks alone, short blocks grouped."""
    n = len(weights)
    if n == 0:
        return
    block_starts = np.concatenate(([0], np.flatnonzero(weights[1:] != weights[:-1]) + 1))
    block_sizes = np.diff(np.append(block_starts, n))
    big = block_sizes >= MIN_VECTOR_RUN
    # A run starts at every long block and at a short block that follows a long one.
    opens = big.copy()
    opens[0] = True
    opens[1:] |= big[:-1]
    run_starts = block_starts[opens]
    run_stops = np.append(run_starts[1:], n)
    yield from zip(run_starts.tolist(), run_stops.tolist(), big[opens].tolist(), strict=True)


def _heap_run(pool: Pool, weights: np.ndarray) -> np.ndarray:
    """Place customers one by one with a heap of (load, count, index); stops when room ends."""
    loads = pool.load.tolist()
    counts = pool.count.tolist()
    rooms = pool.room.tolist()
    heap = [(loads[j], counts[j], j) for j in np.flatnonzero(pool.room > 0).tolist()]
    heapq.heapify(heap)
    chosen: list[int] = []
    for w in weights.tolist():
        if not heap:
            break
        load, count, j = heap[0]
        load += w
        count += 1
        rooms[j] -= 1
        loads[j], counts[j] = load, count
        if rooms[j] > 0:
            heapq.heapreplace(heap, (load, count, j))
        else:
            heapq.heappop(heap)
        chosen.append(j)
    pool.load[:] = loads
    pool.count[:] = counts
    pool.room[:] = rooms
    return np.asarray(chosen, dtype=np.int64) if chosen else _NONE


def _merge_run(pool: Pool, w: float, k: int) -> np.ndarray:
    """Place k customers of weight w at once: the k smallest keys over all managers' picks."""
    cand = np.flatnonzero(pool.room > 0)
    if cand.size == 0:
        return _NONE
    load, count = pool.load[cand], pool.count[cand]
    room = np.minimum(pool.room[cand], k)  # nobody can take more than the whole run
    # At least one pick each (all have room), so the candidate list is never empty.
    prefix = np.clip(_first_guess(load, room, w, k), 1, room)
    while True:
        owner, key_load, key_count = _candidates(load, count, prefix, w)
        order = np.lexsort((owner, key_count, key_load))[:k]
        lacking = prefix < room
        if order.size == k:
            # The guess is right when no manager's first unlisted pick sorts before the last pick.
            last = order[-1]
            head = (load + prefix * w, count + prefix, np.arange(prefix.size))
            lacking &= _before(head, (key_load[last], key_count[last], owner[last]))
        if not lacking.any():
            break
        prefix = np.where(lacking, np.minimum(room, 2 * prefix + 1), prefix)
    taken = np.bincount(owner[order], minlength=cand.size)
    pool.load[cand] = load + taken * w
    pool.count[cand] = count + taken
    pool.room[cand] -= taken
    return cand[owner[order]]


def _first_guess(load: np.ndarray, room: np.ndarray, w: float, k: int) -> np.ndarray:
    """Picks per manager up to the water level where k are taken, plus one for rounding."""
    if room.sum() <= k:
        return room

    def picks(level: float) -> np.ndarray:
        return np.minimum(room, np.maximum(0.0, np.floor((level - load) / w) + 1)).astype(np.int64)

    lo, hi = float(load.min()) - w, float(load.max()) + k * w
    for _ in range(200):  # bisection on floats stops once lo and hi are adjacent
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if picks(mid).sum() >= k:
            hi = mid
        else:
            lo = mid
    return np.minimum(room, picks(hi) + 1)


def _candidates(
    load: np.ndarray, count: np.ndarray, prefix: np.ndarray, w: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, load key, count key) of the first prefix[j] picks of every manager j."""
    owner = np.repeat(np.arange(prefix.size), prefix)
    t = np.arange(owner.size) - np.repeat(np.cumsum(prefix) - prefix, prefix)
    return owner, load[owner] + t * w, count[owner] + t


def _before(
    keys: tuple[np.ndarray, np.ndarray, np.ndarray], bound: tuple[float, int, int]
) -> np.ndarray:
    """Element-wise lexicographic keys < bound over (load, count, index)."""
    load, count, index = keys
    b_load, b_count, b_index = bound
    same_load = load == b_load
    return (load < b_load) | (
        same_load & ((count < b_count) | ((count == b_count) & (index < b_index)))
    )
