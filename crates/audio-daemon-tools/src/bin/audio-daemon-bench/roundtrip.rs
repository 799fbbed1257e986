//! Sections 2 and 3: the daemon's own round trip, its floor, and visibility.
//!
//! Round trip: on one connection, `set` alternating 40 % and 45 %, so every request
//! really changes the volume and is answered only after PipeWire confirmed it. The floor
//! is the same change made by the bench itself on its own PipeWire connection:
//! `set_param(Props)` on the probe node, until the node's Props param event shows the new
//! gains (the daemon's definition of "applied"); both instants are taken on the bench's
//! PipeWire thread, so the floor has no cross-thread hop in it.
//! Visibility: request written to the socket → the bench's independent connection sees
//! the new gains in the node's Props.

use crate::footprint;
use crate::report::Target;
use crate::stats::{linear, Summary};
use crate::{Bench, PROBE_APP};
use audio_daemon_ipc::{Request, Response};
use serde_json::json;
use std::time::{Duration, Instant};

const LEVELS: [f64; 2] = [40.0, 45.0];
/// Longer than any plausible confirmation; a miss is counted, not waited for forever.
const CONFIRM: Duration = Duration::from_secs(2);

pub fn run(b: &mut Bench) -> Result<(), String> {
    const SECTION: &str = "2 round trip";
    // The bench's node proxy would add its own Props traffic to what is being timed.
    b.observer.unwatch();
    b.set(PROBE_APP, 50.0)?;
    let pid = b.daemon_pid();
    let mut c = b.client()?;
    let mut samples = Vec::with_capacity(b.sizes.roundtrip);
    let mut wrong = 0usize;
    let cpu0 = footprint::cpu_seconds(pid)?;
    for i in 0..b.sizes.roundtrip {
        let volume = LEVELS[i % 2];
        let req = Request::Set {
            app: PROBE_APP.into(),
            volume,
        };
        let t = Instant::now();
        let reply = c.call(&req)?;
        samples.push(t.elapsed());
        match reply {
            Ok(Response::App(a)) if a.volume.is_some_and(|v| (v - volume).abs() < 0.01) => {}
            other => {
                wrong += 1;
                if wrong == 1 {
                    eprintln!("audio-daemon-bench: {SECTION}: unexpected reply {other:?}");
                }
            }
        }
    }
    let cpu = footprint::cpu_seconds(pid)? - cpu0;
    let s = Summary::of(&samples);
    let target: Target = Some((
        "p50 <= 200 us, p99 <= 1 ms".into(),
        s.median_us <= 200.0 && s.p99_us <= 1000.0,
    ));
    b.report
        .latency(SECTION, "daemon set, one connection", &s, target);
    let per_1000 = cpu * 1000.0 / samples.len().max(1) as f64;
    b.report.value(
        SECTION,
        "daemon CPU per 1000 sets",
        format!("{:.1} ms", per_1000 * 1000.0),
        json!(per_1000),
        None,
    );
    if wrong > 0 {
        b.report
            .fail(SECTION, format!("{wrong} replies without the set volume"));
    }

    // The floor, on the bench's own connection.
    b.observer.watch(b.probe_id);
    b.set(PROBE_APP, 50.0)?;
    if b.observer.wait_for(linear(50.0), CONFIRM).is_none() {
        return Err("the bench's PipeWire connection never saw the probe's Props".into());
    }
    let mut floor = Vec::with_capacity(b.sizes.raw);
    let mut missed = 0usize;
    for i in 0..b.sizes.raw {
        let target = linear(LEVELS[i % 2]);
        b.observer.drain();
        // The probe is a stereo stream (audio-daemon-streams' default).
        b.observer.set(vec![target; 2]);
        match b.observer.wait_for(target, CONFIRM) {
            Some((seen, Some(sent))) => floor.push(seen.saturating_duration_since(sent)),
            _ => missed += 1,
        }
    }
    let f = Summary::of(&floor);
    b.report
        .latency(SECTION, "raw floor: set_param -> Props", &f, None);
    let ratio = s.median_us / f.median_us.max(1.0);
    b.report.value(
        SECTION,
        "daemon / floor (medians)",
        format!("{ratio:.2}x"),
        json!(ratio),
        None,
    );
    if missed > 0 {
        b.report
            .fail(SECTION, format!("{missed} raw set_params never showed up"));
    }
    Ok(())
}

pub fn visibility(b: &mut Bench) -> Result<(), String> {
    const SECTION: &str = "3 visibility";
    b.observer.watch(b.probe_id);
    b.set(PROBE_APP, 50.0)?;
    if b.observer.wait_for(linear(50.0), CONFIRM).is_none() {
        return Err("the bench's PipeWire connection never saw the probe's Props".into());
    }
    let mut c = b.client()?;
    let (mut seen, mut replied) = (Vec::new(), Vec::new());
    let mut missed = 0usize;
    for i in 0..b.sizes.visibility {
        let volume = LEVELS[i % 2];
        b.observer.drain();
        let t = Instant::now();
        c.call(&Request::Set {
            app: PROBE_APP.into(),
            volume,
        })?
        .map_err(|e| e.to_string())?;
        replied.push(t.elapsed());
        match b.observer.wait_for(linear(volume), CONFIRM) {
            Some((at, _)) => seen.push(at.saturating_duration_since(t)),
            None => missed += 1,
        }
    }
    b.observer.unwatch();
    b.report.latency(
        SECTION,
        "request -> other client sees",
        &Summary::of(&seen),
        None,
    );
    b.report.latency(
        SECTION,
        "request -> reply (same run)",
        &Summary::of(&replied),
        None,
    );
    if missed > 0 {
        b.report.fail(
            SECTION,
            format!("{missed} changes never seen by another client"),
        );
    }
    Ok(())
}
