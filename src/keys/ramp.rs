//! Hold-to-ramp arithmetic, without clocks of its own.
//!
//! A held key moves the volume by `rate` percent points per second, starting `delay`
//! after the press (the press itself made one exact step). What has to be sent by time
//! `t` is computed from the press time, not summed from ticks, so late or skipped ticks
//! do not change where the ramp ends: at release it has moved `rate × (held − delay)`.
//! Amounts are whole hundredths of a percent, the resolution the state keeps volumes at
//! (`volume::stepped_level`), so nothing sent is rounded away.

use crate::config::keys::RampConfig;
use std::time::{Duration, Instant};

/// The longest a ramp runs without a release (a lost release event must not leave a
/// ramp running; the cap or the floor is reached well before).
pub const MAX_HOLD: Duration = Duration::from_secs(10);

/// One held key's ramp.
#[derive(Debug, Clone)]
pub struct Ramp {
    pressed: Instant,
    delay: Duration,
    /// Percent points per second.
    rate: f64,
    period: Duration,
    /// Hundredths of a percent sent so far.
    sent: u64,
}

impl Ramp {
    pub fn new(pressed: Instant, config: &RampConfig) -> Ramp {
        Ramp {
            pressed,
            delay: Duration::from_millis(config.delay_ms),
            rate: config.rate,
            period: Duration::from_secs_f64(1.0 / f64::from(config.update_hz.max(1))),
            sent: 0,
        }
    }

    /// Hundredths of a percent the ramp has moved by at `t`.
    fn total_at(&self, t: Instant) -> u64 {
        let ramping = t
            .saturating_duration_since(self.pressed + self.delay)
            .min(MAX_HOLD);
        (self.rate * ramping.as_secs_f64() * 100.0).floor() as u64
    }

    /// The amount (percent points) to send for time `t`, if any is due.
    pub fn advance(&mut self, t: Instant) -> Option<f64> {
        let total = self.total_at(t);
        let due = total.checked_sub(self.sent).filter(|&d| d > 0)?;
        // One request steps at most 100 points (`protocol::MAX_STEP`).
        let due = due.min(100 * 100);
        self.sent += due;
        Some(due as f64 / 100.0)
    }

    /// When to wake next after `now`: the ramp's start, then every period.
    pub fn next_tick(&self, now: Instant) -> Instant {
        (self.pressed + self.delay).max(now + self.period)
    }

    /// Whether the ramp has run for [`MAX_HOLD`] (then it stops by itself).
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.pressed + self.delay + MAX_HOLD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rate: f64, hz: u32, delay_ms: u64) -> RampConfig {
        RampConfig {
            rate,
            update_hz: hz,
            delay_ms,
        }
    }

    #[test]
    fn a_tap_is_nothing_more_than_the_first_step() {
        let t0 = Instant::now();
        let mut r = Ramp::new(t0, &cfg(40.0, 30, 250));
        assert_eq!(r.advance(t0 + Duration::from_millis(249)), None);
        assert_eq!(r.advance(t0 + Duration::from_millis(250)), None);
    }

    #[test]
    fn the_total_follows_rate_times_held_time_whatever_the_ticks() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // Regular ticks.
        let mut r = Ramp::new(t0, &cfg(40.0, 30, 250));
        let mut sum = 0.0;
        let mut t = r.next_tick(t0);
        while t < ms(1250) {
            sum += r.advance(t).unwrap_or(0.0);
            t = r.next_tick(t);
        }
        sum += r.advance(ms(1250)).unwrap_or(0.0);
        assert!((sum - 40.0).abs() < 0.011, "{sum}");
        // Irregular, late ticks end at the same place.
        let mut r = Ramp::new(t0, &cfg(40.0, 30, 250));
        let mut sum2 = 0.0;
        for t in [300, 301, 700, 1100, 1249, 1250] {
            sum2 += r.advance(ms(t)).unwrap_or(0.0);
        }
        assert!((sum2 - 40.0).abs() < 0.011, "{sum2}");
        // Amounts are whole hundredths.
        let mut r = Ramp::new(t0, &cfg(33.3, 7, 0));
        for t in (1..50).map(|i| ms(i * 37)) {
            if let Some(a) = r.advance(t) {
                assert!(((a * 100.0).round() - a * 100.0).abs() < 1e-9, "{a}");
            }
        }
    }

    #[test]
    fn ticks_wait_for_the_delay_then_follow_the_update_rate() {
        let t0 = Instant::now();
        let r = Ramp::new(t0, &cfg(40.0, 20, 250));
        assert_eq!(r.next_tick(t0), t0 + Duration::from_millis(250));
        let later = t0 + Duration::from_millis(400);
        assert_eq!(r.next_tick(later), later + Duration::from_millis(50));
    }

    #[test]
    fn a_lost_release_stops_after_max_hold() {
        let t0 = Instant::now();
        let mut r = Ramp::new(t0, &cfg(1000.0, 30, 0));
        let end = t0 + MAX_HOLD;
        let mut sum = 0.0;
        let mut t = t0;
        while !r.expired(t) {
            t = r.next_tick(t);
            sum += r.advance(t).unwrap_or(0.0);
        }
        assert!(t >= end);
        assert!(sum <= 1000.0 * MAX_HOLD.as_secs_f64() + 0.01);
        assert_eq!(r.advance(t + Duration::from_secs(100)), None);
    }
}
