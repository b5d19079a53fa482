//! Arrival-rate schedules: how many requests per second should start at each moment of a run, and when the next
//! one is due. The open model's driver starts requests on them; the scenarios' swarm pacer (Python) hands out the
//! closed model's task slots on them. Written `kind:key=value,...` (durations as `500ms`, `30s`, `2m`, or seconds):
//!
//! - `constant:rate=1000`
//! - `ramp:from=10,to=100,over=60s` (then holds `to`)
//! - `steps:rates=100/200/400,every=10s` (then holds the last)
//! - `sine:mean=500,amplitude=300,period=60s` (from its low point, `mean - amplitude`, up and back each period)
//! - `square:low=100,high=500,period=20s[,duty=0.5]` (`high` for the first `duty` of each period)
//! - `spike:base=100,peak=500,at=30s,for=10s`
//!
//! Any of them takes `end=D`: the schedule is over at `D` (no arrivals after it). These are the shapes of the seed's
//! S1a (ramp, steps) and S6 (spike, square, sine) targets; [`Schedule::preset`] names the seed's own.

use std::collections::BTreeMap;
use std::fmt;

use super::error::{OpenModelError, Result};
use crate::common::parse_seconds;

/// The longest stretch searched for the next arrival; beyond it the schedule is over (its rate stayed zero).
const HORIZON_S: f64 = 3600.0;
/// The rate is taken as constant over steps this long: below a millisecond, timing is the timer's, not the rate's.
const STEP_S: f64 = 0.001;
/// Where the rate is zero, the search for where it rises again goes in coarser steps.
const QUIET_STEP_S: f64 = 0.01;

/// A rate curve over the run's time, ending at `end` when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    shape: Shape,
    /// Seconds after which the schedule is over.
    end: Option<f64>,
}

/// The seed's rate targets by name: S1a's ramp and S6's sine, square and spike (each five minutes long), also under
/// the names `--pp-burst` takes.
const PRESETS: [(&str, &str); 7] = [
    ("s1a", "ramp:from=10,to=100,over=5m"),
    ("s6a", "sine:mean=105,amplitude=95,period=5m,end=5m"),
    ("s6b", "square:low=10,high=200,period=60s,end=5m"),
    ("s6c", "spike:base=50,peak=500,at=4m,for=1m,end=5m"),
    ("sine", "sine:mean=105,amplitude=95,period=5m,end=5m"),
    ("square", "square:low=10,high=200,period=60s,end=5m"),
    ("spike", "spike:base=50,peak=500,at=4m,for=1m,end=5m"),
];

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Constant {
        rate: f64,
    },
    Ramp {
        from: f64,
        to: f64,
        over: f64,
    },
    Steps {
        rates: Vec<f64>,
        every: f64,
    },
    Sine {
        mean: f64,
        amplitude: f64,
        period: f64,
    },
    Square {
        low: f64,
        high: f64,
        period: f64,
        duty: f64,
    },
    Spike {
        base: f64,
        peak: f64,
        at: f64,
        length: f64,
    },
}

impl Schedule {
    /// The spec of a preset (`s1a`, `s6a`, `s6b`, `s6c`, or `sine`, `square`, `spike`), case-insensitive.
    #[must_use]
    pub fn preset(name: &str) -> Option<&'static str> {
        let name = name.trim();
        PRESETS
            .iter()
            .find(|(preset, _)| preset.eq_ignore_ascii_case(name))
            .map(|(_, spec)| *spec)
    }

    /// The names [`Schedule::preset`] knows.
    pub fn preset_names() -> impl Iterator<Item = &'static str> {
        PRESETS.iter().map(|(name, _)| *name)
    }

    /// A preset's schedule, or `text` parsed as a spec.
    pub fn parse_or_preset(text: &str) -> Result<Self> {
        Self::preset(text).unwrap_or(text).parse()
    }

    /// Seconds after which the schedule is over; None: it never is.
    #[must_use]
    pub fn end(&self) -> Option<f64> {
        self.end
    }

    /// Requests per second due at `t` seconds into the run (never negative; zero from `end` on).
    #[must_use]
    pub fn rate_at(&self, t: f64) -> f64 {
        if self.end.is_some_and(|end| t >= end) {
            return 0.0;
        }
        self.shape.rate_at(t)
    }

    /// The highest rate the curve reaches.
    #[must_use]
    pub fn peak(&self) -> f64 {
        self.shape.rates().into_iter().fold(0.0, f64::max)
    }

    /// The same curve with every rate multiplied so that its peak is `peak` (a runner's `--rate`); a curve whose
    /// peak is zero stays as it is.
    #[must_use]
    pub fn scaled_to(&self, peak: f64) -> Self {
        let current = self.peak();
        let mut scaled = self.clone();
        if current > 0.0 {
            let factor = peak / current;
            scaled.shape.scale(factor);
        }
        scaled
    }
}

impl Shape {
    fn rate_at(&self, t: f64) -> f64 {
        let rate = match self {
            Self::Constant { rate } => *rate,
            Self::Ramp { from, to, over } => {
                if t >= *over {
                    *to
                } else {
                    from + (to - from) * t / over
                }
            }
            Self::Steps { rates, every } => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // t >= 0, clamped below
                let step = ((t / every) as usize).min(rates.len() - 1);
                rates[step]
            }
            Self::Sine {
                mean,
                amplitude,
                period,
            } => mean - amplitude * (std::f64::consts::TAU * t / period).cos(),
            Self::Square {
                low,
                high,
                period,
                duty,
            } => {
                if (t % period) < period * duty {
                    *high
                } else {
                    *low
                }
            }
            Self::Spike { base, peak, at, length } => {
                if t >= *at && t < at + length {
                    *peak
                } else {
                    *base
                }
            }
        };
        rate.max(0.0)
    }

    /// Every rate the shape names (the sine's as its low and high points).
    fn rates(&self) -> Vec<f64> {
        match self {
            Self::Constant { rate } => vec![*rate],
            Self::Ramp { from, to, .. } => vec![*from, *to],
            Self::Steps { rates, .. } => rates.clone(),
            Self::Sine { mean, amplitude, .. } => vec![mean - amplitude, mean + amplitude],
            Self::Square { low, high, .. } => vec![*low, *high],
            Self::Spike { base, peak, .. } => vec![*base, *peak],
        }
    }

    fn scale(&mut self, factor: f64) {
        match self {
            Self::Constant { rate } => *rate *= factor,
            Self::Ramp { from, to, .. } => {
                *from *= factor;
                *to *= factor;
            }
            Self::Steps { rates, .. } => rates.iter_mut().for_each(|rate| *rate *= factor),
            Self::Sine { mean, amplitude, .. } => {
                *mean *= factor;
                *amplitude *= factor;
            }
            Self::Square { low, high, .. } => {
                *low *= factor;
                *high *= factor;
            }
            Self::Spike { base, peak, .. } => {
                *base *= factor;
                *peak *= factor;
            }
        }
    }
}

impl Schedule {
    /// When the arrival after one at `t` is due, for a process that makes `share` of the schedule's rate: when one
    /// request's worth of the rate has passed, the rate taken as constant over each millisecond. None when the
    /// schedule ends first, or its rate stays zero from here on (as far as `HORIZON_S` ahead).
    #[must_use]
    pub fn next_after(&self, t: f64, share: f64) -> Option<f64> {
        let mut owed = 1.0;
        let mut at = t;
        let until = self.end.map_or(t + HORIZON_S, |end| end.min(t + HORIZON_S));
        while at < until {
            let rate = self.rate_at(at) * share;
            if rate <= 0.0 {
                at += QUIET_STEP_S;
                continue;
            }
            if owed / rate <= STEP_S {
                let next = at + owed / rate;
                return self.end.is_none_or(|end| next < end).then_some(next);
            }
            owed -= rate * STEP_S;
            at += STEP_S;
        }
        None
    }

    /// Requests due between 0 and `seconds`, at `share` of the rate: what a run of that length should start.
    #[must_use]
    pub fn expected(&self, seconds: f64, share: f64) -> u64 {
        let mut count = 0;
        let mut t = 0.0;
        while t < seconds {
            count += 1;
            match self.next_after(t, share) {
                Some(next) => t = next,
                None => break,
            }
        }
        count
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.shape)?;
        match self.end {
            Some(end) => write!(f, ",end={end}s"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant { rate } => write!(f, "constant:rate={rate}"),
            Self::Ramp { from, to, over } => write!(f, "ramp:from={from},to={to},over={over}s"),
            Self::Steps { rates, every } => {
                let rates: Vec<String> = rates.iter().map(f64::to_string).collect();
                write!(f, "steps:rates={},every={every}s", rates.join("/"))
            }
            Self::Sine {
                mean,
                amplitude,
                period,
            } => write!(f, "sine:mean={mean},amplitude={amplitude},period={period}s"),
            Self::Square {
                low,
                high,
                period,
                duty,
            } => write!(f, "square:low={low},high={high},period={period}s,duty={duty}"),
            Self::Spike { base, peak, at, length } => write!(f, "spike:base={base},peak={peak},at={at}s,for={length}s"),
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = OpenModelError;

    fn from_str(text: &str) -> Result<Self> {
        let (kind, rest) = text.trim().split_once(':').unwrap_or((text.trim(), ""));
        let mut settings = Settings {
            text,
            keys: BTreeMap::new(),
        };
        for pair in rest.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| settings.bad(&format!("'{pair}' is not key=value")))?;
            settings.keys.insert(key.trim(), value.trim());
        }
        let s = &mut settings;
        let end = s.optional("end", Value::Duration)?;
        let shape = match kind {
            "constant" => Shape::Constant {
                rate: s.take("rate", Value::Rate)?,
            },
            "ramp" => Shape::Ramp {
                from: s.take("from", Value::Rate)?,
                to: s.take("to", Value::Rate)?,
                over: s.take("over", Value::Duration)?,
            },
            "steps" => Shape::Steps {
                rates: s.rates("rates")?,
                every: s.take("every", Value::Duration)?,
            },
            "sine" => Shape::Sine {
                mean: s.take("mean", Value::Rate)?,
                amplitude: s.take("amplitude", Value::Rate)?,
                period: s.take("period", Value::Duration)?,
            },
            "square" => Shape::Square {
                low: s.take("low", Value::Rate)?,
                high: s.take("high", Value::Rate)?,
                period: s.take("period", Value::Duration)?,
                duty: s.optional("duty", Value::Fraction)?.unwrap_or(0.5),
            },
            "spike" => Shape::Spike {
                base: s.take("base", Value::Rate)?,
                peak: s.take("peak", Value::Rate)?,
                at: s.take("at", Value::Offset)?,
                length: s.take("for", Value::Duration)?,
            },
            other => {
                return Err(s.bad(&format!(
                    "unknown schedule '{other}' (use constant, ramp, steps, sine, square or spike)"
                )))
            }
        };
        if let Some(extra) = settings.keys.keys().next() {
            return Err(settings.bad(&format!("unknown setting '{extra}' for {kind}")));
        }
        Ok(Self { shape, end })
    }
}

/// A spec's `key=value` settings, taken one by one so that any left over can be named.
struct Settings<'a> {
    text: &'a str,
    keys: BTreeMap<&'a str, &'a str>,
}

impl Settings<'_> {
    fn bad(&self, why: &str) -> OpenModelError {
        OpenModelError::Schedule(format!("{:?}: {why}", self.text))
    }

    fn optional(&mut self, key: &str, kind: Value) -> Result<Option<f64>> {
        let Some(value) = self.keys.remove(key) else {
            return Ok(None);
        };
        let parsed = match kind {
            Value::Rate => value.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0),
            Value::Duration => parse_seconds(value).filter(|v| *v > 0.0),
            Value::Offset => parse_seconds(value).filter(|v| *v >= 0.0),
            Value::Fraction => value.parse::<f64>().ok().filter(|v| *v > 0.0 && *v < 1.0),
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.bad(&format!("{key}={value} is not {}", kind.describe())))
    }

    fn take(&mut self, key: &str, kind: Value) -> Result<f64> {
        self.optional(key, kind)?
            .ok_or_else(|| self.bad(&format!("needs {key}=")))
    }

    fn rates(&mut self, key: &str) -> Result<Vec<f64>> {
        let listed = self
            .keys
            .remove(key)
            .ok_or_else(|| self.bad(&format!("needs {key}=")))?;
        listed
            .split('/')
            .map(|rate| rate.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
            .collect::<Option<Vec<f64>>>()
            .filter(|rates| !rates.is_empty())
            .ok_or_else(|| self.bad(&format!("{key}={listed} is not a list of rates such as 100/200/400")))
    }
}

#[derive(Clone, Copy)]
enum Value {
    Rate,
    /// Longer than zero.
    Duration,
    /// Zero or more.
    Offset,
    Fraction,
}

impl Value {
    fn describe(self) -> &'static str {
        match self {
            Self::Rate => "a rate (requests/s, 0 or more)",
            Self::Duration | Self::Offset => "a duration such as 500ms, 30s or 2m",
            Self::Fraction => "a fraction between 0 and 1",
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp, clippy::cast_precision_loss)] // rates written as exact decimals; small counts
mod tests {
    use super::*;

    fn parse(text: &str) -> Schedule {
        text.parse().unwrap()
    }

    #[test]
    fn shapes_give_their_rates() {
        let ramp = parse("ramp:from=10,to=100,over=60s");
        assert!((ramp.rate_at(0.0) - 10.0).abs() < 1e-9 && (ramp.rate_at(30.0) - 55.0).abs() < 1e-9);
        assert!((ramp.rate_at(90.0) - 100.0).abs() < 1e-9);
        let steps = parse("steps:rates=100/200/400,every=10s");
        assert_eq!(
            [
                steps.rate_at(5.0),
                steps.rate_at(15.0),
                steps.rate_at(25.0),
                steps.rate_at(99.0)
            ],
            [100.0, 200.0, 400.0, 400.0]
        );
        // from its low point up and back: S6a's 10 -> 200 -> 10
        let sine = parse("sine:mean=500,amplitude=300,period=60s");
        assert!((sine.rate_at(0.0) - 200.0).abs() < 1e-6 && (sine.rate_at(15.0) - 500.0).abs() < 1e-6);
        assert!((sine.rate_at(30.0) - 800.0).abs() < 1e-6 && (sine.rate_at(60.0) - 200.0).abs() < 1e-6);
        let square = parse("square:low=0,high=500,period=20s,duty=0.25");
        assert_eq!(
            [square.rate_at(1.0), square.rate_at(6.0), square.rate_at(21.0)],
            [500.0, 0.0, 500.0]
        );
        let spike = parse("spike:base=100,peak=500,at=30s,for=10s");
        assert_eq!(
            [spike.rate_at(29.9), spike.rate_at(30.0), spike.rate_at(40.0)],
            [100.0, 500.0, 100.0]
        );
        assert_eq!(
            parse("sine:mean=10,amplitude=30,period=1m").rate_at(0.0),
            0.0,
            "never negative"
        );
    }

    #[test]
    fn an_end_stops_the_arrivals() {
        let ended = parse("constant:rate=100,end=2s");
        assert_eq!(
            (ended.end(), ended.rate_at(1.9), ended.rate_at(2.0)),
            (Some(2.0), 100.0, 0.0)
        );
        assert!(ended.expected(10.0, 1.0).abs_diff(200) <= 1);
        assert_eq!(ended.next_after(1.995, 1.0), None);
        assert_eq!(parse("constant:rate=100").end(), None);
    }

    #[test]
    fn peaks_scale_and_presets_name_the_seeds_targets() {
        assert_eq!(parse("sine:mean=105,amplitude=95,period=5m").peak(), 200.0);
        assert_eq!(parse("steps:rates=1/7/3,every=1s").peak(), 7.0);
        let spike = parse("spike:base=50,peak=500,at=4m,for=1m,end=5m").scaled_to(1000.0);
        assert_eq!(spike, parse("spike:base=100,peak=1000,at=4m,for=1m,end=5m"));
        assert_eq!(parse("constant:rate=0").scaled_to(10.0), parse("constant:rate=0"));
        for name in Schedule::preset_names() {
            let schedule = Schedule::parse_or_preset(name).unwrap();
            assert!(schedule.peak() > 0.0, "{name}");
        }
        // S6: five minutes long, 10 -> 200 -> 10 for the sine
        let s6a = Schedule::parse_or_preset("S6A").unwrap();
        assert_eq!(s6a, Schedule::parse_or_preset("sine").unwrap());
        assert_eq!(s6a.end(), Some(300.0));
        assert!((s6a.rate_at(0.0) - 10.0).abs() < 1e-9 && (s6a.rate_at(150.0) - 200.0).abs() < 1e-9);
        assert_eq!(Schedule::preset("s9z"), None);
    }

    #[test]
    fn arrivals_follow_the_rate() {
        // a constant 1000/s for 10 s is 10,000 starts (give or take the one at the very end, where the sum of the
        // gaps meets the end in floating point); half of it at share 0.5
        let constant = parse("constant:rate=1000");
        assert!(constant.expected(10.0, 1.0).abs_diff(10_000) <= 1);
        assert!(constant.expected(10.0, 0.5).abs_diff(5_000) <= 1);
        // a ramp 0 -> 200 over 10 s: the area under it, 1000
        let ramp = parse("ramp:from=0,to=200,over=10s");
        assert!((ramp.expected(10.0, 1.0) as f64 - 1000.0).abs() < 15.0);
        // a square wave that is off half the time: the quiet halves are skipped, not counted
        let square = parse("square:low=0,high=100,period=2s");
        assert!((square.expected(10.0, 1.0) as f64 - 500.0).abs() < 6.0);
        assert_eq!(parse("constant:rate=0").next_after(0.0, 1.0), None);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (text, words) in [
            ("zigzag:rate=1", "unknown schedule 'zigzag'"),
            ("constant", "needs rate="),
            ("constant:rate=-5", "rate=-5 is not a rate"),
            ("constant:rate=abc", "rate=abc is not a rate"),
            ("ramp:from=1,to=2,over=0s", "over=0s is not a duration"),
            ("ramp:from=1,to=2,over=10s,speed=3", "unknown setting 'speed'"),
            ("steps:rates=1/x,every=1s", "not a list of rates"),
            ("square:low=1,high=2,period=1s,duty=1.5", "duty=1.5 is not a fraction"),
            ("constant:rate", "'rate' is not key=value"),
            ("constant:rate=1,end=0s", "end=0s is not a duration"),
        ] {
            let error = text.parse::<Schedule>().unwrap_err().to_string();
            assert!(error.contains(words), "{text}: {error}");
        }
        // what it prints parses back to the same schedule
        for text in [
            "ramp:from=10,to=100,over=60s",
            "steps:rates=1/2,every=500ms",
            "spike:base=1,peak=5,at=0s,for=2s",
            "sine:mean=5,amplitude=1,period=1m,end=2m",
        ] {
            let schedule = parse(text);
            assert_eq!(parse(&schedule.to_string()), schedule);
        }
    }
}
