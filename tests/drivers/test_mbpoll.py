"""An independent Modbus client (Debian's mbpoll) reads the served load cell: the registers are real Modbus."""

import shutil
import subprocess
import time

import pytest

from stackpress.bench import load_bench
from stackpress.sims.servers import serve

pytestmark = pytest.mark.skipif(
    shutil.which("mbpoll") is None, reason="mbpoll (Debian package) is not installed; `make test` installs it"
)


def mbpoll_force(port: int) -> float:
    """Input registers 0-1 of unit 1 as one big-endian float32: the load cell's force, N."""
    reply = subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-0", "-r", "0", "-c", "1", "-t", "3:float", "-B", "-1",
         "-p", str(port), "127.0.0.1"],
        capture_output=True, text=True, timeout=10, check=True,
    )
    line = next(line for line in reply.stdout.splitlines() if line.startswith("[0]:"))
    return float(line.split(":", 1)[1])


def test_mbpoll_reads_the_force_the_simulated_ram_applies():
    with serve(load_bench("sim-hydraulic"), speed=60.0, ports={"scpi": 0, "modbus": 0}) as served:
        assert abs(mbpoll_force(served.ports["modbus"])) < 5.0  # no force yet: the load cell's zero
        with served.lock:
            served.world.actuator.command(785.0)  # 10 MPa on the pellet
        deadline = time.monotonic() + 5.0
        force = mbpoll_force(served.ports["modbus"])
        while abs(force - 785.0) > 5.0 and time.monotonic() < deadline:  # the ram's lag, at 60x
            force = mbpoll_force(served.ports["modbus"])
        assert force == pytest.approx(785.0, abs=5.0)
