"""The contract suite every venue passes: subclass `VenueContract` (see README.md)."""

from .helpers import (
    eventually,
    expect_refused,
    far_price,
    new_client_id,
    next_matching,
    order_size,
    wait_for_status,
)
from .suite import VenueContract

__all__ = [
    "VenueContract",
    "eventually",
    "expect_refused",
    "far_price",
    "new_client_id",
    "next_matching",
    "order_size",
    "wait_for_status",
]
