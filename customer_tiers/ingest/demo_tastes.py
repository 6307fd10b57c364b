"""Planted co-purchase patterns of the demo data: each customer has a taste that sets the
product categories of their order lines, so categories go together the way real baskets do
(customers who buy skincare buy makeup far more often than others; haircare goes with
wellness). marts.category_affinity finds these pairs and customer_next_category recommends
from them.

Every draw here comes from a generator of its own (the chunk's `tastes` stream), so the other
demo fields keep their random streams; only the products of the order lines (and so their
prices and amounts) follow the tastes.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# Category weights in demo_data._CATEGORIES order:
# skincare, haircare, makeup, fragrance, wellness, gift_card.
_TASTES: Final = (
    # (share of customers, weights of the categories of their order lines)
    (0.45, (0.52, 0.01, 0.40, 0.05, 0.01, 0.01)),  # beauty: skincare with makeup
    (0.35, (0.02, 0.50, 0.01, 0.005, 0.46, 0.005)),  # hair and wellness
    (0.20, (0.32, 0.14, 0.20, 0.10, 0.17, 0.07)),  # everything, at the catalogue's shares
)


def draw_tastes(rng: np.random.Generator, customers: int) -> np.ndarray:
    """The taste (an index of _TASTES) of each customer of a chunk."""
    shares = np.array([share for share, _ in _TASTES])
    return np.minimum(np.searchsorted(np.cumsum(shares), rng.random(customers)), len(_TASTES) - 1)


def line_categories(rng: np.random.Generator, taste: np.ndarray) -> np.ndarray:
    """A category (an index of demo_data._CATEGORIES) per order line, from its customer's taste."""
    cumulative = np.cumsum([weights for _, weights in _TASTES], axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(taste))
    # the first category whose cumulative weight is above u, in the row of the line's taste
    picked = (u[:, None] >= cumulative[taste]).sum(axis=1)
    return np.minimum(picked, cumulative.shape[1] - 1)
