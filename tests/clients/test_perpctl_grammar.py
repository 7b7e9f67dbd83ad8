"""The one grammar of perpctl and %perp: parsing, usage errors, completion candidates."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import pytest

from perpd.perpctl.grammar import Kind, UsageError, candidates, parse_words, split
from perpd.perpctl.verbs import SYNTAXES, VERBS


class Names:
    """What a daemon with two accounts, a route and three markets would offer."""

    table: ClassVar[dict[Kind, list[str]]] = {
        Kind.SYMBOL: ["BTC", "ETH", "SOL"],
        Kind.ACCOUNT: ["paper", "spare"],
        Kind.TARGET: ["paper", "spare", "btc-best"],
        Kind.VENUE: ["sim"],
        Kind.ORDER_ID: ["all", "pd-1a2b", "pd-3c4d"],
        Kind.SCOPE: ["global", "account:paper", "account:spare", "venue:sim", "policy:house"],
    }

    def names(self, kind: Kind) -> list[str]:
        return self.table.get(kind, [])


def parse(line: str) -> dict:
    words = split(line)
    return parse_words(VERBS[words[0]].syntax, words[0], words[1:])


def test_a_limit_order_line_reads_as_its_fields_in_any_order():
    assert parse("buy 0.1 BTC @ 60000 on paper post reduce") == {
        "size": Decimal("0.1"), "symbol": "BTC", "price": Decimal(60000), "target": "paper",
        "tif": "post_only", "reduce_only": True}
    assert parse("sell 0.1 eth reduce on paper @3500.5 ioc") == {
        "size": Decimal("0.1"), "symbol": "ETH", "reduce_only": True, "target": "paper",
        "price": Decimal("3500.5"), "tif": "ioc"}


def test_trigger_orders_take_a_side_and_a_trigger_price():
    assert parse("stop sell 0.5 BTC at 58000 @ 57900 on paper reduce") == {
        "side": "sell", "size": Decimal("0.5"), "symbol": "BTC", "trigger": Decimal(58000),
        "price": Decimal(57900), "target": "paper", "reduce_only": True}


@pytest.mark.parametrize(("line", "message"), [
    ("buy BTC 0.1", "size: expected a number (got 'BTC')"),
    ("buy 0.1", "missing SYMBOL"),
    ("buy 0.1 BTC @", "'@' needs a price"),
    ("buy 0.1 BTC ioc fok", "'fok' conflicts"),
    ("buy 0.1 BTC on paper on spare", "'on' given twice"),
    ("buy 0.1 BTC 60000", "unexpected '60000'"),
    ("buy 0.1 BTC-USD", "not a perpetual symbol"),
    ("buy NaN BTC", "finite number"),
    ("stop hold 1 BTC", "expected one of buy, sell"),
    ("book BTC sim depth x", "expected a whole number"),
    ("halt 'unclosed", "cannot read that line"),
])
def test_a_wrong_line_is_a_usage_error_saying_what_is_wrong(line, message):
    with pytest.raises(UsageError) as error:
        parse(line)
    assert message in error.value.message


def test_the_rest_of_a_halt_line_is_its_reason_and_comments_are_dropped():
    assert parse("halt account:paper keep reason fat finger on BTC") == {
        "scope": "account:paper", "cancel": False, "reason": "fat finger on BTC"}
    assert split("positions  # what do I hold") == ["positions"]


def test_completion_starts_with_the_verbs():
    assert candidates(SYNTAXES, "", Names()) == sorted(VERBS)
    assert candidates(SYNTAXES, "b", Names()) == ["balance", "book", "buy"]
    assert candidates(SYNTAXES, "frob ", Names()) == []


def test_completion_offers_symbols_then_targets_then_the_remaining_words():
    names = Names()
    assert candidates(SYNTAXES, "buy 0.1 ", names) == ["BTC", "ETH", "SOL", "on", "slippage", "tag", "tp", "sl",
                                                       "gtc", "ioc", "fok", "post", "reduce"]
    assert candidates(SYNTAXES, "buy 0.1 e", names) == ["ETH"]
    assert candidates(SYNTAXES, "buy 0.1 BTC on ", names) == ["paper", "spare", "btc-best"]
    assert candidates(SYNTAXES, "buy 0.1 BTC on paper ioc ", names) == ["slippage", "tag", "tp", "sl", "reduce"]
    assert candidates(SYNTAXES, "cancel ", names)[:2] == ["all", "pd-1a2b"]
    assert candidates(SYNTAXES, "halt acc", names) == ["account:paper", "account:spare"]
    assert candidates(SYNTAXES, "watch ", names) == ["book", "positions", "orders", "fills", "on", "depth", "for"]
    assert candidates(SYNTAXES, "help w", names) == ["watch"]
    assert candidates(SYNTAXES, "halt reason ", names) == []


def test_every_verb_has_a_usage_and_a_summary():
    for verb in VERBS.values():
        assert verb.usage.startswith(verb.name) and verb.summary
