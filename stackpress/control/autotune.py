"""Relay-feedback auto-tuning (Åström–Hägglund) of the pressure loop, on the actual fixture.

The tuner is a controller the engine drives exactly as it drives the pressure
regulator (`hold`, `update(sample, dt)`, `release`, `back_off`, `active`,
`setpoint`), so a tuning run is an ordinary Session/Engine run — the engine
alone talks to the instruments — with the tuner in the regulator's place and a
two-step protocol: "Hold pressure at 10 MPa", "Rest for 10 minutes". It goes
through four phases:

1. settle: the bench's own regulator brings the pressure to the setpoint and
   holds it until the filtered pressure has stayed within a band around it for
   a while; the command it holds with is the relay's bias u0, and the scatter
   of the measured pressure (from tick to tick, through the filter) sets the
   relay's hysteresis h (3 sigma, so noise does not switch it).
2. probe: the command steps up by a small amount d_p (the target amplitude
   over the stiffness the gains imply), then down to -d_p, a few seconds each;
   the pressure's swing between the two gives, on a position fixture, its
   stiffness G = swing / 2 d_p (Pa per m of travel), and on a ram (whose force
   is the stack's, G = 1) its seal friction f = d_p - swing / 2 (the ram must
   cross 2 f of stick at each reversal before the stack follows). They size
   the relay so the oscillation has the target amplitude (default 2 % of the
   setpoint, at least 10 sigma of the noise; a lagging loop swings less than
   that, never more): d = target / G + f, but no more than a motor moves in
   two ticks (its speed, seen in the probe), so the limit cycle is the loop's
   and not that of the motor's speed limit.
3. relay: u = u0 + d while the filtered error is above +h, u0 - d below -h
   (a relay with hysteresis). The loop settles into a limit cycle at its
   ultimate period Pu with amplitude a; the describing function of the relay
   with hysteresis gives the ultimate gain Ku = 4 (d - f) / (pi sqrt(a^2 - h^2))
   (the friction taken off what reaches the stack, so a sticky seal does not
   read as a high gain). The hysteresis puts the limit cycle where the loop's
   phase is -180 deg + asin(h / a) rather than -180 deg: with h / a ~ 0.1 Ku
   comes out up to ~25 % low and Pu ~10 % long, on the safe side for the gains
   (tests/control/test_autotune.py; within 5 % when h << a).
   Two cycles are let go by, then Pu and a are averaged over the last
   `cycles` (6), once their periods agree within 20 % (or +-1 tick: the relay
   switches on ticks).
4. done: back to the bias u0 (which held the setpoint); the run is ended.

The rule is Tyreus–Luyben's PI: kp = Ku / 3.2, ki = kp / (2.2 Pu). It is
Ziegler–Nichols made less aggressive (gain margin ~3, little overshoot),
which suits a loop that carries noise and a lag (the hydraulic oil, the
motor's travel, the filter, the tick) and must not ring a cell. A position
fixture's stiffness (the probe's G) is proposed as [regulator] stiffness, the
reference of the gain scheduling.

Safety: nothing starts unless the setpoint, the setpoint +- twice the target
amplitude, lie inside the protocol's pressure window (5–50 MPa) and below the
bench's hard maximum (`TuneRefused`); the relay is sized from the measured
stiffness so that the pressure stays within half that margin. If the measured
pressure ever leaves the window (once it has been reached), the tuner goes back to the bias command (the
one that held the setpoint), reports the failure, and the run is aborted: the
engine's cleanup puts the bench in its safe state (cycler off, actuator held).

A tuning run is a Session with this tuner in the regulator's place:
`stackpress.tuning.autotune(bench, setpoint)` runs it and returns a `TuneResult`
(for the command line and the GUI); `stackpress.bench.write_tuned_bench` writes a
copy of the bench file with the proposed gains.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackpress.control.feedforward import BacklashCompensator
from stackpress.control.filters import LowPass
from stackpress.control.pid import Gains
from stackpress.control.regulator import PressureRegulator, RegulatorSettings
from stackpress.protocols.steps import Limits
from stackpress.sample import Sample

if TYPE_CHECKING:
    from stackpress.bench import Bench

_DEFAULTS = Limits(voltage_min=0.0, voltage_max=0.0)
WINDOW = (_DEFAULTS.pressure_min, _DEFAULTS.pressure_max)  # Pa: the default window, the tuning run's interlocks'
RULE = "Tyreus-Luyben PI: kp = Ku / 3.2, ki = kp / (2.2 Pu)"
SKIP_CYCLES = 2  # relay cycles let go by before measuring
PERIOD_AGREEMENT = 0.2  # the measured periods must agree within this fraction
MAX_CYCLES = 20  # relay cycles before giving up on a steady limit cycle


class TuneRefused(ValueError):
    """A tuning run that would take the pressure outside the safe window."""


@dataclass(frozen=True)
class TuneProgress:
    """Where a tuning run is, for a progress line or a GUI."""

    phase: str  # "settle", "probe", "relay", "done", "failed"
    t: float  # s since the run started
    cycles: int  # relay cycles measured so far
    message: str


@dataclass(frozen=True)
class TuneResult:
    """What a relay test found and proposes. Units: command unit (N or m) and Pa."""

    ok: bool
    message: str
    bench: str
    setpoint: float  # Pa
    command_unit: str  # "N" (gains in Pa/Pa) or "m" (gains in m/Pa)
    period: float  # s, the engine tick the loop was tuned at
    stiffness: float  # static gain: Pa per Pa of force command ("N", taken as 1) or Pa per m of travel ("m")
    friction: float  # Pa: a ram's seal friction on the cell area, from the probe (0 for a position fixture)
    relay_amplitude: float  # d, in the command unit
    hysteresis: float  # h, Pa
    amplitude: float  # a, Pa: half the peak-to-peak swing of the filtered pressure
    ultimate_gain: float  # Ku, in kp's unit (Pa/Pa or m/Pa)
    ultimate_period: float  # Pu, s
    cycles: int  # relay cycles averaged
    gains: Gains | None  # the proposal
    rule: str = RULE
    state: str = ""  # how the run ended
    run_file: str = ""  # the run file of the tuning run ("" if it was a temporary one)

    def summary(self) -> str:
        """The result as the command line prints it."""
        unit = "Pa/Pa" if self.command_unit == "N" else "m/Pa"
        lines = [f"relay auto-tune of {self.bench!r} at {self.setpoint / 1e6:g} MPa, {self.period:g} s tick: "
                 + ("OK" if self.ok else "FAILED") + f" ({self.message})"]
        if math.isfinite(self.stiffness):
            if self.command_unit == "m":
                lines.append(f"  stiffness (probe)    G  = {self.stiffness / 1e12:.4g} MPa/um")
            else:
                lines.append(f"  seal friction (probe) f = {self.friction / 1e3:.3g} kPa")
        if math.isfinite(self.relay_amplitude):
            d = (f"{self.relay_amplitude * 1e9:.4g} nm" if self.command_unit == "m"
                 else f"{self.relay_amplitude:.4g} N")
            lines.append(f"  relay amplitude      d  = {d}, hysteresis h = {self.hysteresis / 1e3:.3g} kPa")
        if math.isfinite(self.ultimate_period):
            lines += [
                f"  oscillation          a  = {self.amplitude / 1e3:.4g} kPa over {self.cycles} cycles",
                f"  ultimate gain        Ku = {self.ultimate_gain:.4g} {unit}",
                f"  ultimate period      Pu = {self.ultimate_period:.4g} s",
            ]
        if self.gains is not None:
            g = self.gains
            lines += [
                f"  rule: {self.rule}",
                f"  proposed gains       kp = {g.kp:.4g} {unit}, ki = {g.ki:.4g} {unit}/s, kd = {g.kd:g}",
            ]
        return "\n".join(lines)


class RelayTuner:
    """The tuning controller (see the module docstring); the engine drives it like a PressureRegulator."""

    def __init__(
        self,
        gains: Gains,
        area: float,
        command_range: tuple[float, float],
        command_unit: str = "N",
        *,
        settings: RegulatorSettings | None = None,
        window: tuple[float, float] = WINDOW,
        max_pressure: float = math.inf,
        amplitude: float | None = None,
        cycles: int = 6,
        settle_time: float = 5.0,
        probe_time: float = 3.0,
        progress: Callable[[TuneProgress], None] | None = None,
    ) -> None:
        self._inner = PressureRegulator(gains, area, command_range, command_unit, settings=settings)
        settings = self._inner.settings
        self.area = area
        self.command_unit = command_unit
        self.command_range = command_range
        self.window = (window[0], min(window[1], max_pressure))
        self.target_amplitude = amplitude  # Pa; None: 2 % of the setpoint, at least 10 sigma
        self.cycles = cycles
        self.settle_time = settle_time
        self.probe_time = probe_time
        self._progress = progress
        self._position = command_unit == "m"
        if self._position:
            guess = settings.stiffness or (1.0 / (2.0 * gains.kp) if gains.kp > 0 else math.nan)
        else:
            guess = 1.0 / area  # Pa per N: a ram's force is the stack's
        self._guess = guess
        self._filter = LowPass(settings.filter)
        self._backlash = BacklashCompensator(settings.backlash, threshold=0.0)
        self.phase = "idle"
        self.message = ""
        self._tick = 0.0
        self.t = 0.0
        self._phase_t = 0.0
        self._safe = math.nan  # the command to fall back on
        self._settled = 0.0
        self._history: list[tuple[float, float, float, float]] = []  # settle: (dt, filtered, base, raw)
        self.bias = math.nan  # u0, command unit (base: without the backlash offset)
        self.noise = math.nan  # Pa, sigma of the filtered pressure while held
        self.hysteresis = math.nan
        self.stiffness = math.nan  # Pa per command unit
        self.relay_amplitude = math.nan
        self._probe_step = math.nan
        self._probe: tuple[list[float], list[float]] = ([], [])  # pressures late in the up and down halves
        self.friction = 0.0  # command unit: a ram's seal friction, from the probe
        self._velocity = 0.0  # command unit per s: the fastest the actuator moved in the probe
        self._last_readback = math.nan
        self._state = 0  # relay output: +1 / -1
        self._switches: list[float] = []  # times of upward switches
        self._extremes: list[tuple[float, float]] = []  # (max, min) of the filtered pressure per cycle
        self._high = -math.inf
        self._low = math.inf
        self.periods: list[float] = []
        self.amplitudes: list[float] = []

    # --- the regulator's interface ----------------------------------------------------------

    @property
    def setpoint(self) -> float:
        return self._inner.setpoint

    @property
    def active(self) -> bool:
        return self._inner.active and self.phase not in ("idle",)

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "failed")

    @property
    def ok(self) -> bool:
        return self.phase == "done"

    def hold(self, setpoint: float, actuator_readback: float, rate: float | None = None) -> None:
        low, high = self.window
        if self.phase != "idle":
            return  # one setpoint per tuning run
        if not low <= setpoint <= high:
            self._fail(f"refused: the setpoint {setpoint / 1e6:g} MPa is outside the safe window "
                       f"{low / 1e6:g}..{high / 1e6:g} MPa")
            return
        self._inner.hold(setpoint, actuator_readback, rate)
        self._safe = actuator_readback
        self._set_phase("settle", f"bringing the pressure to {setpoint / 1e6:g} MPa")

    def release(self) -> None:
        self._inner.release()
        if not self.finished:
            self._fail("released: the engine stopped regulating (an interlock or an alarm)")

    def back_off(self, safe_pressure: float, pressure: float, actuator_readback: float) -> float:
        return self._inner.back_off(safe_pressure, pressure, actuator_readback)

    mode = "auto"  # the operator cannot take the actuator from the tuner: abort the tuning run instead

    def manual(self, command: float | None = None) -> None:
        raise ValueError("the auto-tune drives the actuator: abort the tuning run to take it over")

    def automatic(self) -> None:
        raise ValueError("the auto-tune drives the actuator already")

    def retune(self, gains: Gains) -> None:
        raise ValueError("the auto-tune is finding the gains: wait for its result")

    @property
    def gains(self) -> Gains:
        """The gains it started from (its result is in `result()`)."""
        return self._inner.gains

    def stop(self, reason: str) -> None:
        """End the tuning (failed, for `reason`): from the next tick the actuator is held at the bias."""
        if not self.finished:
            self._fail(reason)

    def update(self, sample: Sample, dt: float) -> float:
        self.t = sample.t
        self._tick = dt
        self._phase_t += dt
        pressure = sample.pressure
        if self.finished:
            return self._fallback(sample)
        low, high = self.window
        floor = -math.inf if self.phase == "settle" else low  # settling: still coming up to the setpoint
        if not (math.isfinite(pressure) and floor <= pressure <= high):
            self._fail(f"aborted: the pressure {pressure / 1e6:.3f} MPa left the safe window "
                       f"{low / 1e6:g}..{high / 1e6:g} MPa")
            return self._fallback(sample)
        measured = self._filter.update(pressure, dt)
        if self.phase == "settle":
            return self._settle(sample, measured, dt)
        if self.phase == "probe":
            return self._probe_tick(sample, measured, dt)
        return self._relay(sample, measured)

    # --- the phases -----------------------------------------------------------------------

    def _settle(self, sample: Sample, measured: float, dt: float) -> float:
        command = self._inner.update(sample, dt)
        self._safe = command
        setpoint = self.setpoint
        band = 0.005 * setpoint
        if math.isfinite(self.noise):
            band = max(band, 4.0 * self.noise)
        at_setpoint = self._inner.reference == setpoint and abs(measured - setpoint) <= band
        span = max(self.settle_time, 20 * dt)
        if not at_setpoint:  # start again: the noise and the held command are measured while it holds
            self._settled, self._history = 0.0, []
            return command
        self._settled += dt
        base = self._inner.backlash.base_of(command) if self._inner.backlash else command
        self._history.append((dt, measured, base, sample.pressure))
        if len(self._history) >= 10:  # robust: the median tick-to-tick change, as a normal sigma
            raw = [h[3] for h in self._history]
            steps = sorted(abs(b - a) for a, b in itertools.pairwise(raw))
            sigma = 1.4826 * steps[len(steps) // 2] / math.sqrt(2.0)
            self.noise = sigma * self._filter_gain(dt)
        if self._settled < span:
            return command
        # The bias: the mean command that held the setpoint (a position: where the platen was, less the backlash).
        self.bias = sum(h[2] for h in self._history) / len(self._history)
        if self._position:
            self._backlash.start(self.bias, self._inner.backlash.direction)
        self._safe = self._command(self.bias)
        self.hysteresis = 3.0 * max(self.noise, 1e-6 * setpoint)
        target = self.target_amplitude
        if target is None:
            target = max(0.02 * setpoint, 10.0 * self.hysteresis / 3.0)
        self.target_amplitude = target
        margin = min(setpoint - self.window[0], self.window[1] - setpoint)
        if 2.0 * target > margin:
            self._fail(f"refused: an oscillation of {target / 1e6:g} MPa does not fit twice inside the "
                       f"{margin / 1e6:g} MPa between the setpoint and the window's edge")
            return self._fallback(sample)
        if not (math.isfinite(self._guess) and self._guess > 0):
            self._fail("refused: no stiffness to size the probe (set kp or [regulator] stiffness)")
            return self._fallback(sample)
        self._probe_step = target / self._guess
        self._probe = ([], [])
        self._set_phase("probe", f"holding {self.bias:.6g} {self.command_unit}; probing the stiffness")
        return self._command(self.bias + self._probe_step)

    def _probe_tick(self, sample: Sample, measured: float, dt: float) -> float:
        """Up by d_p, then down to -d_p; each half held `probe_time` s, its last third averaged."""
        span = max(self.probe_time, 10 * dt)
        half = 0 if self._phase_t < span else 1
        if math.isfinite(self._last_readback) and dt > 0:  # how fast the actuator can go (a motor's limit)
            self._velocity = max(self._velocity, abs(sample.actuator - self._last_readback) / dt)
        self._last_readback = sample.actuator
        if self._phase_t % span >= span * 2.0 / 3.0 or self._phase_t >= 2 * span:
            self._probe[half].append(sample.pressure)
        if self._phase_t < 2 * span:
            return self._command(self.bias + (1 - 2 * half) * self._probe_step)
        up, down = (sum(levels) / len(levels) for levels in self._probe)
        swing = up - down  # the pressure's response to a command swing of 2 d_p
        if self._position:  # a motor on springs or a screw: no friction to speak of; the swing is G 2 d_p
            stiffness, friction = swing / (2 * self._probe_step), 0.0
        else:  # a ram: its force is the stack's (G = 1), less the seal friction at each reversal: 2 d_p - 2 f
            stiffness, friction = self._guess, max(self._probe_step - swing / 2 / self._guess, 0.0)
        if not swing > 0.05 * 2 * self._probe_step * self._guess:
            self._fail(f"the pressure did not follow the probe ({swing / 1e3:.3g} kPa for a command swing that "
                       f"should give {2 * self._probe_step * self._guess / 1e3:.3g} kPa)")
            return self._fallback(sample)
        self.stiffness, self.friction = stiffness, friction
        # The relay: a swing of 2 (d - f) reaches the stack; the oscillation is at most (4 / pi) (d - f) G.
        self.relay_amplitude = self.target_amplitude / stiffness + friction
        if self._position and self._velocity > 0 and self.relay_amplitude > 2 * self._velocity * dt:
            # A motor that cannot cross the relay's swing within a few ticks would make the limit cycle
            # that of its speed limit, not of the loop: keep the swing within four ticks of its travel.
            self.relay_amplitude = 2 * self._velocity * dt
        self._state = -1
        self._switches, self._extremes = [], []
        self._high, self._low = -math.inf, math.inf
        self._set_phase("relay", f"relay +-{self.relay_amplitude:.4g} {self.command_unit}")
        return self._command(self.bias - self.relay_amplitude)

    def _relay(self, sample: Sample, measured: float) -> float:
        error = self.setpoint - measured
        self._high = max(self._high, measured)
        self._low = min(self._low, measured)
        if self._state < 0 and error > self.hysteresis:
            self._state = 1
            self._switches.append(sample.t)
            if len(self._switches) >= 2:
                self._extremes.append((self._high, self._low))
            self._high, self._low = -math.inf, math.inf
            self._measure()
        elif self._state > 0 and error < -self.hysteresis:
            self._state = -1
        if self.finished:
            return self._fallback(sample)
        if self._phase_t > 0 and len(self._switches) > MAX_CYCLES:
            self._fail(f"no steady limit cycle after {MAX_CYCLES} relay cycles (periods {self._periods_text()})")
            return self._fallback(sample)
        return self._command(self.bias + self._state * self.relay_amplitude)

    def _measure(self) -> None:
        cycles = len(self._switches) - 1 - SKIP_CYCLES
        if cycles < self.cycles:
            if cycles > 0 and self._progress:
                self._report(f"relay cycle {cycles}")
            return
        periods = [b - a for a, b in itertools.pairwise(self._switches)][-self.cycles:]
        amplitudes = [(hi - lo) / 2.0 for hi, lo in self._extremes][-self.cycles:]
        mean = sum(periods) / len(periods)
        if max(periods) - min(periods) > max(PERIOD_AGREEMENT * mean, 2.0 * self._tick):
            return  # not steady yet (switching happens on ticks: a period is good to +-1 tick)
        self.periods, self.amplitudes = periods, amplitudes
        amplitude = sum(amplitudes) / len(amplitudes)
        if amplitude < 2.0 * self.hysteresis:
            self._fail(f"the oscillation ({amplitude / 1e3:.3g} kPa) is not clearly above the noise (hysteresis "
                       f"{self.hysteresis / 1e3:.3g} kPa): Ku would be a guess; raise the amplitude or tick faster")
            return
        self._set_phase("done", f"limit cycle: Pu = {mean:.3g} s, a = {amplitude / 1e3:.3g} kPa")

    def _periods_text(self) -> str:
        return ", ".join(f"{b - a:.3g} s" for a, b in itertools.pairwise(self._switches))

    # --- helpers --------------------------------------------------------------------------

    def _filter_gain(self, dt: float) -> float:
        """How much of white noise's sigma passes the low-pass at this tick: sqrt(alpha / (2 - alpha))."""
        tau = self._filter.tau
        if tau == 0.0 or dt <= 0.0:
            return 1.0
        alpha = -math.expm1(-dt / tau)
        return math.sqrt(alpha / (2.0 - alpha))

    def _command(self, base: float) -> float:
        """The actuator command for a relay level (position: the backlash compensated at each reversal)."""
        low, high = self.command_range
        command = self._backlash.update(base) if self._position else base
        return min(max(command, low), high)

    def _fallback(self, sample: Sample) -> float:
        if math.isfinite(self._safe):
            return self._safe
        return sample.actuator

    def _set_phase(self, phase: str, message: str) -> None:
        self.phase = phase
        self.message = message
        self._phase_t = 0.0
        if phase == "done" and math.isfinite(self.bias):
            self._safe = self._command(self.bias)
        self._report(message)

    def _fail(self, message: str) -> None:
        self._set_phase("failed", message)

    def _report(self, message: str) -> None:
        if self._progress is not None:
            cycles = max(len(self._switches) - 1 - SKIP_CYCLES, 0)
            self._progress(TuneProgress(self.phase, self.t, cycles, message))

    # --- the answer -------------------------------------------------------------------------

    def result(self, bench: str = "", period: float = math.nan, state: str = "", run_file: str = "") -> TuneResult:
        nan = math.nan
        pu = ku = amplitude = nan
        gains = None
        if self.ok:
            pu = sum(self.periods) / len(self.periods)
            amplitude = sum(self.amplitudes) / len(self.amplitudes)
            d = self.relay_amplitude - self.friction  # what reaches the stack
            d = d if self._position else d / self.area  # in kp's unit
            ku = 4.0 * d / (math.pi * math.sqrt(max(amplitude**2 - self.hysteresis**2, (0.1 * amplitude) ** 2)))
            gains = tyreus_luyben(ku, pu)
        stiffness = self.stiffness if self._position else self.stiffness * self.area
        friction = self.friction / self.area if not self._position else 0.0
        return TuneResult(
            ok=self.ok,
            message=self.message,
            bench=bench,
            setpoint=self.setpoint,
            command_unit=self.command_unit,
            period=period,
            stiffness=stiffness,
            friction=friction,
            relay_amplitude=self.relay_amplitude,
            hysteresis=self.hysteresis,
            amplitude=amplitude,
            ultimate_gain=ku,
            ultimate_period=pu,
            cycles=len(self.periods),
            gains=gains,
            state=state,
            run_file=run_file,
        )


def tyreus_luyben(ku: float, pu: float) -> Gains:
    """The Tyreus–Luyben PI gains for an ultimate gain `ku` and period `pu` s."""
    kp = ku / 3.2
    return Gains(kp=kp, ki=kp / (2.2 * pu), kd=0.0)


# --- what a tuning run may do ------------------------------------------------------------------


def check_tunable(bench: Bench, setpoint: float, amplitude: float | None = None) -> None:
    """Refuse (TuneRefused) a tuning run that would take the pressure outside the safe window."""
    low, high = WINDOW[0], min(WINDOW[1], bench.max_pressure)
    a = 0.02 * setpoint if amplitude is None else amplitude
    if not (math.isfinite(setpoint) and low <= setpoint <= high):
        raise TuneRefused(
            f"a tuning setpoint of {setpoint / 1e6:g} MPa is outside the safe window {low / 1e6:g}..{high / 1e6:g} MPa"
        )
    if not a > 0:
        raise TuneRefused(f"the relay's target amplitude must be positive, not {a / 1e6:g} MPa")
    if setpoint - 2 * a < low or setpoint + 2 * a > high:
        raise TuneRefused(
            f"{setpoint / 1e6:g} MPa +- twice the relay's {a / 1e6:g} MPa leaves the safe window "
            f"{low / 1e6:g}..{high / 1e6:g} MPa"
        )
