//! Volume arithmetic on the cubic scale that wpctl, pavucontrol and waybar show.
//!
//! PipeWire stores linear channel gains; people think in "percent", which those tools
//! define as `100 * cbrt(linear)`. An app's volume is its loudest channel, and every
//! change scales all channels by one factor so that the balance between them survives.

/// The linear gains and mute flag of one stream (or one device route).
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub channels: Vec<f32>,
    pub mute: bool,
}

/// Percent on the cubic scale for one linear gain.
pub fn percent_from_linear(linear: f32) -> f64 {
    f64::from(linear.max(0.0)).cbrt() * 100.0
}

/// Linear gain for a percent on the cubic scale.
pub fn linear_from_percent(percent: f64) -> f32 {
    let x = (percent.max(0.0)) / 100.0;
    (x * x * x) as f32
}

/// The loudest channel in percent; 0 for no channels.
pub fn level(channels: &[f32]) -> f64 {
    percent_from_linear(channels.iter().copied().fold(0.0, f32::max))
}

/// Rounds a level to a hundredth of a percent, so that steps land on exact values
/// (95 % + 5 = 100 %, not 99.999 %) despite f32 gains.
fn tidy(percent: f64) -> f64 {
    (percent * 100.0).round() / 100.0
}

/// Channels scaled so the loudest one sits at `percent`, keeping their ratios.
/// Channels that are all silent are all set to `percent`.
pub fn with_level(channels: &[f32], percent: f64) -> Vec<f32> {
    let target = linear_from_percent(percent);
    let loudest = channels.iter().copied().fold(0.0, f32::max);
    if loudest <= 0.0 {
        return vec![target; channels.len()];
    }
    let factor = f64::from(target) / f64::from(loudest);
    channels
        .iter()
        .map(|&c| {
            if c == loudest {
                // Exactly the target, not target/loudest*loudest with rounding error.
                target
            } else {
                (f64::from(c) * factor) as f32
            }
        })
        .collect()
}

/// The level a step of `delta` percent points leads to, never above `cap`.
/// A stream already above the cap (set by another mixer) is not raised further, and a
/// step down from there lands on the cap at most.
pub fn stepped_level(current: f64, delta: f64, cap: f64) -> f64 {
    let current = tidy(current);
    if delta > 0.0 && current >= cap {
        return current;
    }
    tidy((current + delta).clamp(0.0, cap))
}

/// Applies a step to a stream's channels.
pub fn step(channels: &[f32], delta: f64, cap: f64) -> Vec<f32> {
    let current = level(channels);
    let next = stepped_level(current, delta, cap);
    if next == tidy(current) {
        return channels.to_vec();
    }
    with_level(channels, next)
}

/// Sets a stream's level to `percent`, capped.
pub fn set(channels: &[f32], percent: f64, cap: f64) -> Vec<f32> {
    with_level(channels, percent.clamp(0.0, cap))
}

/// Whether two channel lists are the same gain as PipeWire will report it back.
pub fn same_channels(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn cubic_scale_matches_wpctl() {
        // wpctl shows 0.79 for a linear 0.5 and 0.46 for 0.1.
        assert!(close(percent_from_linear(0.5), 79.370));
        assert!(close(percent_from_linear(0.1), 46.416));
        assert!((linear_from_percent(50.0) - 0.125).abs() < 1e-7);
        assert_eq!(linear_from_percent(100.0), 1.0);
        assert_eq!(linear_from_percent(-3.0), 0.0);
        assert_eq!(percent_from_linear(-1.0), 0.0);
    }

    #[test]
    fn level_is_loudest_channel() {
        assert!(close(level(&[0.125, 1.0]), 100.0));
        assert_eq!(level(&[]), 0.0);
    }

    #[test]
    fn steps_land_on_exact_values() {
        let mut ch = vec![1.0f32, 1.0];
        for expected in [95.0, 90.0, 85.0] {
            ch = step(&ch, -5.0, 100.0);
            assert_eq!(tidy(level(&ch)), expected);
        }
        for expected in [90.0, 95.0, 100.0, 100.0] {
            ch = step(&ch, 5.0, 100.0);
            assert_eq!(tidy(level(&ch)), expected);
        }
    }

    #[test]
    fn step_keeps_balance() {
        let ch = vec![linear_from_percent(80.0), linear_from_percent(40.0)];
        let ratio = ch[1] / ch[0];
        let up = step(&ch, 10.0, 150.0);
        assert_eq!(tidy(level(&up)), 90.0);
        assert!(((up[1] / up[0]) - ratio).abs() < 1e-5);
        let down = step(&ch, -10.0, 150.0);
        assert!(((down[1] / down[0]) - ratio).abs() < 1e-5);
    }

    #[test]
    fn cap_is_never_exceeded() {
        let ch = vec![linear_from_percent(98.0); 2];
        assert_eq!(tidy(level(&step(&ch, 5.0, 100.0))), 100.0);
        assert_eq!(tidy(level(&step(&ch, 5.0, 150.0))), 103.0);
        assert_eq!(tidy(level(&set(&ch, 400.0, 150.0))), 150.0);
        // Above the cap through another mixer: up changes nothing, down goes to the cap.
        let loud = vec![linear_from_percent(200.0); 2];
        assert_eq!(step(&loud, 5.0, 150.0), loud);
        assert_eq!(tidy(level(&step(&loud, -5.0, 150.0))), 150.0);
    }

    #[test]
    fn floor_is_zero_and_silence_can_be_raised() {
        let ch = vec![linear_from_percent(3.0); 2];
        let zero = step(&ch, -5.0, 100.0);
        assert_eq!(zero, vec![0.0, 0.0]);
        let back = step(&zero, 5.0, 100.0);
        assert_eq!(tidy(level(&back)), 5.0);
        assert_eq!(back[0], back[1]);
    }

    #[test]
    fn same_channels_tolerates_float_noise() {
        assert!(same_channels(&[0.5, 0.25], &[0.5, 0.250_000_1]));
        assert!(!same_channels(&[0.5], &[0.5, 0.5]));
        assert!(!same_channels(&[0.5], &[0.51]));
    }
}
