//! A `set` flood on a 50-stream app, unpaced (the daemon before issue 13) and paced (the
//! default), each on a fresh PipeWire + WirePlumber: WirePlumber saves stream state on
//! every change a stream reports, so its CPU and memory are what the flood costs.

use crate::keypress::Keypress;
use crate::{cpu_ticks, status_kib, Harness, Row, Sizes};
use audio_daemon::config::DEFAULT_RATE_LIMIT;
use audio_daemon::state::PACE_BURST;
use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit::{wait_until, Client};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const STREAMS: usize = 50;
const CLIENTS: usize = 4;
/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux).
const HZ: f64 = 100.0;

pub fn run(bin_dir: &Path, sizes: &Sizes) -> Vec<Row> {
    [(false, "null"), (true, "60 (default)")]
        .into_iter()
        .map(|(paced, rate)| match one(bin_dir, sizes, paced) {
            Ok(row) => row,
            Err(e) => Row {
                attack: format!("set flood, rate_limit {rate}"),
                count: "-".into(),
                outcome: Err(e),
                keypress: "-".into(),
            },
        })
        .collect()
}

fn set_params(h: &Harness) -> u64 {
    match h.call(&Request::Stats) {
        Ok(Ok(Response::Stats(s))) => s.set_params,
        _ => 0,
    }
}

fn one(bin_dir: &Path, sizes: &Sizes, paced: bool) -> Result<Row, String> {
    let rate = if paced { "" } else { r#","rate_limit":null"# };
    let config = format!(
        r#"{{"waybar_signal":null{rate},"apps":{{"flood":{{"match":[{{"application.name":"floodapp"}}]}}}}}}"#
    );
    let h = Harness::start(bin_dir, &config)?;
    let flood = h.session.streams(
        STREAMS,
        &[
            ("application.name", "floodapp"),
            ("media.role", "atk-flood"),
        ],
    )?;
    wait_until(
        Duration::from_secs(20),
        "the daemon to see 50 streams",
        || {
            matches!(h.call(&Request::Get { app: "flood".into() }),
            Ok(Ok(Response::App(a))) if a.streams.len() == STREAMS && a.volume.is_some())
        },
    )?;
    let wp = h.session.pid_of("wireplumber").ok_or("no wireplumber")?;
    let keys = Keypress::start(h.daemon.socket.clone());
    let (ticks0, rss0, sp0) = (cpu_ticks(wp), status_kib(wp, "VmRSS:"), set_params(&h));
    let (stop, requests, errors) = (
        AtomicBool::new(false),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let start = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let (stop, requests, errors, socket) = (&stop, &requests, &errors, &h.daemon.socket);
            scope.spawn(move || {
                let Ok(mut client) = Client::connect(socket) else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let req = Request::Set {
                        app: "flood".into(),
                        volume: 20.0 + (i % 60) as f64,
                    };
                    match client.call(&req) {
                        Ok(Ok(_)) => requests.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                    i += CLIENTS;
                }
            });
        }
        // The flood's length is the measurement window, not a synchronisation.
        std::thread::sleep(sizes.flood);
        stop.store(true, Ordering::Relaxed);
    });
    let flood_secs = start.elapsed().as_secs_f64();
    let ticks1 = cpu_ticks(wp);
    let seen = keys.take();
    // The last value lands exactly, as pw-dump shows for every stream.
    let last = h.call(&Request::Set {
        app: "flood".into(),
        volume: 33.0,
    });
    let sent = set_params(&h) - sp0;
    // Pacing keeps sending queued targets until the final set is confirmed: the bucket
    // refills over the whole time up to this count, not only over the flood.
    let counted_secs = start.elapsed().as_secs_f64();
    // WirePlumber keeps saving after the flood: watch until it is quiet (2 % of a core
    // over half a second), for up to `sizes.calm` (a measurement, not a pass or fail:
    // WirePlumber 0.5 stays busy for over 100 s after an unpaced flood, and this row's
    // PipeWire and WirePlumber are stopped with it either way).
    let after = Instant::now();
    let mut prev = cpu_ticks(wp);
    let mut quiet_since = None;
    let calm = wait_until(sizes.calm, "WirePlumber to calm down", || {
        std::thread::sleep(Duration::from_millis(500)); // a sampling window
        let now = cpu_ticks(wp);
        let quiet = now - prev <= 1;
        prev = now;
        if quiet {
            quiet_since.get_or_insert(after.elapsed());
        } else {
            quiet_since = None;
        }
        quiet
    });
    let busy_after = quiet_since.unwrap_or(after.elapsed());
    let still = if calm.is_ok() { "" } else { ", still busy" };
    let ticks2 = cpu_ticks(wp);
    let (rss1, hwm) = (status_kib(wp, "VmRSS:"), status_kib(wp, "VmHWM:"));
    let mut problems = Vec::new();
    if !matches!(last, Ok(Ok(_))) {
        problems.push(format!("final set: {last:?}"));
    }
    let off: Vec<u32> = flood
        .ids
        .iter()
        .copied()
        .filter(|&id| {
            h.session
                .dump_volume(id)
                .is_none_or(|(ch, _)| ch.iter().any(|c| (c - 0.33f64.powi(3)).abs() > 1e-4))
        })
        .collect();
    if !off.is_empty() {
        problems.push(format!(
            "{} streams not at the final 33 %: {off:?}",
            off.len()
        ));
    }
    let errors = errors.load(Ordering::Relaxed);
    if errors > 0 {
        problems.push(format!("{errors} flood requests failed"));
    }
    if paced {
        // Per stream: the burst, then the rate, from the flood's start to the count (the
        // final set included); plus the timed keypress client's presses, each at most
        // one set_param on its own stream, which the daemon's count includes too.
        let presses = (seen.count + seen.failed.len()) as f64;
        let allowed =
            STREAMS as f64 * (PACE_BURST + 1.0 + DEFAULT_RATE_LIMIT * counted_secs) + presses;
        if sent as f64 > allowed {
            problems.push(format!("{sent} set_params, pacing allows {allowed:.0}"));
        }
    }
    let pct = |ticks: u64, secs: f64| 100.0 * ticks as f64 / HZ / secs.max(0.001);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let summary = format!(
        "WirePlumber: {:.0} % CPU during, busy {:.1} s after{still} ({:.1} s of CPU), RSS {:.1} -> {:.1} MiB (peak {:.1})",
        pct(ticks1 - ticks0, flood_secs),
        busy_after.as_secs_f64(),
        (ticks2 - ticks1) as f64 / HZ,
        mib(rss0),
        mib(rss1),
        mib(hwm)
    );
    Ok(Row {
        attack: format!(
            "set flood, {}",
            if paced { "paced 60/s" } else { "unpaced" }
        ),
        count: format!(
            "{} requests, {sent} set_params in {flood_secs:.0} s",
            requests.load(Ordering::Relaxed)
        ),
        outcome: if problems.is_empty() {
            Ok(summary)
        } else {
            Err(format!("{}; {summary}", problems.join("; ")))
        },
        keypress: seen.cell(),
    })
}
