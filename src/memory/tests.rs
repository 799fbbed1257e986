//! The memory model without files or PipeWire.

use super::*;
use crate::volume::{level, linear_from_percent};

fn vol(pcts: &[f64], mute: bool) -> Volume {
    Volume {
        channels: pcts.iter().map(|&p| linear_from_percent(p)).collect(),
        mute,
    }
}

fn pct(v: &Volume) -> f64 {
    (level(&v.channels) * 100.0).round() / 100.0
}

#[test]
fn remembers_level_balance_and_mute() {
    let r = Remembered::of(&vol(&[80.0, 40.0], true));
    assert_eq!(r.volume, 80.0);
    assert!(r.muted);
    assert_eq!(r.ratios.len(), 2);
    assert_eq!(r.ratios[0], 1.0);
    assert!((r.ratios[1] - 0.125).abs() < 1e-6, "{:?}", r.ratios);
}

#[test]
fn applying_keeps_the_remembered_balance_for_the_same_layout() {
    let r = Remembered::of(&vol(&[60.0, 30.0], false));
    // A new stereo stream at WirePlumber's default (100 %, centred).
    let v = r.apply_to(&[1.0, 1.0], 100.0);
    assert_eq!(pct(&v), 60.0);
    assert!((v.channels[1] / v.channels[0] - 0.125).abs() < 1e-5);
    assert!(!v.mute);
}

#[test]
fn another_layout_keeps_its_own_balance() {
    let r = Remembered::of(&vol(&[50.0, 50.0], false));
    let six = [1.0, 0.5, 1.0, 1.0, 1.0, 1.0];
    let v = r.apply_to(&six, 100.0);
    assert_eq!(v.channels.len(), 6);
    assert_eq!(pct(&v), 50.0);
    assert!((v.channels[1] / v.channels[0] - 0.5).abs() < 1e-5);
}

#[test]
fn the_cap_wins_over_the_memory() {
    let r = Remembered::of(&vol(&[140.0, 140.0], false));
    assert_eq!(pct(&r.apply_to(&[1.0, 1.0], 100.0)), 100.0);
    assert_eq!(pct(&r.apply_to(&[1.0, 1.0], 150.0)), 140.0);
}

#[test]
fn silence_is_remembered_as_centred() {
    let r = Remembered::of(&vol(&[0.0, 0.0], false));
    assert_eq!((r.volume, r.ratios.clone()), (0.0, vec![1.0, 1.0]));
    assert_eq!(r.apply_to(&[1.0, 1.0], 100.0).channels, vec![0.0, 0.0]);
}

#[test]
fn record_reports_only_real_changes_and_forget_drops() {
    let mut m = Memory::default();
    assert!(m.record("youtube", Remembered::of(&vol(&[42.0, 42.0], false))));
    // The same value, give or take float noise: nothing to write.
    assert!(!m.record("youtube", Remembered::of(&vol(&[42.000_01, 42.0], false))));
    assert!(m.record("youtube", Remembered::of(&vol(&[42.0, 42.0], true))));
    assert!(m.record("twitch", Remembered::of(&vol(&[10.0, 10.0], false))));
    assert!(m.forget("twitch"));
    assert!(!m.forget("twitch"));
    assert_eq!(m.forget_all(), vec!["youtube".to_owned()]);
    assert!(m.is_empty());
}
