//! Section 7: many clients at once. Each client thread keeps one connection and sends
//! `up 0.2` / `down 0.2` alternately; an even count per client means the app must end
//! exactly where it started, which checks that no request was lost or applied twice
//! under contention. The daemon's memory and CPU around these requests feed section 6.

use crate::footprint::{cpu_seconds, Load, Mem};
use crate::stats::Summary;
use crate::{Bench, PROBE_APP};
use audio_daemon_ipc::Request;
use serde_json::json;
use std::time::{Duration, Instant};

const SECTION: &str = "7 concurrency";
const START: f64 = 50.0;
/// Small enough that 100 clients all "up" at once stay far below the cap.
const STEP: f64 = 0.2;

fn client(path: std::path::PathBuf, count: usize) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(count);
    let mut errors = 0;
    let mut c = match audio_daemon_testkit::Client::connect(&path) {
        Ok(c) => c,
        Err(_) => return (samples, count),
    };
    for i in 0..count {
        let app = PROBE_APP.to_owned();
        let amount = Some(STEP);
        let req = if i % 2 == 0 {
            Request::Up { app, amount }
        } else {
            Request::Down { app, amount }
        };
        let t = Instant::now();
        let r = c.call(&req);
        samples.push(t.elapsed());
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                errors += 1;
                if errors == 1 {
                    eprintln!("audio-daemon-bench: {SECTION}: {e}");
                }
            }
            // A broken connection loses the rest of this client's requests.
            Err(e) => {
                eprintln!("audio-daemon-bench: {SECTION}: {e}");
                return (samples, errors + count - i);
            }
        }
    }
    (samples, errors)
}

/// All clients at once; returns the samples, the error count and the wall time.
fn round(
    b: &Bench,
    clients: usize,
    per: usize,
) -> Result<(Vec<Duration>, usize, Duration), String> {
    let t = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let path = b.daemon.socket.clone();
            std::thread::spawn(move || client(path, per))
        })
        .collect();
    let mut samples = Vec::with_capacity(clients * per);
    let mut errors = 0;
    for h in handles {
        let (s, e) = h.join().map_err(|_| "a client thread panicked")?;
        samples.extend(s);
        errors += e;
    }
    Ok((samples, errors, t.elapsed()))
}

pub fn run(b: &mut Bench) -> Result<(), String> {
    b.set(PROBE_APP, START)?;
    let pid = b.daemon_pid();
    // Even, so that every client's ups and downs cancel out.
    let per = b.sizes.per_client & !1;
    let clients = b.sizes.clients;
    let requests = clients * per;
    let before = Mem::of(pid);
    let stats0 = b.stats()?;
    let cpu0 = cpu_seconds(pid)?;
    let (samples, mut errors, wall) = round(b, clients, per)?;
    let cpu = cpu_seconds(pid)? - cpu0;
    let stats1 = b.stats()?;
    let after = Mem::of(pid);
    // A second identical round: memory that grows again here grows per request (a
    // leak); memory that only grew in the first round is the high-water mark of 100
    // connections at once, kept by the allocator.
    let (_, again_errors, _) = round(b, clients, per)?;
    errors += again_errors;
    b.load = Some(Load {
        before,
        after,
        after_again: Mem::of(pid),
        requests,
        cpu_seconds: cpu,
    });
    let s = Summary::of(&samples);
    b.report.latency(
        SECTION,
        &format!("{clients} clients x {per} up/down"),
        &s,
        None,
    );
    b.report.value(
        SECTION,
        "errors (both rounds)",
        errors.to_string(),
        json!(errors),
        Some(("zero".into(), errors == 0)),
    );
    let rate = requests as f64 / wall.as_secs_f64();
    b.report.value(
        SECTION,
        "throughput",
        format!("{rate:.0} req/s"),
        json!({ "requests_per_second": rate, "seconds": wall.as_secs_f64() }),
        None,
    );
    let set_params = stats1.set_params - stats0.set_params;
    b.report.value(
        SECTION,
        "set_params / requests (coalescing)",
        format!("{set_params} / {requests}"),
        json!({ "set_params": set_params, "requests": requests }),
        None,
    );
    let end = b.app(PROBE_APP)?.volume.unwrap_or(f64::NAN);
    b.report.value(
        SECTION,
        "final volume (expected 50)",
        format!("{end:.2}"),
        json!(end),
        None,
    );
    if errors > 0 {
        b.report.fail(SECTION, format!("{errors} requests failed"));
    }
    if (end - START).abs() > 0.01 {
        b.report
            .fail(SECTION, format!("volume ended at {end}, expected {START}"));
    }
    Ok(())
}
