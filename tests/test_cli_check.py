"""The `perpd` console script: check, keys and emulate, run as a user runs them."""

from __future__ import annotations

import io
import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from perpd import cli
from perpd.config import config_hash, load
from perpd.secrets import Secrets

ROOT = Path(__file__).resolve().parent.parent
PERPD = Path(sys.executable).parent / "perpd"
SECRET = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no PERPD_* settings, HOME in tmp so `~` touches nothing real."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PERPD_", "HL_", "LIGHTER_"))}
    clean["HOME"] = str(tmp_path / "home")
    return clean


def perpd(*args: str, env: dict[str, str], cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PERPD), *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True,
        start_new_session=True,  # no controlling terminal: prompts must not be attempted
    )


def test_check_accepts_the_sim_config_and_prints_its_summary(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = perpd("check", "configs/sim.toml", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    monkeypatch.setenv("HOME", env["HOME"])  # state_dir = "~/..." is part of the meaning
    assert f"(hash {config_hash(load(ROOT / 'configs/sim.toml'))})" in out
    assert re.search(r"^  sim +kind=sim", out, re.M)
    assert re.search(r"^  paper +venue=sim  leverage BTC-PERP=5 ETH-PERP=5$", out, re.M)
    for title in ("venues (1)", "accounts (1)", "policies (1)", "routes (0)", "targets (1)", "standing orders (1)"):
        assert title in out
    assert len(out.splitlines()) <= 40  # one screen


def test_check_accepts_the_example_without_any_secret_present(env: dict[str, str], tmp_path: Path) -> None:
    result = perpd("check", "-c", "perpd.toml.example", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "signer=env:HL_AGENT_KEY (missing)" in out  # references are shown, not resolved
    assert "api_keys[0].secret=keystore:lighter-main-2 (missing)" in out
    assert re.search(r"^venues \(3\)$", out, re.M) and re.search(r"^standing orders \(2\)$", out, re.M)
    assert not (tmp_path / "home").exists()  # check creates nothing


def test_the_example_shows_every_key_of_every_section() -> None:
    """Each config model field appears in the example, set or as a commented `# key =`
    (a table: its `[section.key]` header)."""
    from perpd import config as cfg
    from venues.registry import venue_class

    text = (ROOT / "perpd.toml.example").read_text()
    models = [cfg.DaemonConfig, cfg.ApiConfig, cfg.ApiToken, cfg.FanoutConfig, cfg.PolicyConfig, cfg.PolicyScope,
              cfg.RouteConfig, cfg.TargetConfig, cfg.StandingOrderConfig]
    for kind in ("sim", "hyperliquid", "lighter", "extended", "edgex", "vest"):
        models += [venue_class(kind).config_model, venue_class(kind).account_model]
    from venues.lighter.config import LighterApiKey
    from venues.sim.config import SimMarketConfig

    models += [LighterApiKey, SimMarketConfig]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if not re.search(rf"(^|[\s{{,])#?\s*{re.escape(name)} = |^#?\s*\[[\w.]+\.{re.escape(name)}\]", text, re.M)
    ]
    assert missing == []


def test_a_bad_config_exits_1_listing_every_problem_by_path(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent(f"""
        [venues.hl]
        kind = "hyperliquid"
        [accounts.hl-main]
        venue = "hl"
        account_address = "0x1111111111111111111111111111111111111111"
        signer = "{SECRET}"
        leverage = {{ BTC = -3 }}
        [[routes]]
        name = "r"
        accounts = ["ghost"]
    """))
    result = perpd("check", str(bad), env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"perpd check: {bad}: 3 problem(s)",
        "  accounts.hl-main.leverage.BTC: must be positive (got -3)",
        "  accounts.hl-main.signer: must be a secret reference (env:NAME, file:/path or keystore:NAME), not a literal value",
        "  routes[0].accounts: no account named 'ghost'",
    ]
    assert SECRET not in result.stderr


def test_a_syntax_error_exits_1_naming_the_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[daemon]\nhttp = "127.0.0.1:8700"\nlog_level = info\n')
    result = perpd("check", "-c", str(bad), env=env)
    assert result.returncode == 1
    assert "TOML syntax error" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_exits_1_saying_how_to_name_one(env: dict[str, str], tmp_path: Path) -> None:
    result = perpd("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "perpd check: perpd.toml: no such config file (use -c FILE or $PERPD_CONFIG)\n"


def test_check_finds_the_config_through_the_environment_then_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "perpd.toml").write_text('[venues.local]\nkind = "sim"\n')
    (tmp_path / "other.toml").write_text('[venues.other]\nkind = "sim"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERPD_CONFIG", raising=False)
    assert cli.main(["check"]) == 0
    assert "  local " in capsys.readouterr().out
    monkeypatch.setenv("PERPD_CONFIG", "other.toml")
    assert cli.main(["check"]) == 0
    assert "  other " in capsys.readouterr().out
    assert cli.main(["-c", "perpd.toml", "check"]) == 0  # the flag wins, before or after the command
    assert "  local " in capsys.readouterr().out


def test_state_dir_and_http_overrides_show_in_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERPD_HTTP", raising=False)
    monkeypatch.setenv("PERPD_STATE_DIR", str(tmp_path / "from-env"))
    assert cli.main(["check", str(ROOT / "configs/sim.toml")]) == 0
    assert f"state_dir={tmp_path / 'from-env'}  http=127.0.0.1:8700" in capsys.readouterr().out
    assert cli.main(["check", str(ROOT / "configs/sim.toml"), "--state-dir", str(tmp_path / "flag"), "--http", "false"]) == 0
    assert f"state_dir={tmp_path / 'flag'}  http=off" in capsys.readouterr().out


def test_giving_two_different_config_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "a.toml", "-c", "b.toml"]) == 2
    assert "give the config file once" in capsys.readouterr().err


# --------------------------------------------------------------------------- keys


def test_keys_add_list_remove_through_the_console_script(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    env = {**env, "PERPD_KEYSTORE_PASSPHRASE": "correct horse"}
    added = perpd("keys", "add", "hl-agent", "--state-dir", str(state), env=env, stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == f"added keystore:hl-agent ({state / 'keystore' / 'hl-agent.key'})\n"
    listed = perpd("--state-dir", str(state), "keys", "list", env=env)
    assert (listed.returncode, listed.stdout) == (0, "hl-agent\n")
    for result in (added, listed):
        assert SECRET not in result.stdout + result.stderr and "correct horse" not in result.stdout + result.stderr

    # The rest in-process (same entry point, no interpreter start-up each time).
    monkeypatch.setenv("PERPD_KEYSTORE_PASSPHRASE", "different")
    monkeypatch.setattr(sys, "stdin", io.StringIO("x"))
    assert cli.main(["keys", "add", "other", "--state-dir", str(state)]) == 1
    assert "does not open the existing keys" in capsys.readouterr().err
    assert cli.main(["keys", "remove", "hl-agent", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out == "removed keystore:hl-agent\n"
    assert cli.main(["keys", "remove", "hl-agent", "--state-dir", str(state)]) == 1
    assert capsys.readouterr().err.startswith("perpd keys: keystore:hl-agent: no such key")
    assert cli.main(["keys", "list", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # the child only execs
def test_keys_add_on_a_terminal_prompts_without_echo(env: dict[str, str], tmp_path: Path) -> None:
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a session whose controlling terminal is the pty
        os.execve(str(PERPD), [str(PERPD), "keys", "add", "hl-agent", "--state-dir", str(tmp_path)], env)
    seen = ""
    try:
        for prompt, answer in (("(not echoed): ", SECRET), ("Keystore passphrase: ", "pw"), ("Repeat the passphrase: ", "pw")):
            while prompt not in seen:
                seen += os.read(terminal, 1024).decode()
            os.write(terminal, f"{answer}\n".encode())
        while True:
            try:
                chunk = os.read(terminal, 1024).decode()
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert "added keystore:hl-agent" in seen
    assert SECRET not in seen and "pw\r" not in seen  # nothing typed was echoed
    assert Secrets(tmp_path, "pw").resolve("keystore:hl-agent").get_secret_value() == SECRET


def test_keys_add_without_a_passphrase_or_terminal_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    result = perpd("keys", "add", "k", "--state-dir", str(tmp_path), env=env, stdin=SECRET)
    assert result.returncode == 1
    assert result.stderr == "perpd keys: no keystore passphrase: set $PERPD_KEYSTORE_PASSPHRASE or run on a terminal\n"
    assert not (tmp_path / "keystore").exists()


def test_keys_use_the_state_dir_of_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "perpd.toml"
    config.write_text('[daemon]\nstate_dir = "st"\n')
    monkeypatch.delenv("PERPD_STATE_DIR", raising=False)
    (tmp_path / "st" / "keystore").mkdir(parents=True)
    (tmp_path / "st" / "keystore" / "present.key").write_text("{}")
    assert cli.main(["keys", "list", "-c", str(config)]) == 0
    assert capsys.readouterr().out == "present\n"


# --------------------------------------------------------------------------- emulate


def test_emulate_of_a_kind_without_an_emulator_exits_2(env: dict[str, str]) -> None:
    result = perpd("emulate", "mtgox", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "perpd emulate: no emulator for venue kind 'mtgox' (module venues.mtgox.emulator is not installed)\n"
    )


SERVE_FAKE_EMULATOR = textwrap.dedent("""
    import sys, types
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def create_app(*, seed, starting_balance, **opts):
        async def hello(request):
            return JSONResponse({"seed": seed, "balance": str(starting_balance)})
        return Starlette(routes=[Route("/", hello)])

    module = types.ModuleType("venues.loopback.emulator")
    module.create_app = create_app
    sys.modules["venues.loopback.emulator"] = module
    from perpd.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_emulate_serves_the_kind_s_app_on_loopback(env: dict[str, str]) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE_FAKE_EMULATOR, "emulate", "loopback", "--port", "0", "--seed", "11",
         "--balance", "2500.50"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        banner = child.stdout.readline()
        assert banner == "perpd emulate: loopback on a free port on 127.0.0.1 (uvicorn names it below) (seed 11, balance 2500.50 USDC)\n"
        for line in child.stderr:  # uvicorn announces the port it bound
            match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if match:
                break
        assert match is not None
        assert httpx.get(match.group(1) + "/").json() == {"seed": 11, "balance": "2500.50"}
    finally:
        child.send_signal(signal.SIGINT)
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == 0


def test_emulate_lists_each_emulators_options_and_refuses_unknown_ones(env: dict[str, str]) -> None:
    shown = perpd("emulate", "--help", env=env)
    assert shown.returncode == 0
    assert "position_lag_secs" in shown.stdout and "demo_account" in shown.stdout
    refused = perpd("emulate", "hyperliquid", "--port", "0", "-o", "lag=1", env=env)
    assert refused.returncode == 2
    assert "the hyperliquid emulator has no option lag (it has: position_lag_secs" in refused.stderr
