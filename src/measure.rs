//! Waveform measurements on sampled signals: frequency, period, amplitude,
//! rise and fall time, duty cycle and total harmonic distortion.
//!
//! Every function takes plain samples (`&[f64]`) and the sample rate in Hz,
//! and returns `f64::NAN` when the signal does not allow the measurement
//! (too short, flat, no complete transition or period), never an error or a
//! panic. Time is linear in the number of samples (the FFT's n log n).
//!
//! Memory: `frequency`, `period`, `duty_cycle` and `thd` need working
//! buffers about the size of the samples. [`Measure::try_apply`] (and
//! [`measure`], [`measure_trace`]) report memory the allocator refuses
//! as [`OutOfMemory`]; the plain functions abort then, as a `Vec` does.
//!
//! Definitions (IEEE 181-2011):
//! - the state levels *base* and *top* are the modes of the histogram of
//!   the lower and upper half of the samples' range (each refined to the
//!   mean of the samples in the modal bin); *amplitude* is `top - base`;
//! - transitions use the 10 % and 90 % reference levels between base and
//!   top, crossings are interpolated linearly between samples; `rise_time`
//!   and `fall_time` are those of the first complete transition;
//! - `frequency`, `period` and `duty_cycle` use the 50 % mid-reference
//!   level with a hysteresis of 10 % of the amplitude (a crossing counts
//!   only after the signal went past the other side of the band), over the
//!   whole periods of the record;
//! - `thd` is the ratio (in percent) of the RMS of harmonics 2 to 10 to the
//!   fundamental, the largest non-DC component of a Hann-windowed FFT
//!   (`realfft`), each component's power summed over its main lobe.
//!
//! [`measure_trace`] applies a measurement to a session's trace and
//! records it in the session's operation history (`measure_<name>`).

use std::alloc::{handle_alloc_error, Layout};
use std::path::Path;
use std::time::Instant;

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::session::{Dtype, HistoryEntry, Session, Trace};

/// Memory the allocator refused for a measurement's working buffers
/// ([`Measure::try_apply`]); nothing is wrong with the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("out of memory for the measurement's working buffers")]
pub struct OutOfMemory;

impl From<OutOfMemory> for std::io::Error {
    fn from(e: OutOfMemory) -> Self {
        std::io::Error::new(std::io::ErrorKind::OutOfMemory, e)
    }
}

type Mem<T> = std::result::Result<T, OutOfMemory>;

/// An empty vector with room for `n` items, or `OutOfMemory`.
fn buffer<T>(n: usize) -> Mem<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| OutOfMemory)?;
    Ok(v)
}

/// `v.push(x)`, growing `v` fallibly.
fn push<T>(v: &mut Vec<T>, x: T) -> Mem<()> {
    if v.len() == v.capacity() {
        v.try_reserve(1).map_err(|_| OutOfMemory)?;
    }
    v.push(x);
    Ok(())
}

/// The result of a plain (infallible) function: refused memory aborts
/// with the size of the samples, as a failed `Vec` of them would.
fn or_abort(r: Mem<f64>, samples: &[f64]) -> f64 {
    r.unwrap_or_else(|OutOfMemory| {
        handle_alloc_error(Layout::array::<f64>(samples.len()).unwrap_or(Layout::new::<f64>()))
    })
}

/// A measurement, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Frequency,
    Period,
    Amplitude,
    RiseTime,
    FallTime,
    DutyCycle,
    Thd,
}

impl Measure {
    /// Every measurement.
    pub const ALL: [Measure; 7] = [
        Measure::Frequency,
        Measure::Period,
        Measure::Amplitude,
        Measure::RiseTime,
        Measure::FallTime,
        Measure::DutyCycle,
        Measure::Thd,
    ];

    /// The measurement's name (`"rise_time"`).
    pub fn name(self) -> &'static str {
        match self {
            Measure::Frequency => "frequency",
            Measure::Period => "period",
            Measure::Amplitude => "amplitude",
            Measure::RiseTime => "rise_time",
            Measure::FallTime => "fall_time",
            Measure::DutyCycle => "duty_cycle",
            Measure::Thd => "thd",
        }
    }

    /// The unit of the result of a trace whose samples are in
    /// `trace_units`: an amplitude is in the samples' units, the others in
    /// [`Measure::unit`].
    pub fn unit_for(self, trace_units: &str) -> &str {
        match self {
            Measure::Amplitude => trace_units,
            _ => self.unit(),
        }
    }

    /// The unit of the result (`""` for an amplitude: the samples' units,
    /// see [`Measure::unit_for`]).
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Frequency => "Hz",
            Measure::Period | Measure::RiseTime | Measure::FallTime => "s",
            Measure::Amplitude => "",
            Measure::DutyCycle | Measure::Thd => "%",
        }
    }

    /// The measurement named `name`.
    pub fn from_name(name: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Applies the measurement to `samples` taken at `sample_rate` Hz.
    /// Aborts when memory for the working buffers is refused (see
    /// [`Measure::try_apply`]).
    pub fn apply(self, samples: &[f64], sample_rate: f64) -> f64 {
        or_abort(self.try_apply(samples, sample_rate), samples)
    }

    /// [`Measure::apply`], with memory refused for the working buffers
    /// (about the size of the samples) as an error.
    pub fn try_apply(self, samples: &[f64], sample_rate: f64) -> Mem<f64> {
        Ok(match self {
            Measure::Frequency => try_frequency(samples, sample_rate)?,
            Measure::Period => try_period(samples, sample_rate)?,
            Measure::Amplitude => amplitude(samples),
            Measure::RiseTime => rise_time(samples, sample_rate),
            Measure::FallTime => fall_time(samples, sample_rate),
            Measure::DutyCycle => try_duty_cycle(samples, sample_rate)?,
            Measure::Thd => try_thd(samples, sample_rate)?,
        })
    }
}

/// Number of histogram bins used to find the state levels.
const HIST_BINS: usize = 256;

fn usable(samples: &[f64], sample_rate: f64) -> bool {
    samples.len() >= 2
        && sample_rate.is_finite()
        && sample_rate > 0.0
        && samples.iter().all(|x| x.is_finite())
}

/// The state levels `(base, top)`, or `None` for a flat or empty signal.
pub fn state_levels(samples: &[f64]) -> Option<(f64, f64)> {
    if samples.is_empty() || !samples.iter().all(|x| x.is_finite()) {
        return None;
    }
    let (lo, hi) = samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if hi - lo <= 0.0 || !(hi - lo).is_finite() {
        return None;
    }
    let width = (hi - lo) / HIST_BINS as f64;
    let bin = |x: f64| (((x - lo) / width) as usize).min(HIST_BINS - 1);
    let mut counts = [0u64; HIST_BINS];
    let mut sums = [0f64; HIST_BINS];
    for &x in samples {
        let b = bin(x);
        counts[b] += 1;
        sums[b] += x;
    }
    let half = HIST_BINS / 2;
    let mode = |range: std::ops::Range<usize>| {
        let mut best = range.start;
        for i in range {
            if counts[i] > counts[best] {
                best = i;
            }
        }
        sums[best] / counts[best].max(1) as f64
    };
    // The lowest bin holds the minimum and the highest the maximum, so
    // both halves have a non-empty modal bin.
    let base = mode(0..half);
    // Ties go to the bin nearest the extreme: scan the upper half downwards.
    let mut best = HIST_BINS - 1;
    for i in (half..HIST_BINS).rev() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    let top = sums[best] / counts[best].max(1) as f64;
    Some((base, top))
}

/// `top - base` (IEEE 181 amplitude); NaN for a flat or empty signal.
pub fn amplitude(samples: &[f64]) -> f64 {
    match state_levels(samples) {
        Some((b, t)) => t - b,
        None => f64::NAN,
    }
}

/// Time (in samples, fractional) where the signal crosses `level` between
/// samples `i - 1` and `i`.
fn cross(samples: &[f64], i: usize, level: f64) -> f64 {
    cross_between(samples[i - 1], samples[i], i, level)
}

/// [`cross`] of the samples `a` (at `i - 1`) and `b` (at `i`).
fn cross_between(a: f64, b: f64, i: usize, level: f64) -> f64 {
    if b == a {
        i as f64
    } else {
        (i - 1) as f64 + (level - a) / (b - a)
    }
}

/// 10 %–90 % time of the first complete transition (rising when `rising`).
fn transition_time(samples: &[f64], sample_rate: f64, rising: bool) -> f64 {
    if !usable(samples, sample_rate) {
        return f64::NAN;
    }
    let Some((base, top)) = state_levels(samples) else {
        return f64::NAN;
    };
    // Work on a rising signal: negate for falling transitions.
    let s = |x: f64| if rising { x } else { -x };
    let (lo, hi) = if rising {
        (base + 0.1 * (top - base), base + 0.9 * (top - base))
    } else {
        (-(base + 0.9 * (top - base)), -(base + 0.1 * (top - base)))
    };
    let mut start: Option<f64> = None;
    let mut armed = s(samples[0]) < lo;
    for i in 1..samples.len() {
        let (a, b) = (s(samples[i - 1]), s(samples[i]));
        if b < lo {
            armed = true;
            start = None;
            continue;
        }
        if armed && start.is_none() && a < lo && b >= lo {
            start = Some(cross_between(a, b, i, lo));
        }
        if let Some(t0) = start {
            if b >= hi {
                let t1 = cross_between(a, b, i, hi).max(t0);
                return (t1 - t0) / sample_rate;
            }
        }
    }
    f64::NAN
}

/// 10 %–90 % rise time of the first complete rising transition, seconds.
pub fn rise_time(samples: &[f64], sample_rate: f64) -> f64 {
    transition_time(samples, sample_rate, true)
}

/// 90 %–10 % fall time of the first complete falling transition, seconds.
pub fn fall_time(samples: &[f64], sample_rate: f64) -> f64 {
    transition_time(samples, sample_rate, false)
}

/// Interpolated mid-reference crossings (sample index units), with
/// hysteresis: `(rising, falling)`.
fn mid_crossings(samples: &[f64]) -> Mem<Option<(Vec<f64>, Vec<f64>)>> {
    let Some((base, top)) = state_levels(samples) else {
        return Ok(None);
    };
    let amp = top - base;
    let mid = base + 0.5 * amp;
    let (lo, hi) = (mid - 0.1 * amp, mid + 0.1 * amp);
    let mut rising = Vec::new();
    let mut falling = Vec::new();
    // state: Some(true) = last past the high side, Some(false) = low side.
    let mut state: Option<bool> = None;
    let mut pending: Option<(bool, f64)> = None;
    for i in 0..samples.len() {
        let x = samples[i];
        if i > 0 {
            let a = samples[i - 1];
            if a < mid && x >= mid && state == Some(false) {
                pending = Some((true, cross(samples, i, mid)));
            } else if a >= mid && x < mid && state == Some(true) {
                pending = Some((false, cross(samples, i, mid)));
            }
        }
        if x >= hi && state != Some(true) {
            if let Some((true, t)) = pending.take() {
                push(&mut rising, t)?;
            }
            state = Some(true);
        } else if x <= lo && state != Some(false) {
            if let Some((false, t)) = pending.take() {
                push(&mut falling, t)?;
            }
            state = Some(false);
        }
    }
    Ok(Some((rising, falling)))
}

/// Mean period between rising mid-reference crossings, seconds.
pub fn period(samples: &[f64], sample_rate: f64) -> f64 {
    or_abort(try_period(samples, sample_rate), samples)
}

fn try_period(samples: &[f64], sample_rate: f64) -> Mem<f64> {
    if !usable(samples, sample_rate) {
        return Ok(f64::NAN);
    }
    Ok(match mid_crossings(samples)? {
        Some((r, _)) if r.len() >= 2 => {
            (r[r.len() - 1] - r[0]) / (r.len() - 1) as f64 / sample_rate
        }
        _ => f64::NAN,
    })
}

/// `1 / period`, Hz.
pub fn frequency(samples: &[f64], sample_rate: f64) -> f64 {
    or_abort(try_frequency(samples, sample_rate), samples)
}

fn try_frequency(samples: &[f64], sample_rate: f64) -> Mem<f64> {
    let p = try_period(samples, sample_rate)?;
    Ok(if p > 0.0 { 1.0 / p } else { f64::NAN })
}

/// Percentage of time above the mid-reference level, over the whole
/// periods between the first and last rising crossing.
pub fn duty_cycle(samples: &[f64], sample_rate: f64) -> f64 {
    or_abort(try_duty_cycle(samples, sample_rate), samples)
}

fn try_duty_cycle(samples: &[f64], sample_rate: f64) -> Mem<f64> {
    if !usable(samples, sample_rate) {
        return Ok(f64::NAN);
    }
    let Some((r, f)) = mid_crossings(samples)? else {
        return Ok(f64::NAN);
    };
    if r.len() < 2 {
        return Ok(f64::NAN);
    }
    let (t0, t1) = (r[0], r[r.len() - 1]);
    let mut high = 0.0;
    // Both lists ascend: one pass over the falling crossings (a search
    // from the start for each period took time quadratic in their number).
    let mut next = 0;
    for w in r.windows(2) {
        // the first falling crossing inside this period
        while next < f.len() && f[next] <= w[0] {
            next += 1;
        }
        match f.get(next) {
            Some(&fc) if fc < w[1] => high += fc - w[0],
            _ => return Ok(f64::NAN),
        }
    }
    Ok(100.0 * high / (t1 - t0))
}

/// Highest harmonic counted by [`thd`].
pub const THD_HARMONICS: usize = 10;

/// Total harmonic distortion in percent: RMS of harmonics 2..=10 over the
/// fundamental (the largest non-DC component), from a Hann-windowed FFT.
pub fn thd(samples: &[f64], sample_rate: f64) -> f64 {
    or_abort(try_thd(samples, sample_rate), samples)
}

/// How many doubles per sample [`try_thd`] checks it can have before
/// `realfft` makes its plan, which allocates its tables itself (and would
/// abort if refused). Measured peaks of the planning (realfft 3.5, rustfft
/// 6.4): at most 2 doubles per sample for lengths whose prime factors are
/// 2, 3, 5 and 7 (4.75 below 32 samples), up to 21.1 for lengths with a
/// large prime factor (Bluestein's algorithm).
fn fft_plan_doubles(n: usize) -> usize {
    let mut m = n.max(1);
    for p in [2, 3, 5, 7] {
        while m % p == 0 {
            m /= p;
        }
    }
    if m == 1 {
        if n < 32 {
            5
        } else {
            3
        }
    } else {
        22
    }
}

fn try_thd(samples: &[f64], sample_rate: f64) -> Mem<f64> {
    if !usable(samples, sample_rate) || samples.len() < 16 {
        return Ok(f64::NAN);
    }
    let n = samples.len();
    let mean = samples.iter().sum::<f64>() / n as f64;
    let mut input = buffer::<f64>(n)?;
    input.extend(samples.iter().enumerate().map(|(i, &x)| {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
        (x - mean) * w
    }));
    let mut spectrum = buffer::<Complex<f64>>(n / 2 + 1)?;
    spectrum.resize(n / 2 + 1, Complex::new(0.0, 0.0));
    // Room for the plan's tables, checked while the buffers above are held
    // (the reservation only takes address space, and is given back).
    drop(buffer::<f64>(n.saturating_mul(fft_plan_doubles(n)))?);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut scratch = buffer::<Complex<f64>>(fft.get_scratch_len())?;
    scratch.resize(fft.get_scratch_len(), Complex::new(0.0, 0.0));
    if fft
        .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
        .is_err()
    {
        return Ok(f64::NAN);
    }
    drop((input, scratch));
    let mut power = buffer::<f64>(spectrum.len())?;
    power.extend(spectrum.iter().map(|c| c.norm_sqr()));
    drop(spectrum);
    let bins = power.len();
    // Hann main lobe: +-2 bins around a component.
    const LOBE: usize = 2;
    let fund = (LOBE + 1..bins)
        .max_by(|&a, &b| power[a].total_cmp(&power[b]))
        .unwrap_or(0);
    if fund == 0 || power[fund] <= 0.0 {
        return Ok(f64::NAN);
    }
    // Refine the fundamental's position (centroid of the lobe) so that
    // harmonics of a frequency between bins land on the right bins.
    let lobe = |c: usize| {
        let a = c.saturating_sub(LOBE);
        let b = (c + LOBE).min(bins - 1);
        (a, b)
    };
    let (a, b) = lobe(fund);
    let (mut wsum, mut psum) = (0.0, 0.0);
    for (k, p) in power.iter().enumerate().take(b + 1).skip(a) {
        wsum += k as f64 * p;
        psum += p;
    }
    let f0 = wsum / psum;
    let p1 = psum;
    let mut ph = 0.0;
    for h in 2..=THD_HARMONICS {
        let c = (f0 * h as f64).round() as usize;
        if c + LOBE >= bins {
            break;
        }
        // the peak near the expected bin
        let (a, b) = lobe(c);
        let peak = (a..=b)
            .max_by(|&x, &y| power[x].total_cmp(&power[y]))
            .unwrap_or(c);
        let (a, b) = lobe(peak);
        ph += power[a..=b].iter().sum::<f64>();
    }
    Ok(100.0 * (ph / p1).sqrt())
}

/// The samples of a trace as `f64` (bools and bits as 0 and 1).
pub fn trace_samples(trace: &Trace) -> Result<Vec<f64>> {
    let bytes = trace.bytes()?;
    let len = usize::try_from(trace.len())
        .map_err(|_| Error::InvalidArgument("trace too long for this platform".into()))?;
    let mut v = buffer::<f64>(len).map_err(out_of_memory)?;
    macro_rules! conv {
        ($t:ty) => {
            v.extend(
                bytes
                    .chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or_default()) as f64),
            )
        };
    }
    match trace.dtype() {
        Dtype::F64 => conv!(f64),
        Dtype::F32 => conv!(f32),
        Dtype::I8 => conv!(i8),
        Dtype::I16 => conv!(i16),
        Dtype::I32 => conv!(i32),
        Dtype::I64 => conv!(i64),
        Dtype::U8 => conv!(u8),
        Dtype::U16 => conv!(u16),
        Dtype::U32 => conv!(u32),
        Dtype::U64 => conv!(u64),
        Dtype::Bool => v.extend(bytes.iter().map(|&b| f64::from(b != 0))),
        Dtype::Bit => v.extend((0..len).map(|i| f64::from((bytes[i / 8] >> (i % 8)) & 1))),
    }
    Ok(v)
}

/// Memory refused while measuring a trace, as an I/O error (the trace's
/// file is not known here; the callers name it).
fn out_of_memory(e: OutOfMemory) -> Error {
    Error::io(Path::new("trace samples"), "measure", e.into())
}

/// Applies `m` to a trace.
pub fn measure(trace: &Trace, m: Measure) -> Result<f64> {
    let v = trace_samples(trace)?;
    m.try_apply(&v, trace.info().sample_rate)
        .map_err(out_of_memory)
}

/// Applies `m` to the session's trace `name` and records it in the
/// session's history as `measure_<name>` (no parameters; the trace's name
/// is in the entry's metadata, the value in its result).
pub fn measure_trace(session: &mut Session, name: &str, m: Measure) -> Result<f64> {
    let t0 = Instant::now();
    let trace = session.trace(name).ok_or_else(|| Error::NotFound {
        what: format!("trace {name:?}"),
    })?;
    let value = measure(trace, m)?;
    let mut e = HistoryEntry::new(format!("measure_{}", m.name()));
    e.result = serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or(Value::Null);
    e.duration_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let mut meta = Map::new();
    meta.insert("trace".into(), Value::String(name.to_string()));
    let unit = m.unit_for(&trace.info().units).to_string();
    meta.insert("unit".into(), Value::String(unit));
    e.metadata = meta;
    session.record_history(e)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(freq: f64, rate: f64, n: usize, amp: f64) -> Vec<f64> {
        (0..n)
            .map(|i| amp * (2.0 * PI * freq * i as f64 / rate).sin())
            .collect()
    }

    fn square(freq: f64, rate: f64, n: usize, duty: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let ph = (i as f64 * freq / rate).fract();
                if ph < duty {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn sine_frequency_period_amplitude() {
        let x = sine(1000.0, 1e6, 100_000, 3.3);
        let f = frequency(&x, 1e6);
        assert!(close(f, 1000.0, 1e-6), "{f}");
        assert!(close(period(&x, 1e6), 1e-3, 1e-6));
        let a = amplitude(&x);
        assert!(close(a, 6.6, 5e-3), "{a}");
    }

    #[test]
    fn non_integer_period_frequency() {
        // 1234.5 Hz at 1 MS/s: period not a whole number of samples.
        let x = sine(1234.5, 1e6, 200_000, 1.0);
        assert!(close(frequency(&x, 1e6), 1234.5, 1e-6));
    }

    #[test]
    fn square_duty_cycle_and_levels() {
        let x = square(1000.0, 1e6, 100_000, 0.25);
        let d = duty_cycle(&x, 1e6);
        assert!(close(d, 25.0, 1e-3), "{d}");
        assert!(close(frequency(&x, 1e6), 1000.0, 1e-6));
        assert_eq!(state_levels(&x), Some((0.0, 1.0)));
        let y: Vec<f64> = x.iter().map(|v| 5.0 * v + 1.0).collect();
        assert!(close(amplitude(&y), 5.0, 1e-12));
    }

    /// 500,000 periods: each period's falling crossing was searched from
    /// the first one, 10^11 comparisons (minutes); now one pass.
    #[test]
    fn duty_cycle_of_many_periods_is_linear() {
        let x = square(250_000.0, 1e6, 2_000_000, 0.5);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .spawn(move || {
                let _ = tx.send(duty_cycle(&x, 1e6));
            })
            .expect("a thread");
        let d = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("duty_cycle of 500,000 periods takes more than a minute");
        assert!(close(d, 50.0, 1e-9), "{d}");
    }

    #[test]
    fn ramp_rise_and_fall_time() {
        // 0 for 100 samples, linear ramp to 1 over 1000 samples, 1 for
        // 100 samples: the 10-90 % time is 800 samples.
        let mut x = vec![0.0; 100];
        x.extend((0..=1000).map(|i| i as f64 / 1000.0));
        x.extend(vec![1.0; 100]);
        let rate = 1e9;
        let r = rise_time(&x, rate);
        assert!(close(r, 800e-9, 1e-3), "{r}");
        assert!(fall_time(&x, rate).is_nan());
        let y: Vec<f64> = x.iter().rev().copied().collect();
        assert!(close(fall_time(&y, rate), 800e-9, 1e-3));
        assert!(rise_time(&y, rate).is_nan());
    }

    #[test]
    fn exponential_rise_time() {
        // RC step response: 10-90 % rise time is tau * ln(9).
        let tau = 1e-6;
        let rate = 1e9;
        let mut x = vec![0.0; 500];
        x.extend((0..20_000).map(|i| 1.0 - (-(i as f64) / rate / tau).exp()));
        let r = rise_time(&x, rate);
        assert!(close(r, tau * 9f64.ln(), 5e-3), "{r}");
    }

    #[test]
    fn thd_of_known_harmonics() {
        let rate = 100_000.0;
        let n = 100_000;
        let f = 1000.0;
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / rate;
                (2.0 * PI * f * t).sin()
                    + 0.1 * (2.0 * PI * 3.0 * f * t).sin()
                    + 0.05 * (2.0 * PI * 5.0 * f * t).sin()
            })
            .collect();
        let expected = 100.0 * (0.1f64.powi(2) + 0.05f64.powi(2)).sqrt();
        let t = thd(&x, rate);
        assert!(close(t, expected, 1e-3), "{t} vs {expected}");
        let pure = sine(1000.0, rate, n, 1.0);
        assert!(thd(&pure, rate) < 1e-3);
        // a frequency between bins
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / rate;
                (2.0 * PI * 1003.3 * t).sin() + 0.2 * (2.0 * PI * 2.0 * 1003.3 * t).sin()
            })
            .collect();
        let t = thd(&y, rate);
        assert!(close(t, 20.0, 1e-2), "{t}");
    }

    #[test]
    fn square_wave_thd() {
        // An ideal square wave's odd harmonics have amplitude 1/k: THD over
        // harmonics 2..=10 is sqrt(1/9 + 1/25 + 1/49 + 1/81).
        let rate = 1_000_000.0;
        let x: Vec<f64> = square(1000.0, rate, 1_000_000, 0.5)
            .into_iter()
            .map(|v| 2.0 * v - 1.0)
            .collect();
        let expected = 100.0 * (1.0 / 9.0 + 1.0 / 25.0 + 1.0 / 49.0 + 1.0 / 81.0f64).sqrt();
        let t = thd(&x, rate);
        assert!(close(t, expected, 1e-2), "{t} vs {expected}");
    }

    #[test]
    fn degenerate_inputs_are_nan() {
        for m in Measure::ALL {
            assert!(m.apply(&[], 1e6).is_nan(), "{m:?}");
            assert!(m.apply(&[1.0; 100], 1e6).is_nan(), "{m:?}");
            assert!(m.apply(&[0.0, f64::NAN, 1.0], 1e6).is_nan(), "{m:?}");
            assert!(m.apply(&sine(10.0, 1e3, 1000, 1.0), 0.0).is_nan() || m == Measure::Amplitude);
        }
    }

    #[test]
    fn measure_trace_records_history() {
        use crate::session::TraceInfo;
        let mut s = Session::new("m");
        let x = sine(1000.0, 1e6, 10_000, 1.0);
        s.add_trace(
            "CH1",
            Trace::from_slice(&x, TraceInfo::with_rate(1e6)).unwrap(),
        )
        .unwrap();
        let f = measure_trace(&mut s, "CH1", Measure::Frequency).unwrap();
        assert!(close(f, 1000.0, 1e-6));
        let e = s.history().back().unwrap();
        assert_eq!(e.operation, "measure_frequency");
        assert!(e.parameters.is_empty());
        assert_eq!(e.metadata["trace"], "CH1");
        assert!(matches!(
            measure_trace(&mut s, "nope", Measure::Thd),
            Err(Error::NotFound { .. })
        ));
    }
}
