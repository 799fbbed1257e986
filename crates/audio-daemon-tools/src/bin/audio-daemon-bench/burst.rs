//! Section 4: key repeat. At 30 and 200 requests/s for a few seconds, each request is a
//! fresh connection, sent on schedule whether or not the previous one was answered (a
//! compositor's key repeat does not wait either). Requests alternate `up 1.5` and
//! `down 1.4`, so the volume drifts upwards and the final value is exact only if every
//! request was applied once. A separate connection polls `stats` to show that the
//! daemon's waiting queue stays bounded, and the set_param count shows coalescing.

use crate::stats::Summary;
use crate::{Bench, PROBE_APP};
use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit::Client;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECTION: &str = "4 burst";
const START: f64 = 20.0;
const UP: f64 = 1.5;
const DOWN: f64 = 1.4;

/// The daemon rounds every level to a hundredth; so does the expectation.
fn tidy(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn one(path: &std::path::Path, req: &Request) -> Result<Duration, String> {
    let t = Instant::now();
    let mut c = Client::connect(path)?;
    c.call(req)?.map_err(|e| e.to_string())?;
    Ok(t.elapsed())
}

fn burst(b: &mut Bench, rate: u32) -> Result<(), String> {
    b.set(PROBE_APP, START)?;
    let n = (f64::from(rate) * b.sizes.burst.as_secs_f64()).round() as usize;
    let stats0 = b.stats()?;
    let stop = Arc::new(AtomicBool::new(false));
    let max_waiting = Arc::new(AtomicU64::new(0));
    let poller = {
        let (stop, max) = (stop.clone(), max_waiting.clone());
        let mut c = b.client()?;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(Ok(Response::Stats(s))) = c.call(&Request::Stats) {
                    max.fetch_max(s.waiting, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut expected = START;
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + interval * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (app, up) = (PROBE_APP.to_owned(), i % 2 == 0);
        let req = if up {
            Request::Up {
                app,
                amount: Some(UP),
            }
        } else {
            Request::Down {
                app,
                amount: Some(DOWN),
            }
        };
        expected = tidy(expected + if up { UP } else { -DOWN });
        let path = b.daemon.socket.clone();
        handles.push(std::thread::spawn(move || one(&path, &req)));
    }
    let mut samples = Vec::with_capacity(n);
    let mut errors = 0;
    for h in handles {
        match h.join().map_err(|_| "a request thread panicked")? {
            Ok(d) => samples.push(d),
            Err(e) => {
                errors += 1;
                eprintln!("audio-daemon-bench: {SECTION}: {e}");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = poller.join();
    let stats1 = b.stats()?;
    let daemon_says = b.app(PROBE_APP)?.volume.unwrap_or(f64::NAN);
    // pw-dump is an independent reader of what PipeWire holds.
    let dumped = b
        .session
        .dump_volume(b.probe_id)
        .and_then(|(ch, _)| ch.iter().copied().reduce(f64::max))
        .map_or(f64::NAN, |lin| lin.max(0.0).cbrt() * 100.0);
    let what = format!("{rate}/s");
    b.report.latency(
        SECTION,
        &format!("{what}: request latency"),
        &Summary::of(&samples),
        None,
    );
    let exact = (daemon_says - expected).abs() < 0.01 && (dumped - expected).abs() < 0.01;
    b.report.value(
        SECTION,
        &format!("{what}: final volume"),
        format!("{daemon_says:.2}"),
        json!({ "expected": expected, "daemon": daemon_says, "pw_dump": dumped, "exact": exact }),
        None,
    );
    b.report.note(format!(
        "daemon; pw-dump {dumped:.2}; expected {expected:.2}: {}",
        if exact { "exact" } else { "WRONG" }
    ));
    let max_waiting = max_waiting.load(Ordering::Relaxed);
    b.report.value(
        SECTION,
        &format!("{what}: waiting max / at end"),
        format!("{max_waiting} / {}", stats1.waiting),
        json!({ "max": max_waiting, "end": stats1.waiting }),
        None,
    );
    let set_params = stats1.set_params - stats0.set_params;
    b.report.value(
        SECTION,
        &format!("{what}: set_params / requests"),
        format!("{set_params} / {n}"),
        json!({ "set_params": set_params, "requests": n,
                "daemon_requests": stats1.requests - stats0.requests }),
        None,
    );
    if errors > 0 {
        b.report
            .fail(SECTION, format!("{what}: {errors} requests failed"));
    }
    if !exact {
        b.report.fail(
            SECTION,
            format!(
                "{what}: final volume daemon {daemon_says}, pw-dump {dumped}, expected {expected}"
            ),
        );
    }
    // Bounded: never more waiting than requests could be in flight at once.
    if stats1.waiting != 0 || max_waiting > n as u64 {
        b.report.fail(
            SECTION,
            format!(
                "{what}: waiting queue max {max_waiting}, {} at end",
                stats1.waiting
            ),
        );
    }
    Ok(())
}

pub fn run(b: &mut Bench) -> Result<(), String> {
    burst(b, 30)?;
    burst(b, 200)
}
