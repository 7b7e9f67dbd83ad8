"""The client's pure parts: finding the daemon, the error table, typed results kept in
step with the API's response models, and order bodies."""

from __future__ import annotations

import sys
import subprocess
import inspect
from decimal import Decimal
from pathlib import Path

import pytest

import perpd.api.errors as api_errors
import perpd.errors as core_errors
from perpd.api import models as api_models
from perpd.client import errors as client_errors
from perpd.client import results
from perpd.client.calls import order_body
from perpd.client.errors import DaemonUnreachable, TooManyRequests, from_body
from perpd.client.locate import Endpoint, locate
from perpd.model import OrderSpec, OrderType, Side, TimeInForce


def _no_env(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    for name in ("PERPD_SOCKET", "PERPD_URL", "PERPD_TOKEN", "PERPD_CONFIG", "PERPD_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(cwd)


def test_the_socket_is_found_in_the_configs_state_dir_relative_to_the_file(tmp_path, monkeypatch):
    _no_env(monkeypatch, tmp_path)
    config = tmp_path / "etc" / "perpd.toml"
    config.parent.mkdir()
    config.write_text('[daemon]\nstate_dir = "state"\n')
    endpoint = locate(config=config)
    assert endpoint.socket == tmp_path / "etc" / "state" / "run" / "perpd.sock"
    assert endpoint.state_dir == tmp_path / "etc" / "state"


def test_an_explicit_daemon_socket_in_the_config_wins_and_a_broken_file_is_read_leniently(tmp_path, monkeypatch):
    _no_env(monkeypatch, tmp_path)
    config = tmp_path / "perpd.toml"
    config.write_text('[daemon]\nsocket = "/run/x/perpd.sock"\n[accounts.bad]\nvenue = "missing"\n')
    assert locate(config=config).socket == Path("/run/x/perpd.sock")
    config.write_text("[daemon\nnot toml")
    assert locate(config=config).socket == Path("~/.local/state/perpd/run/perpd.sock").expanduser()


def test_environment_variables_are_used_in_order(tmp_path, monkeypatch):
    _no_env(monkeypatch, tmp_path)
    monkeypatch.setenv("PERPD_STATE_DIR", str(tmp_path / "s"))
    assert locate().socket == tmp_path / "s" / "run" / "perpd.sock"
    monkeypatch.setenv("PERPD_URL", "https://desk.example:8700/")
    monkeypatch.setenv("PERPD_TOKEN", "t0ken")
    remote = locate()
    assert remote.url == "https://desk.example:8700/" and remote.token == "t0ken"
    assert remote.http_base == "https://desk.example:8700/api/v1" and remote.ws_base == "wss://desk.example:8700/ws/v1"
    assert remote.headers == {"Authorization": "Bearer t0ken"}
    monkeypatch.setenv("PERPD_SOCKET", "/tmp/other.sock")
    assert locate().socket == Path("/tmp/other.sock")
    assert locate("/tmp/given.sock").socket == Path("/tmp/given.sock")


def test_the_token_never_shows_in_an_endpoints_repr_or_label():
    endpoint = Endpoint(url="http://127.0.0.1:8700", token="s3cret-token")
    assert "s3cret" not in repr(endpoint) and "s3cret" not in endpoint.describe()
    with pytest.raises(ValueError):
        Endpoint(url="ftp://x")
    with pytest.raises(ValueError):
        Endpoint()


def _error_classes(module: object) -> list[type[core_errors.PerpdError]]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, core_errors.PerpdError) and c.__module__ == module.__name__]  # type: ignore[attr-defined]


def test_every_error_type_the_daemon_can_answer_has_a_typed_class_in_the_client():
    server_types = {c.type_name for c in _error_classes(core_errors) + _error_classes(api_errors)}
    assert server_types <= set(client_errors.ERRORS)


def _instances() -> list[core_errors.PerpdError]:
    return [
        core_errors.ConfigError("bad file", problems=["accounts.x.venue: unknown"]),
        core_errors.InvalidRequest("size: must be positive", details={"fields": [{"field": "size"}]}),
        core_errors.NotFound("no order with id 'x'"),
        core_errors.Denied('denied by policy "house": max_order_notional 50000 < 65000', policy="house",
                           limit="max_order_notional"),
        core_errors.NotSupported("no trigger orders"),
        core_errors.VenueError("boom", venue="sim", code=7),
        core_errors.VenueRejected("insufficient margin", venue="sim", code="margin"),
        core_errors.AuthError("bad key", venue="hl"),
        core_errors.OutcomeUnknown("timeout", venue="hl"),
        core_errors.RateLimited("slow down", venue="hl", code=429, retry_after_secs=2.0),
        core_errors.Unavailable("down", venue="lighter"),
        api_errors.MalformedRequest("malformed JSON"),
        api_errors.Unauthorized("no token"),
        api_errors.Forbidden("needs trade"),
        api_errors.Conflict("exists"),
        api_errors.TooManyRequests("over budget", retry_after_secs=0.5),
        api_errors.MethodNotAllowed("no"),
    ]


@pytest.mark.parametrize("raised", _instances(), ids=lambda e: type(e).__name__)
def test_an_error_comes_back_as_the_class_the_daemon_raised(raised):
    got = from_body(raised.http_status, raised.to_dict())
    assert got.type_name == raised.type_name and got.http_status == raised.http_status
    assert got.message == raised.message and got.details == raised.details
    if type(raised).__module__ == "perpd.errors":
        assert type(got) is type(raised)
    assert isinstance(got, core_errors.PerpdError)


def test_denied_and_rate_limits_keep_what_a_caller_acts_on():
    denied = from_body(403, core_errors.Denied("no", policy="house", limit="max_order_notional").to_dict())
    assert isinstance(denied, core_errors.Denied) and (denied.policy, denied.limit) == ("house", "max_order_notional")
    venue = from_body(429, core_errors.RateLimited("x", venue="hl", retry_after_secs=2.0).to_dict())
    assert isinstance(venue, core_errors.RateLimited) and venue.retry_after_secs == 2.0  # outcome unknown
    budget = from_body(429, api_errors.TooManyRequests("x", retry_after_secs=0.5).to_dict())
    assert isinstance(budget, TooManyRequests) and not isinstance(budget, core_errors.OutcomeUnknown)


def test_an_answer_that_is_not_the_error_shape_is_still_an_error():
    assert isinstance(from_body(503, None, "<html>bad gateway</html>"), core_errors.Unavailable)
    odd = from_body(418, {"error": {"type": "teapot", "message": "short and stout"}})
    assert type(odd) is core_errors.PerpdError and odd.type_name == "teapot" and odd.message == "short and stout"
    assert issubclass(DaemonUnreachable, core_errors.PerpdError)


def test_the_client_reads_the_answers_the_api_sends_with_one_definition():
    """One wire schema: the client's records are the API's response models (perpd.wire),
    and the client module pulls in no server code."""
    pairs = [(results.Positions, api_models.Positions), (results.Account, api_models.AccountOut),
             (results.Books, api_models.OrderBooks), (results.Status, api_models.Status),
             (results.TradingStateChange, api_models.TradingStateOut), (results.ConfigInfo, api_models.ConfigOut)]
    assert all(record is model for record, model in pairs)
    code = "import sys, perpd.client; print(sorted(m for m in sys.modules if m.startswith(('perpd.api', 'perpd.engine', 'perpd.journal'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_an_order_body_without_a_price_is_a_market_order_and_amounts_are_exact_strings():
    assert order_body(None, {"side": "buy", "size": 0.1, "symbol": "BTC", "account": "paper"}) == {
        "side": "buy", "size": "0.1", "symbol": "BTC", "account": "paper", "type": "market"}
    spec = OrderSpec("eth", Side.SELL, Decimal("0.50"), OrderType.STOP_LIMIT, price=Decimal(3000),
                     trigger_price=Decimal(3010), tif=TimeInForce.POST_ONLY, route="r")
    body = order_body(spec, {"client_tag": "t"})
    assert body == {"symbol": "ETH-PERP", "side": "sell", "size": "0.50", "type": "stop_limit", "price": "3000",
                    "trigger_price": "3010", "tif": "post_only", "reduce_only": False, "route": "r", "client_tag": "t"}
