//! Section 8, restore: how soon a new stream of a remembered app has the app's
//! remembered volume.
//!
//! The observer is the bench's own PipeWire connection ([`crate::rawpw`]), not the
//! daemon: t0 is when the new node's global reaches it through the registry (the moment
//! any client, the daemon included, can first know of the node), t1 when the node's own
//! Props event first carries the remembered gains. Each round's stream has a media.role
//! of its own, so WirePlumber has nothing stored under its key (0.4 restores nothing,
//! 0.5 its default of 100 %): every 40 % the observer sees is the daemon's. The race
//! against a value WirePlumber did store is what the integration tests cover
//! (tests/remember.rs).

use crate::stats::{channels_at, linear, Summary};
use crate::Bench;
use std::time::{Duration, Instant};

const SECTION: &str = "8 restore";
/// A Firefox tab the built-in `youtube` rule matches.
const TITLE: &str = "bench - YouTube";
const REMEMBERED: f64 = 40.0;

pub fn run(b: &mut Bench) -> Result<(), String> {
    let rounds = if b.quick { 10 } else { 200 };
    let tab = |role: &str| {
        let props = [
            ("application.name", "Firefox"),
            ("media.name", TITLE),
            ("media.role", role),
        ];
        b.session.streams(1, &props)
    };
    // The app's volume, set once through the daemon, which remembers it.
    let first = tab("bench-restore")?;
    let id = first.ids[0];
    crate::testkit::wait_until(Duration::from_secs(5), "the daemon to see the tab", || {
        b.app("youtube")
            .is_ok_and(|a| a.streams.iter().any(|s| s.id == id && s.volume.is_some()))
    })?;
    b.set("youtube", REMEMBERED)?;
    drop(first);
    let target = linear(REMEMBERED);
    // (A registry global carries only some properties: media.role, not media.name.)
    b.observer.watch_new("media.role", "bench-restore-");
    let (mut total, mut negotiated, mut reaction) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let st = tab(&format!("bench-restore-{round}"))?;
        let id = st.ids[0];
        let t = wait_restored(b, id, target)
            .ok_or_else(|| format!("round {round}: node {id} never showed {REMEMBERED} %"))?;
        total.push(t.applied - t.appeared);
        negotiated.push(t.channels - t.appeared);
        reaction.push(t.applied - t.channels);
    }
    b.observer.unwatch_new();
    b.report.latency(
        SECTION,
        "node appears -> remembered volume",
        &Summary::of(&total),
        None,
    );
    b.report.latency(
        SECTION,
        "  of which: appears -> channels known",
        &Summary::of(&negotiated),
        None,
    );
    b.report.latency(
        SECTION,
        "  of which: channels known -> applied",
        &Summary::of(&reaction),
        None,
    );
    Ok(())
}

/// When one new node was seen by the observer.
struct Times {
    /// Its registry global.
    appeared: Instant,
    /// Its first Props with channel volumes: the format is set, the channel count known
    /// (what the daemon waits for; the first Props of a new stream has none).
    channels: Instant,
    /// Its first Props at the remembered gains.
    applied: Instant,
}

fn wait_restored(b: &Bench, id: u32, target: f32) -> Option<Times> {
    let end = Instant::now() + Duration::from_secs(5);
    let (mut appeared, mut channels) = (None, None);
    loop {
        let left = end.checked_duration_since(Instant::now())?;
        match b.observer.next(left)? {
            crate::rawpw::Seen::Appeared(n, t) if n == id => appeared = Some(t),
            // Ids are reused: events before this node's global are an earlier node's.
            crate::rawpw::Seen::NodeProps(n, ch, t) if n == id && appeared.is_some() => {
                if !ch.is_empty() && channels.is_none() {
                    channels = Some(t);
                }
                if channels_at(&ch, target) {
                    return Some(Times {
                        appeared: appeared?,
                        channels: channels?,
                        applied: t,
                    });
                }
            }
            _ => {}
        }
    }
}
