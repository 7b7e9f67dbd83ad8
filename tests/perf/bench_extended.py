"""Extended hot paths: signed orders per second against fast_stark_crypto alone, and
order-book stream messages parsed per second.

Run: .venv/bin/python tests/perf/bench_extended.py
Goals (issue 19): signed orders/s >= 80 % of what fast_stark_crypto alone signs in the
same run; book messages/s printed.

"fast_stark_crypto alone" = `get_order_msg_hash` + `sign` on precomputed integer
arguments: the floor of any Extended signer. "Signed order" = an OrderRequest turned
into the complete POST /user/order body (`orders.build`: settlement amounts in L2 units
with the SDK's rounding, the SNIP-12 Poseidon hash, the Stark signature, the JSON
fields) -- everything `create_order` does before sending.

"Book message" = one v2 RPC `orderbooks` DELTA frame as received (JSON text, 1-3
changed levels, a fifth of them removals): orjson-decoded, seq-checked, applied to the
local book and turned into the BookUpdate event `watch()` yields.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

import fast_stark_crypto
import orjson
from pydantic import SecretStr

from perpd.model import OrderRequest, OrderType, Side
from venues.extended import orders
from venues.extended.config import ExtendedVenueConfig
from venues.extended.market_data import parse_market
from venues.extended.emulator.markets import DEFAULT_MARKETS, market_json
from venues.extended.signing import StarknetDomain, StarkSigner
from venues.extended.streams import LocalBook, _check_seq, _public_events
from venues.extended.venue import ExtendedVenue

KEY = "0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986"
BTC = parse_market(market_json(DEFAULT_MARKETS[0], {}), "ext")


def raw_per_sec(n: int) -> float:
    private = int(KEY, 16)
    public = fast_stark_crypto.get_public_key(private)
    args = dict(position_id=10002, base_asset_id=BTC.l2.synthetic_id, base_amount=1000, quote_asset_id=1,
                quote_amount=-43445117, fee_asset_id=1, fee_amount=21723, expiration=1706836137, salt=0,
                user_public_key=public, domain_name="Perpetuals", domain_version="v0", domain_chain_id="SN_SEPOLIA",
                domain_revision="1")
    start = time.perf_counter()
    for i in range(n):
        args["salt"] = i
        digest = fast_stark_crypto.get_order_msg_hash(**args)
        fast_stark_crypto.sign(private_key=private, msg_hash=digest)
    return n / (time.perf_counter() - start)


def signed_per_sec(n: int) -> float:
    rng = random.Random(7)
    signer = StarkSigner(SecretStr(KEY), vault=10002, domain=StarknetDomain())
    requests = [OrderRequest(f"pd-{i:024x}", "BTC-PERP", Side.BUY if i % 2 else Side.SELL, OrderType.LIMIT,
                             Decimal(rng.randrange(10, 5000)) / 100_000, Decimal(rng.randrange(60_000, 70_000)))
                for i in range(n)]
    fee = Decimal("0.00025")
    start = time.perf_counter()
    for i, request in enumerate(requests):
        orders.build(request, BTC, signer, price=request.price, fee_rate=fee, nonce=i, expiry_ms=1_800_000_000_000 + i)
    return n / (time.perf_counter() - start)


def frames(n: int) -> list[bytes]:
    rng = random.Random(7)
    bids = {Decimal(64_999 - i): Decimal("0.5") for i in range(50)}
    asks = {Decimal(65_001 + i): Decimal("0.5") for i in range(50)}
    out = [orjson.dumps({"type": "SNAPSHOT", "data": {"m": "BTC-USD", "b": [{"p": str(p), "q": str(q)} for p, q in bids.items()],
                                                        "a": [{"p": str(p), "q": str(q)} for p, q in asks.items()], "d": "full"},
                         "ts": 1, "seq": 0, "subscription": "orderbooks.BTC-USD"})]
    for seq in range(1, n):
        levels = {"b": [], "a": []}
        for _ in range(rng.randint(1, 3)):
            side, book = ("b", bids) if rng.random() < 0.5 else ("a", asks)
            price = rng.choice(list(book))
            change = -book[price] if rng.random() < 0.2 else Decimal(rng.randrange(1, 50)) / 100
            book[price] += change
            if not book[price]:
                del book[price]
                book[price + (100 if side == "a" else -100)] = Decimal("0.25")
            levels[side].append({"p": str(price), "q": str(change)})
        out.append(orjson.dumps({"type": "DELTA", "data": {"m": "BTC-USD", **levels, "d": "full"}, "ts": seq,
                                 "seq": seq, "subscription": "orderbooks.BTC-USD"}))
    return out


def book_messages_per_sec(n: int) -> float:
    venue = ExtendedVenue("ext", ExtendedVenueConfig(network="testnet", rest_url="http://127.0.0.1:1"))
    venue._specs, venue._by_name = {BTC.symbol: BTC}, {BTC.name: BTC}
    kinds = {"BTC-USD": {"book"}}
    raw = frames(n)
    books: dict[str, LocalBook] = {}
    seq: dict[str, int] = {}
    last = None
    start = time.perf_counter()
    for text in raw:
        message = orjson.loads(text)
        last = _check_seq(message, last)
        _public_events(venue, kinds, books, seq, message)
    return n / (time.perf_counter() - start)


def main() -> None:
    n = 3000
    raw_per_sec(200), signed_per_sec(200)  # warm up
    raw = max(raw_per_sec(n) for _ in range(3))
    ours = max(signed_per_sec(n) for _ in range(3))
    print(f"fast_stark_crypto alone (hash + sign): {raw:,.0f} orders/s")
    print(f"perpd signed order bodies:             {ours:,.0f} orders/s ({ours / raw:.0%} of fast_stark_crypto alone; goal >= 80%)")
    books = max(book_messages_per_sec(100_000) for _ in range(3))
    print(f"order-book stream messages parsed:     {books:,.0f} messages/s")


if __name__ == "__main__":
    main()
