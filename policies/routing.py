"""Routing: which account(s) an order that names a route trades through.

`decide` is pure over the Portfolio: books in `portfolio.market_data.books`, markets (lots,
taker fees) in `portfolio.market_data.markets`. The engine passes `enabled` (the account is
enabled and not halted) and `passes` (the risk gate would pass an order of that size on
that account, `RiskGate.would_pass`), and journals the decision with the quotes it saw.

Strategy        picks
==============  ===========================================================================
fixed           the first enabled account, in route order, whose venue trades the symbol
best_price      the best top of book for the side after the taker fee, among accounts whose
                risk gate would pass the whole order; ties go to route order
split           legs by `weights` (accounts without a weight get none), or else by visible
                depth on the taking side within `limit_bps` of each book's mid; each leg is
                rounded down to its market's lot, the remainder handed out lot by lot, so
                the legs sum exactly to the request whenever the lots allow it (always when
                the request is a multiple of the finest lot and the lots are powers of ten),
                and never to more; zero legs are dropped; an account whose gate would refuse
                its leg is left out and the rest re-split
least_exposure  the account with the smallest absolute position in the asset; ties go to
                route order
==============  ===========================================================================

No candidate raises Denied naming the route and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from perpd.config import RouteConfig
from perpd.errors import Denied
from perpd.model import ONE, ZERO, Market, OrderSpec, Side, base_asset, round_size
from perpd.portfolio import LocalBook, Portfolio
from policies.risk import BPS

Enabled = Callable[[str], bool]
Passes = Callable[[str, Decimal], bool]
Legs = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Quote:
    """Top of book on the taking side of one candidate; price None when there is no book."""

    account: str
    venue: str
    price: Decimal | None
    size: Decimal
    effective_price: Decimal | None  # after the taker fee: a buy pays more, a sell gets less


@dataclass(frozen=True)
class RouteDecision:
    route: str
    strategy: str
    legs: tuple[tuple[str, Decimal], ...]  # (account, size), in route order
    quotes: tuple[Quote, ...]
    reason: str


@dataclass(frozen=True)
class _Candidate:
    account: str
    venue: str
    market: Market
    book: LocalBook | None  # None unless a ready book is held


Strategy = Callable[[RouteConfig, OrderSpec, Sequence[_Candidate], Sequence[Quote], Portfolio, Passes], tuple[Legs, str]]


def decide(
    route: RouteConfig,
    spec: OrderSpec,
    portfolio: Portfolio,
    *,
    enabled: Enabled,
    passes: Passes,
) -> RouteDecision:
    """Pick the account(s) and sizes for `spec` on `route`; raise Denied if none can take it."""
    if not route.covers(spec.symbol):
        raise _denied(route, f"does not trade {spec.symbol}")
    candidates, skipped = _candidates(route, spec.symbol, portfolio, enabled)
    if not candidates:
        raise _denied(route, f"no enabled account trades {spec.symbol} ({'; '.join(skipped)})")
    quotes = tuple(_quote(c, spec.side) for c in candidates)
    legs, reason = STRATEGIES[route.strategy](route, spec, candidates, quotes, portfolio, passes)
    return RouteDecision(route.name, route.strategy, legs, quotes, reason)


def _denied(route: RouteConfig, why: str) -> Denied:
    return Denied(f'denied by route "{route.name}": {why}')


def _candidates(
    route: RouteConfig, symbol: str, portfolio: Portfolio, enabled: Enabled
) -> tuple[list[_Candidate], list[str]]:
    found, skipped = [], []
    for account in route.accounts:
        state = portfolio.accounts.get(account)
        if state is None:
            skipped.append(f"{account}: not running")
            continue
        if not enabled(account):
            skipped.append(f"{account}: disabled")
            continue
        market = portfolio.market_data.market(state.venue, symbol)
        if market is None:
            skipped.append(f"{account}: {state.venue} has no {symbol}")
            continue
        local = portfolio.market_data.books.get((state.venue, symbol))
        book = local if local is not None and local.ready else None
        found.append(_Candidate(account, state.venue, market, book))
    return found, skipped


def _quote(candidate: _Candidate, side: Side) -> Quote:
    levels = candidate.book.snapshot(1).side_levels(side) if candidate.book is not None else ()
    if not levels:
        return Quote(candidate.account, candidate.venue, None, ZERO, None)
    top = levels[0]
    fee = candidate.market.taker_fee
    effective = top.price * (ONE + fee) if side is Side.BUY else top.price * (ONE - fee)
    return Quote(candidate.account, candidate.venue, top.price, top.size, effective)


# --------------------------------------------------------------------------- strategies


def _fixed(
    route: RouteConfig,
    spec: OrderSpec,
    candidates: Sequence[_Candidate],
    quotes: Sequence[Quote],
    portfolio: Portfolio,
    passes: Passes,
) -> tuple[Legs, str]:
    first = candidates[0]
    return ((first.account, spec.size),), f"fixed: {first.account} is the first enabled account trading {spec.symbol}"


def _best_price(
    route: RouteConfig,
    spec: OrderSpec,
    candidates: Sequence[_Candidate],
    quotes: Sequence[Quote],
    portfolio: Portfolio,
    passes: Passes,
) -> tuple[Legs, str]:
    priced = [q for q in quotes if q.effective_price is not None]
    if not priced:
        raise _denied(route, f"no {spec.side.value} quote for {spec.symbol} on any candidate")
    eligible = [q for q in priced if passes(q.account, spec.size)]
    if not eligible:
        refused = ", ".join(q.account for q in priced)
        raise _denied(route, f"the risk gate would refuse {spec.size} {spec.symbol} on every quoted account ({refused})")
    sign = 1 if spec.side is Side.BUY else -1
    best = min(eligible, key=lambda q: sign * (q.effective_price or ZERO))
    seen = "; ".join(f"{q.account} {q.price} -> {q.effective_price}" for q in priced)
    return ((best.account, spec.size),), f"best_price: {best.account} ({spec.side.value}; after taker fee: {seen})"


def _least_exposure(
    route: RouteConfig,
    spec: OrderSpec,
    candidates: Sequence[_Candidate],
    quotes: Sequence[Quote],
    portfolio: Portfolio,
    passes: Passes,
) -> tuple[Legs, str]:
    asset = base_asset(spec.symbol)

    def exposure(candidate: _Candidate) -> Decimal:
        positions = portfolio.accounts[candidate.account].positions.values()
        return abs(sum((p.size for p in positions if base_asset(p.symbol) == asset), ZERO))

    sizes = [(exposure(c), c) for c in candidates]
    least = min(sizes, key=lambda pair: pair[0])  # min keeps the first of equals: route order
    seen = ", ".join(f"{c.account} {size}" for size, c in sizes)
    return ((least[1].account, spec.size),), f"least_exposure: {least[1].account} (|{asset}| positions: {seen})"


def _split(
    route: RouteConfig,
    spec: OrderSpec,
    candidates: Sequence[_Candidate],
    quotes: Sequence[Quote],
    portfolio: Portfolio,
    passes: Passes,
) -> tuple[Legs, str]:
    if route.weights is not None:
        shares = [(c, route.weights.get(c.account, ZERO)) for c in candidates]
        basis = "weights"
    else:
        shares = [(c, depth_within(c.book, spec.side, route.limit_bps)) for c in candidates]
        basis = f"depth within {route.limit_bps} bps of mid"
    active = [(c, w) for c, w in shares if w > 0]
    if not active:
        raise _denied(route, f"split by {basis}: no enabled account has a share")
    refused: list[str] = []
    while True:
        sizes = allocate(spec.size, [(w, c.market.lot_size) for c, w in active])
        legs = [(c.account, size) for (c, _), size in zip(active, sizes, strict=True) if size > 0]
        if not legs:
            raise _denied(route, f"split by {basis}: {spec.size} is below every market's lot")
        failing = {account for account, size in legs if not passes(account, size)}
        if not failing:
            break
        refused.extend(sorted(failing))
        active = [(c, w) for c, w in active if c.account not in failing]
        if not active:
            raise _denied(route, f"split by {basis}: the risk gate would refuse every leg ({', '.join(refused)})")
    total = sum((size for _, size in legs), ZERO)
    text = f"split by {basis}: " + ", ".join(f"{a} {s}" for a, s in legs)
    if total != spec.size:
        text += f" (lots leave {spec.size - total} unplaced)"
    if refused:
        text += f"; left out by the risk gate: {', '.join(refused)}"
    return tuple(legs), text


STRATEGIES: dict[str, Strategy] = {
    "fixed": _fixed,
    "best_price": _best_price,
    "split": _split,
    "least_exposure": _least_exposure,
}


# --------------------------------------------------------------------------- split helpers


def depth_within(book: LocalBook | None, side: Side, limit_bps: Decimal) -> Decimal:
    """Size on the taking side within `limit_bps` of the book's mid (0 without a two-sided book)."""
    if book is None or book.best_bid is None or book.best_ask is None:
        return ZERO
    mid = (book.best_bid + book.best_ask) / 2
    band = limit_bps / BPS
    bound = mid * (ONE + band) if side is Side.BUY else mid * (ONE - band)
    depth = 64
    while True:
        levels = book.snapshot(depth).side_levels(side)
        inside = [lvl for lvl in levels if (lvl.price <= bound if side is Side.BUY else lvl.price >= bound)]
        # Levels are best first: if all fetched levels are inside the band, there may be more.
        if len(inside) < len(levels) or len(levels) < depth:
            return sum((lvl.size for lvl in inside), ZERO)
        depth *= 4


def allocate(size: Decimal, shares: Sequence[tuple[Decimal, Decimal]]) -> list[Decimal]:
    """Split `size` by (weight, lot) shares: each part a multiple of its lot, the sum <= size.

    Parts are rounded down to their lots, then the remainder goes out one lot at a time to
    the parts furthest below their target (largest remainder), and what is left after that
    to the finest lots first, so the sum is exact whenever the lots allow it.
    """
    total = sum((w for w, _ in shares), ZERO)
    targets = [size * w / total for w, _ in shares]
    parts = [round_size(t, lot) for t, (_, lot) in zip(targets, shares, strict=True)]
    rest = size - sum(parts, ZERO)
    for i in sorted(range(len(shares)), key=lambda i: (parts[i] - targets[i], i)):
        lot = shares[i][1]
        if lot <= rest:
            parts[i] += lot
            rest -= lot
    for i in sorted(range(len(shares)), key=lambda i: (shares[i][1], i)):
        lot = shares[i][1]
        if rest >= lot:
            extra = round_size(rest, lot)
            parts[i] += extra
            rest -= extra
    return parts
