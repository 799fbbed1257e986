//! Latency samples and their summary (count, median, p99, max), in microseconds.

use serde::Serialize;
use std::time::Duration;

/// A summary of one set of latency samples. Percentiles are nearest-rank on the sorted
/// samples, so every figure is a latency that really happened.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub count: usize,
    pub median_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let pick = |q: f64| us[((us.len() - 1) as f64 * q).round() as usize];
        Summary {
            count: us.len(),
            median_us: pick(0.5),
            p99_us: pick(0.99),
            max_us: us[us.len() - 1],
        }
    }
}

/// "850 us" below a millisecond, "12.3 ms" above: readable at both ends of the table.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} us")
    } else if us < 100_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.0} ms", us / 1000.0)
    }
}

/// Linear gain for a percent on the cubic scale, as the daemon computes it.
pub fn linear(percent: f64) -> f32 {
    audio_daemon::volume::linear_from_percent(percent)
}

/// Whether reported channel gains are all (close to) `target`. f32 gains travel through
/// PipeWire unchanged, so the tolerance only absorbs the percent→linear rounding.
pub fn channels_at(channels: &[f32], target: f32) -> bool {
    !channels.is_empty() && channels.iter().all(|c| (c - target).abs() <= 1e-5)
}
