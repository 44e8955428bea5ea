"""The pressure regulator: position mode (a motor on a spring seat or a stiff screw, command_unit "m"), and
the pieces that hold to the load cell's noise floor: filter, slew rate, feed-forward, scheduling, backlash,
manual/automatic, and the bench's [regulator] keys."""

from __future__ import annotations

import copy
import math
import random
import statistics

import pytest

from stackpress.bench import BenchError, load_bench, parse_bench
from stackpress.control.filters import LowPass
from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator, RegulatorSettings
from stackpress.control.scheduling import StiffnessEstimator
from stackpress.sample import Sample
from stackpress.sims.fixtures import HydraulicFixture, ServoFixture
from tests.control.fakes import measured

AREA = 0.785e-4
RANGE = (0.0, 2e-3)  # m of screw travel
STIFF = 2.4e12  # Pa per m of travel: a servo screw press (~185 N/um on 0.785 cm2)


def position_regulator(stiffness: float = STIFF, integral_time: float = 2.0) -> PressureRegulator:
    """Gains by the documented rule: kp = 0.5 / G, ki = kp / Ti."""
    kp = 0.5 / stiffness
    return PressureRegulator(Gains(kp=kp, ki=kp / integral_time), AREA, RANGE, "m")


def test_position_mode_engages_bumplessly_from_the_readback():
    reg = position_regulator()
    assert reg.command_unit == "m" and not reg.active
    reg.hold(10e6, actuator_readback=1.0042e-3)
    assert reg.update(measured(10e6), dt=1.0) == 1.0042e-3  # at the setpoint: the screw stays exactly where it is
    assert reg.update(measured(10e6), dt=1.0) == 1.0042e-3


def test_position_mode_moves_the_screw_by_micrometres_per_mpa():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    first = reg.update(measured(9e6), dt=1.0)  # 1 MPa short: advance
    step = first - 1e-3
    kp = 0.5 / STIFF
    assert step == pytest.approx(kp * 1e6 * -math.expm1(-1.0 / 2.0))  # the integral's share of kp x error
    assert 0 < step < 1e6 / STIFF  # less than the whole way on the first tick
    second = reg.update(measured(9.5e6), dt=1.0)  # half-way there: the proportional term takes back its share
    assert second - first == pytest.approx(kp * (0.5e6 - 1e6) + kp * 0.5e6 * -math.expm1(-0.5))
    assert reg.update(measured(11e6), dt=1.0) < second  # over the setpoint: retract


def test_position_mode_output_stays_within_the_command_range_and_does_not_wind_up():
    reg = position_regulator()
    reg.hold(50e6, actuator_readback=1.9e-3)
    for _ in range(100):  # a stack that never pushes back (the platen left it)
        out = reg.update(measured(0.0), dt=1.0)
    assert out == RANGE[1]
    assert reg.update(measured(60e6), dt=1.0) < RANGE[1]  # leaves the limit on the first tick the error reverses
    reg.release()
    reg.hold(0.0, actuator_readback=1e-4)
    for _ in range(100):
        out = reg.update(measured(20e6), dt=1.0)
    assert out == RANGE[0]


def test_a_setpoint_change_moves_the_screw_through_the_proportional_term():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    reg.update(measured(10e6), dt=1.0)
    reg.hold(20e6, actuator_readback=1e-3)  # already active: no re-engagement
    kp = 0.5 / STIFF
    assert reg.update(measured(10e6), dt=1.0) - 1e-3 == pytest.approx(kp * 10e6 + kp * 10e6 * -math.expm1(-0.5))


def test_the_force_path_is_the_default_and_unknown_units_are_refused():
    assert PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4)).command_unit == "N"
    with pytest.raises(ValueError, match="'Pa'"):
        PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4), "Pa")


def test_back_off_retracts_a_position_by_the_excess_over_the_tuned_stiffness():
    reg = position_regulator()
    reg.hold(10e6, actuator_readback=1e-3)
    # at G = 1 / (2 kp) a 20 MPa excess over the 5 MPa safe preload is 20 / 2.4 um of travel
    assert reg.back_off(5e6, 25e6, actuator_readback=1.004e-3) == pytest.approx(1.004e-3 - 20e6 / STIFF)
    assert reg.back_off(5e6, 25e6, actuator_readback=1e-6) == RANGE[0]  # never beyond the range
    assert reg.back_off(5e6, 4e6, actuator_readback=1e-3) == 1e-3  # below the safe preload: stay
    force = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4))
    assert force.back_off(5e6, 25e6, actuator_readback=1963.0) == pytest.approx(5e6 * AREA)


def regulate(reg: PressureRegulator, plant, period: float, ticks: int, setpoint: float = 10e6) -> list[float]:
    """Close the loop on `plant(position, t) -> pressure`; the pressure errors seen, one per tick."""
    errors = []
    position = 1e-3
    reg.hold(setpoint, position)
    for k in range(ticks):
        pressure = plant(position, k * period)
        errors.append(pressure - setpoint)
        position = reg.update(measured(pressure), period)
    return errors


def varying_stiff_stack(position: float, t: float) -> float:
    """A stiff stack whose stiffness swings 3x (the LixSi modulus) while it swells 8 um over 3 h, and back."""
    phase = 0.5 * (1 - math.cos(2 * math.pi * t / 21600))  # 0 -> 1 -> 0 over 6 h
    stiffness = STIFF * (1.0 - 2.0 / 3.0 * phase)  # G_max at the ends, G_max / 3 at mid-cycle
    swelling = 8e-6 * phase
    return max(0.0, stiffness * (position - 1e-3 + swelling))


@pytest.mark.parametrize("period", [1.0, 5.0, 30.0])
def test_position_mode_is_stable_on_a_stiff_varying_stack_at_engine_periods_up_to_30_s(period):
    ticks = int(2 * 21600 / period)  # two swelling cycles
    errors = regulate(position_regulator(), varying_stiff_stack, period, ticks)
    settled = errors[int(600 / period) :]
    rms = math.sqrt(sum(e * e for e in settled) / len(settled))
    assert rms < 0.02 * 10e6  # holds 10 MPa within 2 % RMS
    # no growing oscillation: the second cycle is no worse than the first
    half = len(settled) // 2
    assert max(map(abs, settled[half:])) <= 1.05 * max(map(abs, settled[:half])) + 1e4


def test_the_scaled_integral_is_what_keeps_a_30_s_period_stable():
    """The same gains with the plain integral step ki e dt (ki dt G = 7.5 at 30 s) diverge."""
    kp = 0.5 / STIFF
    ki = kp / 2.0
    position, plain = 1e-3, []
    last_error = None
    for k in range(40):
        pressure = varying_stiff_stack(position, k * 30.0)
        error = 10e6 - pressure
        position += ki * error * 30.0 + (0.0 if last_error is None else kp * (error - last_error))
        position = min(max(position, RANGE[0]), RANGE[1])
        last_error = error
        plain.append(abs(error))
    assert max(plain[20:]) > 10e6  # it bangs between the ends of its travel
    ours = regulate(position_regulator(), varying_stiff_stack, 30.0, 40)
    assert max(map(abs, ours[20:])) < 0.5e6


def test_position_mode_regulates_a_servo_screw_with_backlash_at_a_30_s_period():
    """The simulated servo fixture (velocity limit, 1 um backlash) on a swelling stack, ticking every 30 s."""
    compliance = 4.1e-10
    screw = ServoFixture(AREA, frame_stiffness=2e8, velocity=10e-6, backlash=1e-6)
    screw.attach(660e-6, compliance)
    stiffness = 1.0 / (compliance + 1.0 / 2e8) / AREA
    reg = position_regulator(stiffness)
    reg.hold(10e6, screw.readback())
    errors = []
    for k in range(2 * 720):  # 12 h in 30 s ticks: swell 7 um over 3 h, shrink back, twice
        t = k * 30.0
        thickness = 660e-6 + 7e-6 * (1 - abs((t % 21600) / 10800 - 1))
        for _ in range(30):
            screw.update(1.0, thickness, compliance)
        pressure = screw.force / AREA
        errors.append(pressure - 10e6)
        screw.command(reg.update(measured(pressure), 30.0))
    settled = errors[20:]
    rms = math.sqrt(sum(e * e for e in settled) / len(settled))
    assert rms < 0.02 * 10e6
    assert max(map(abs, settled)) < 0.1 * 10e6


# --- the pieces that hold the pressure to the sensor's noise floor ------------------------------------


def sample(pressure: float, *, t: float = 0.0, current: float = 0.0, charge: float = 0.0, gap: float = 1e-3,
           actuator: float = math.nan) -> Sample:
    """What the engine hands the regulator each tick (the fields it reads)."""
    return Sample(t, 3.7, current, charge, 25.0, math.nan, pressure, math.nan, gap, gap - 0.9e-3, actuator, 1, 1,
                  "running")


class Screw:
    """A position fixture on a swelling stack: P = G (u - u0 + L), the gap = L0 + L (m), noisy load cell."""

    def __init__(self, stiffness: float = STIFF, noise: float = 2e3, seed: int = 1) -> None:
        self.stiffness = stiffness
        self.u0 = 1e-3 - 10e6 / stiffness  # 10 MPa at u = 1 mm with no swelling
        self.position = 1e-3
        self.swelling = 0.0
        self.charge = 0.0
        self.noise = noise
        self._gauss = random.Random(seed).gauss

    @property
    def pressure(self) -> float:
        return max(self.stiffness * (self.position - self.u0 + self.swelling), 0.0)

    def read(self, t: float, current: float) -> Sample:
        return sample(self.pressure + self._gauss(0.0, self.noise), t=t, current=current, charge=self.charge,
                      gap=660e-6 + self.swelling, actuator=self.position)


def cycle_current(t: float, half: float = 600.0, current: float = 2.355e-3) -> float:
    """1C on the pellet cell: charge for `half` s, discharge for `half` s, and again."""
    return current if (t // half) % 2 == 0 else -current


def test_the_filter_is_a_first_order_low_pass_that_attenuates_noise():
    lp = LowPass(0.5)
    assert lp.update(1.0, 0.1) == 1.0  # starts where the signal is
    lp.reset(0.0)
    assert lp.update(1.0, 0.1) == pytest.approx(-math.expm1(-0.2))  # step response 1 - exp(-t / tau)
    assert LowPass(0.5).update(3.0, 100.0) == 3.0 and LowPass(0.0).update(3.0, 0.1) == 3.0
    gauss, lp = random.Random(3).gauss, LowPass(0.5)
    lp.reset(0.0)
    out = [lp.update(gauss(0.0, 1.0), 0.1) for _ in range(20000)]
    alpha = -math.expm1(-0.2)
    assert statistics.pstdev(out) == pytest.approx(math.sqrt(alpha / (2 - alpha)), rel=0.05)  # ~0.42 of sigma


def test_a_filtered_loop_passes_less_load_cell_noise_into_the_true_pressure():
    def true_rms(filter_time: float) -> float:
        plant = Screw(noise=6.4e3)
        settings = RegulatorSettings(filter=filter_time)
        reg = PressureRegulator(Gains(0.5 / STIFF, 0.5 / STIFF), AREA, RANGE, "m", settings=settings)
        reg.hold(10e6, plant.position)
        errors = []
        for k in range(6000):
            plant.position = reg.update(plant.read(k * 0.1, 0.0), 0.1)
            errors.append(plant.pressure - 10e6)
        return math.sqrt(statistics.fmean(e * e for e in errors[500:]))

    assert true_rms(0.5) < 0.7 * true_rms(0.0)


def test_feed_forward_from_the_current_reduces_the_error_on_a_swelling_stack():
    def run(feedforward: bool) -> tuple[float, float]:
        plant = Screw()
        settings = RegulatorSettings(feedforward=feedforward)
        reg = PressureRegulator(Gains(0.5 / STIFF, 0.25 / STIFF), AREA, RANGE, "m", settings=settings)
        reg.hold(10e6, plant.position)
        errors = []
        dt = 0.1
        for k in range(24000):  # two 1C cycles of 20 min
            t = k * dt
            current = cycle_current(t)
            plant.position = reg.update(plant.read(t, current), dt)
            # The Si swells along its strain curve: more per coulomb the more lithium it holds.
            rate = 0.6e-6 + 0.4e-6 * plant.charge  # m/C
            plant.charge += current * dt
            plant.swelling += rate * current * dt
            errors.append(plant.pressure - 10e6)
        return math.sqrt(statistics.fmean(e * e for e in errors[3000:])), reg.swelling_rate

    without, _ = run(False)
    with_ff, learned = run(True)
    assert with_ff < 0.3 * without  # the screw moves with the swelling instead of after it
    assert learned == pytest.approx(0.6e-6, rel=0.1)  # swelling per coulomb near the end (fully discharged)


def test_backlash_compensation_crosses_the_lost_motion_at_each_reversal():
    def worst(backlash: float) -> float:
        compliance = 4.1e-10
        screw = ServoFixture(AREA, frame_stiffness=2e8, velocity=10e-6, backlash=1e-6)
        screw.attach(660e-6, compliance)
        stiffness = 1.0 / (compliance + 1.0 / 2e8) / AREA
        settings = RegulatorSettings(filter=0.2, stiffness=stiffness, backlash=backlash, slew_rate=5e6)
        reg = PressureRegulator(Gains(0.5 / stiffness, 0.5 / stiffness), AREA, RANGE, "m", settings=settings)
        reg.hold(10e6, screw.readback())
        gauss, errors, charge, thickness = random.Random(2).gauss, [], 0.0, 660e-6
        for k in range(20000):  # 2000 s: swelling reverses every 300 s
            t = k * 0.1
            current = cycle_current(t, half=300.0)
            screw.update(0.1, thickness, compliance)
            pressure = screw.force / AREA
            if t > 60.0:
                errors.append(abs(pressure - 10e6))
            s = sample(pressure + gauss(0.0, 6e3), t=t, current=current, charge=charge,
                       gap=thickness - screw.force * compliance, actuator=screw.readback())
            screw.command(reg.update(s, 0.1))
            charge += current * 0.1
            thickness += 1e-6 * current * 0.1
        return max(errors)

    assert worst(1e-6) < 0.25 * worst(0.0)
    assert worst(1e-6) < 0.01 * 10e6


def test_friction_is_fed_forward_on_a_hydraulic_ram_when_the_current_reverses():
    def worst_late_reversal(feedforward: bool) -> float:
        ram = HydraulicFixture(AREA, lag=0.5, friction=5.0)
        compliance, thickness, charge = 4.1e-10, 660e-6, 0.0
        ram.attach(thickness, compliance)
        reg = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 150e6 * AREA),
                                settings=RegulatorSettings(filter=0.2, feedforward=feedforward))
        reg.hold(10e6, ram.readback())
        gauss, errors = random.Random(4).gauss, []
        for k in range(24000):  # swelling reverses every 600 s: the first two reversals teach it
            t = k * 0.1
            current = cycle_current(t)
            ram.update(0.1, thickness, compliance)
            pressure = ram.force / AREA
            if t > 1200.0:
                errors.append(abs(pressure - 10e6))
            s = sample(pressure + gauss(0.0, 6e3), t=t, current=current, charge=charge,
                       gap=ram.gap, actuator=ram.readback())
            ram.command(reg.update(s, 0.1))
            charge += current * 0.1
            thickness += 1.2e-6 * current * 0.1
        assert not feedforward or reg.friction == pytest.approx(5.0 / AREA, rel=0.2)
        return max(errors)

    assert worst_late_reversal(True) < 0.6 * worst_late_reversal(False)


def test_gain_scheduling_follows_a_stiffening_stack_that_would_make_the_tuned_gains_ring():
    def run(stiffness: float | None) -> tuple[list[float], PressureRegulator]:
        plant = Screw(noise=2e3)
        settings = RegulatorSettings(stiffness=stiffness, feedforward=False)
        reg = PressureRegulator(Gains(0.5 / STIFF, 0.5 / STIFF), AREA, RANGE, "m", settings=settings)
        reg.hold(10e6, plant.position)
        errors = []
        for k in range(3000):  # 1 s ticks; the stack becomes 3x stiffer after 10 minutes
            if k == 600:
                u = plant.position - plant.u0
                plant.stiffness = 3 * STIFF
                plant.u0 = plant.position - u / 3  # same pressure at the moment of the change
            plant.position = reg.update(plant.read(float(k), 0.0), 1.0)
            errors.append(plant.pressure - 10e6)
        return errors, reg

    fixed, _ = run(None)
    scheduled, reg = run(STIFF)
    assert max(map(abs, fixed[-600:])) > 1e6  # G kp = 1.5 > 2/3 at a 1 s tick: it rings
    assert max(map(abs, scheduled[-600:])) < 0.01 * 10e6  # rescaled: holds
    assert reg.stiffness == pytest.approx(3 * STIFF, rel=0.2)
    assert reg.gain_scale == pytest.approx(1 / 3, rel=0.2)


def test_the_stiffness_estimate_comes_from_motion_above_the_noise_and_ignores_the_rest():
    est = StiffnessEstimator(STIFF, window=1.0)
    gauss = random.Random(5).gauss
    for _ in range(200):  # holding still: noise only, nothing learned
        est.update(1e-3, 10e6 + gauss(0.0, 6e3), 0.0, 0.1, True)
    assert est.updates == 0 and est.value == STIFF
    for k in range(300):  # a ramp of the actuator on a 2x stiffer stack: learned
        position = 1e-3 + 1e-9 * k
        est.update(position, 10e6 + 2 * STIFF * 1e-9 * k + gauss(0.0, 6e3), 0.0, 0.1, True)
    assert est.value == pytest.approx(2 * STIFF, rel=0.05)


def test_a_setpoint_change_is_a_ramp_at_the_slew_rate_with_the_integral_held():
    reg = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4), settings=RegulatorSettings(slew_rate=5e6))
    reg.hold(10e6, actuator_readback=10e6 * AREA)
    assert reg.update(measured(10e6), dt=0.1) == pytest.approx(10e6 * AREA)
    reg.hold(30e6, actuator_readback=10e6 * AREA)
    references, commands = [], []
    for _ in range(45):  # the pressure does not follow (a stuck ram): the command is the ramp's alone
        commands.append(reg.update(measured(10e6), dt=0.1))
        references.append(reg.reference)
    assert references[:40] == pytest.approx([10e6 + 5e6 * 0.1 * k for k in range(1, 41)])  # 20 MPa at 5 MPa/s
    # Ramping: the reference as feed-forward, P on the error against last tick's reference, no I.
    previous = [10e6, *references[:38]]
    for reference, before, command in zip(references[:39], previous, commands[:39], strict=True):
        assert command == pytest.approx((reference + 0.5 * (before - 10e6)) * AREA)
    assert commands[41] - commands[40] == pytest.approx(0.5 * -math.expm1(-0.1) * 20e6 * AREA)  # then it integrates


def test_a_10_to_30_mpa_step_on_a_hydraulic_ram_settles_in_seconds_without_overshoot():
    ram = HydraulicFixture(AREA, lag=0.5, friction=5.0)
    compliance = 4.1e-10
    ram.attach(660e-6, compliance)
    reg = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 150e6 * AREA),
                            settings=RegulatorSettings(filter=0.2, slew_rate=10e6))
    reg.hold(10e6, ram.readback())
    pressures = []
    for k in range(1500):
        if k == 1000:
            reg.hold(30e6, ram.readback())
        ram.update(0.1, 660e-6, compliance)
        pressures.append(ram.force / AREA)
        ram.command(reg.update(sample(ram.force / AREA, t=k * 0.1, actuator=ram.readback()), 0.1))
    after = pressures[1000:]
    assert max(after) < 30e6 + 0.05 * 20e6  # under 5 % of the step
    settled = max(k for k, p in enumerate(after) if abs(p - 30e6) > 0.02 * 30e6) * 0.1
    assert settled < 10.0


@pytest.mark.parametrize("unit", ["N", "m"])
def test_manual_to_automatic_is_bumpless(unit):
    position = unit == "m"
    command_range = RANGE if position else (0.0, 1e4)
    gains = Gains(0.5 / STIFF, 0.5 / STIFF) if position else Gains(0.5, 0.5)
    reg = PressureRegulator(gains, AREA, command_range, unit, settings=RegulatorSettings(slew_rate=1e6))

    def plant(command: float) -> float:  # static: the ram's force, or the screw at STIFF
        return STIFF * (command - 1e-3) + 10e6 if position else command / AREA

    command = 1e-3 if position else 10e6 * AREA
    reg.hold(10e6, command)
    for _ in range(10):
        command = reg.update(measured(plant(command)), 0.1)
    manual = command + (1e-6 if position else 2e6 * AREA)  # the operator pushes 2.4 / 2 MPa harder
    reg.manual(manual)
    assert reg.active and reg.mode == "manual"
    for _ in range(10):
        command = reg.update(measured(plant(command)), 0.1)
        assert command == manual
    reg.automatic()
    first = reg.update(measured(plant(command)), 0.1)
    assert first == pytest.approx(manual, rel=1e-9)  # no bump on switching back
    assert reg.reference == pytest.approx(plant(manual), rel=1e-9)  # the ramp starts at the measured pressure
    moves = []
    for _ in range(200):
        new = reg.update(measured(plant(command)), 0.1)
        moves.append(abs(new - command))
        command = new
    assert plant(command) == pytest.approx(10e6, rel=1e-3)  # back at the setpoint, ramping there
    step = 1e6 * 0.1 * (1.0 / STIFF + gains.kp) if position else 1e6 * 0.1 * (1 + gains.kp) * AREA
    assert max(moves) <= 2 * step  # at the slew rate, never a jump


def test_manual_without_a_setpoint_drives_the_actuator_and_release_ends_it():
    reg = PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4))
    assert not reg.active
    reg.manual(500.0)
    assert reg.active and reg.update(measured(5e6), 0.1) == 500.0
    reg.manual(2e4)  # clamped to the command range
    assert reg.update(measured(5e6), 0.1) == 1e4
    reg.release()
    assert not reg.active and reg.mode == "auto"


def test_bench_regulator_keys_are_read_with_their_units_and_refused_by_name(tmp_path):
    base = load_bench("sim-servo")
    tables = copy.deepcopy(base.tables)
    tables["regulator"].update({"filter": "200 ms", "slew_rate": "1 MPa/s", "stiffness": "2.4 MPa/um",
                                "backlash": "0.5 um", "feedforward": False})
    bench = parse_bench(tables, text="", source="b.toml", default_name="b")
    assert bench.regulation == RegulatorSettings(filter=0.2, slew_rate=1e6, feedforward=False, stiffness=2.4e12,
                                                 backlash=0.5e-6)
    for key, value, message in [
        ("filtre", "1 s", r"unknown key \[regulator\] filtre"),
        ("slew_rate", "1 MPa", r"\[regulator\] slew_rate"),
        ("stiffness", "2 N/um", r"\[regulator\] stiffness"),
        ("backlash", "-1 um", r"\[regulator\] backlash"),
        ("feedforward", "yes", r"\[regulator\] feedforward"),
    ]:
        bad = copy.deepcopy(base.tables)
        bad["regulator"][key] = value
        with pytest.raises(BenchError, match=message):
            parse_bench(bad, text="", source="b.toml", default_name="b")
    for name in ("sim-hydraulic", "sim-spring", "sim-servo"):  # every bundled regulated bench ships its tuning
        assert load_bench(name).regulation.filter > 0 and load_bench(name).regulation.slew_rate < math.inf


def test_stiffness_and_backlash_are_refused_on_a_force_fixture():
    with pytest.raises(ValueError, match="position-controlled"):
        PressureRegulator(Gains(0.5, 0.5), AREA, (0.0, 1e4), "N", settings=RegulatorSettings(backlash=1e-6))
