"""`POST /_emulator/faults`: counters set by name, actions, settings, and an unknown name refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.loopback import serve
from venues.simex.controls import faults_endpoint

pytestmark = pytest.mark.anyio


@dataclass
class Faults:
    rate_limited: int = 0


@dataclass
class Emulator:
    faults: Faults = field(default_factory=Faults)
    dropped: int = 0
    held: bool = False
    gaps: int = 0

    def drop_ws(self) -> int:
        self.dropped += 1
        return 3


async def test_counters_actions_and_settings_are_applied_and_unknown_names_refused() -> None:
    emulator = Emulator()
    endpoint = faults_endpoint(lambda request: emulator, {"hold": lambda emu, body: setattr(emu, "held", True)},
                               settings={"gaps": lambda emu, value: setattr(emu, "gaps", int(value))},
                               refusal=lambda name: {"code": 1130, "msg": name})
    async with serve(Starlette(routes=[Route("/_emulator/faults", endpoint, methods=["POST"])])) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            answer = await client.post("/_emulator/faults", json={"action": "drop_ws", "rate_limited": "2", "gaps": 1})
            assert answer.json() == {"ok": True, "dropped": 3, "faults": {"rate_limited": 2}}
            assert (emulator.dropped, emulator.gaps, emulator.faults.rate_limited) == (1, 1, 2)
            assert (await client.post("/_emulator/faults", json={"action": "hold"})).status_code == 200
            assert emulator.held
            refused = await client.post("/_emulator/faults", json={"nonsense": 1})
            assert refused.status_code == 400 and refused.json() == {"code": 1130, "msg": "nonsense"}
