//! The daemon's log lines that a peer can cause (a bound key with an unknown id, a bad
//! binding, a PipeWire error for each vanished stream, a subscriber that stops reading):
//! rate-limited per kind, with a count of what was left out, so that a flood of them,
//! distinct or alternating, costs the journal a few lines a minute and no more.
//!
//! Lines about the daemon's own life (started, reloaded, lost PipeWire) are rare by
//! nature and go straight to stderr.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a line is about: the unit of the limit. A flood of distinct messages of one
/// kind (10k unknown key ids) is still one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A compositor binding or shortcut that names no key, or cannot be parsed.
    Binding,
    /// A key's request failed, with nobody waiting for the reply.
    KeyRequest,
    /// PipeWire refused an operation on an object (most often one that just went away).
    PipeWireObject,
    /// A subscriber was dropped for not reading its events.
    Subscriber,
}

/// Lines of one kind shown per window; the rest are counted.
pub const BURST: u32 = 5;
/// The window: after it, the next line of the kind is shown with the count left out.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    shown: u32,
    left_out: u64,
}

impl Window {
    fn starting(now: Instant) -> Window {
        Window {
            start: now,
            shown: 0,
            left_out: 0,
        }
    }
}

/// Per-kind windows (the pure part, tested with explicit times).
#[derive(Default)]
pub struct Limiter {
    windows: HashMap<Kind, Window>,
}

impl Limiter {
    /// The line to write for `message` of `kind` at `now`, or `None` if it is left out
    /// (counted). `message` is only built for a line that is written.
    pub fn admit(
        &mut self,
        kind: Kind,
        now: Instant,
        message: impl FnOnce() -> String,
    ) -> Option<String> {
        let w = self.windows.entry(kind).or_insert(Window::starting(now));
        let mut earlier = 0;
        if now.saturating_duration_since(w.start) >= WINDOW {
            earlier = w.left_out;
            *w = Window::starting(now);
        }
        if w.shown >= BURST {
            w.left_out += 1;
            return None;
        }
        w.shown += 1;
        let mut line = message();
        if earlier > 0 {
            line.push_str(&format!(
                " ({earlier} more like this were not logged in the minute before)"
            ));
        }
        if w.shown == BURST {
            line.push_str(&format!(
                " (more like this in the next {}s are counted, not logged)",
                WINDOW.as_secs()
            ));
        }
        Some(line)
    }
}

/// The daemon's limiter: one for every thread (the PipeWire thread logs too). A lock
/// taken only to log, never held across anything else.
static LIMITER: Mutex<Option<Limiter>> = Mutex::new(None);

/// Writes `message` to stderr unless its kind has had its share of lines this minute.
pub fn warn(kind: Kind, message: impl FnOnce() -> String) {
    let mut guard = LIMITER.lock().unwrap_or_else(|p| p.into_inner());
    let line = guard
        .get_or_insert_with(Limiter::default)
        .admit(kind, Instant::now(), message);
    drop(guard);
    if let Some(line) = line {
        eprintln!("audio-daemon: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(l: &mut Limiter, kind: Kind, at: Instant, msg: &str) -> Option<String> {
        l.admit(kind, at, || msg.to_owned())
    }

    #[test]
    fn a_flood_of_distinct_messages_of_one_kind_gets_a_burst_then_a_count() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        let lines: Vec<String> = (0..10_000)
            .filter_map(|i| shown(&mut l, Kind::Binding, t0, &format!("no key \"k{i}\"")))
            .collect();
        assert_eq!(lines.len(), BURST as usize, "{lines:?}");
        assert!(
            lines[BURST as usize - 1].contains("are counted"),
            "{lines:?}"
        );
        // The next window's first line says how many were left out.
        let next = shown(&mut l, Kind::Binding, t0 + WINDOW, "no key \"x\"").unwrap();
        assert!(
            next.contains(&format!("({} more like this", 10_000 - BURST)),
            "{next}"
        );
        let after = shown(&mut l, Kind::Binding, t0 + WINDOW, "no key \"y\"").unwrap();
        assert!(!after.contains("more like this"), "{after}");
    }

    #[test]
    fn alternating_messages_are_limited_and_kinds_are_limited_apart() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        let mut binding = 0;
        for i in 0..4_000 {
            let msg = if i % 2 == 0 {
                "bad bind a"
            } else {
                "bad bind b"
            };
            binding += usize::from(shown(&mut l, Kind::Binding, t0, msg).is_some());
        }
        assert_eq!(binding, BURST as usize);
        // Another kind still has its own share.
        assert!(shown(&mut l, Kind::PipeWireObject, t0, "unknown resource").is_some());
        // Within the window, still nothing of the flooded kind.
        let late = t0 + WINDOW - Duration::from_millis(1);
        assert!(shown(&mut l, Kind::Binding, late, "bad bind a").is_none());
    }
}
