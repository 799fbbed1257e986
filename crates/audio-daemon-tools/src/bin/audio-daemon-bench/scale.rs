//! Section 5: scale and churn.
//!
//! Bulk streams (unlinked, so PipeWire does not mix 1,000 of them) are spread round-robin
//! over 50 apps matched by `application.name=appN`, one helper process per app. At each
//! size the probe app (always one stream) is timed, so only the size of the graph changes;
//! app0, whose stream count grows with the size, is timed as well, once the daemon knows
//! every bulk stream's volume (WirePlumber sets it up after the stream appears).
//!
//! Churn: one helper adds and removes streams as fast as PipeWire gives ids while the
//! probe is timed; afterwards the daemon's `list` must settle on exactly the streams
//! pw-dump shows (none missed, none stale).

use crate::stats::Summary;
use crate::{Bench, BULK_APPS, PROBE_APP};
use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit::{self as testkit, Streams};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECTION: &str = "5 scale";
/// Enough for the daemon to learn about 1,000 streams on a slow machine.
const SETTLE: Duration = Duration::from_secs(30);
/// Enough for WirePlumber to give 1,000 new streams their volume (up to a minute for the
/// last 500 of them on the 2-core benchmark machine, with 0.4 as with 0.5).
const VOLUMES_SETTLE: Duration = Duration::from_secs(180);
/// How long the bench waits for the stack to calm down after the earlier sections.
const BACKLOG_LIMIT: Duration = Duration::from_secs(120);

type Ids = BTreeMap<String, BTreeSet<u32>>;

/// The bulk apps' stream ids as the daemon lists them.
fn daemon_ids(b: &Bench) -> Result<Ids, String> {
    match b.call(&Request::List)? {
        Response::Apps(apps) => Ok(apps
            .into_iter()
            .filter(|a| a.app.starts_with("app"))
            .map(|a| (a.app, a.streams.iter().map(|s| s.id).collect()))
            .collect()),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// The bulk apps' stream nodes as pw-dump shows them.
fn dump_ids(b: &Bench) -> Result<Ids, String> {
    let dump = b.session.pw_dump()?;
    let mut ids = Ids::new();
    for o in dump.as_array().ok_or("pw-dump is not a list")? {
        let props = &o["info"]["props"];
        let (Some(app), Some(id)) = (props["application.name"].as_str(), o["id"].as_u64()) else {
            continue;
        };
        if o["type"] == "PipeWire:Interface:Node"
            && props["media.class"] == "Stream/Output/Audio"
            && app.starts_with("app")
        {
            ids.entry(app.to_owned()).or_default().insert(id as u32);
        }
    }
    Ok(ids)
}

fn total(ids: &Ids) -> usize {
    ids.values().map(BTreeSet::len).sum()
}

/// How many bulk streams the daemon knows a volume for.
fn known_volumes(b: &Bench) -> Result<usize, String> {
    match b.call(&Request::List)? {
        Response::Apps(apps) => Ok(apps
            .iter()
            .filter(|a| a.app.starts_with("app"))
            .flat_map(|a| &a.streams)
            .filter(|s| s.volume.is_some())
            .count()),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// `set` alternating 40/45 on one connection: one sample per request.
fn time_sets(b: &Bench, app: &str, n: usize) -> Result<Vec<Duration>, String> {
    let mut c = b.client()?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let volume = if i % 2 == 0 { 40.0 } else { 45.0 };
        let t = Instant::now();
        c.call(&Request::Set {
            app: app.into(),
            volume,
        })?
        .map_err(|e| format!("set {app}: {e}"))?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

pub fn run(b: &mut Bench) -> Result<(), String> {
    // The earlier sections changed volumes some 100,000 times. WirePlumber handles each
    // change after the daemon has answered, and new streams get their volume only after
    // it is through. 0.5 stayed busy from 11 s to over 5 minutes in runs on the 2-core
    // benchmark machine. That time is reported; the graph then grows on a fresh stack.
    let t = Instant::now();
    let quiet = crate::footprint::quiesce(b.daemon_pid(), BACKLOG_LIMIT);
    let busy = t.elapsed().as_secs_f64();
    b.report.value(
        SECTION,
        "stack busy after the earlier sections",
        format!("{busy:.1} s{}", if quiet { "" } else { " (still busy)" }),
        json!({ "seconds": busy, "quiet": quiet }),
        None,
    );
    b.fresh_stack()?;
    let mut groups: Vec<Streams> = (0..BULK_APPS)
        .map(|i| {
            let name = format!("app{i}");
            b.session
                .streams_with(0, &[("application.name", &name)], false)
        })
        .collect::<Result<_, _>>()?;
    let mut count = 0;
    let mut flat = Vec::new();
    for &size in b.sizes.scale {
        let t = Instant::now();
        while count < size {
            groups[count % BULK_APPS].add()?;
            count += 1;
        }
        let mut seen = 0;
        testkit::wait_until(SETTLE, "the daemon to list every bulk stream", || {
            seen = daemon_ids(b).map_or(0, |ids| total(&ids));
            seen == size
        })
        .map_err(|e| format!("{e} ({seen} of {size})"))?;
        let listed = t.elapsed();
        // A stream's volume arrives once WirePlumber has set it up; until then a set has
        // nothing to change (no_streams), so the timing waits for it.
        let mut known = 0;
        testkit::wait_until(
            VOLUMES_SETTLE,
            "the daemon to know every bulk volume",
            || {
                known = known_volumes(b).unwrap_or(0);
                known == size
            },
        )
        .map_err(|e| format!("{e} ({known} of {size})"))?;
        let ready = t.elapsed();
        crate::footprint::quiesce(b.daemon_pid(), SETTLE);
        let probe = Summary::of(&time_sets(b, PROBE_APP, b.sizes.scale_requests)?);
        let app0 = Summary::of(&time_sets(b, "app0", b.sizes.scale_requests)?);
        b.report
            .latency(SECTION, &format!("{size} streams: set probe"), &probe, None);
        b.report.latency(
            SECTION,
            &format!(
                "{size} streams: set app0 ({} str.)",
                size.div_ceil(BULK_APPS)
            ),
            &app0,
            None,
        );
        b.report.value(
            SECTION,
            &format!("{size} streams: added + listed in"),
            format!("{:.2} s", listed.as_secs_f64()),
            json!(listed.as_secs_f64()),
            None,
        );
        b.report.value(
            SECTION,
            &format!("{size} streams: volumes known in"),
            format!("{:.2} s", ready.as_secs_f64()),
            json!(ready.as_secs_f64()),
            None,
        );
        flat.push(probe.median_us);
    }
    // "Flat": the largest graph's median within 1.5x of the smallest's (noise allowance).
    let (first, last) = (flat[0], flat[flat.len() - 1]);
    let ratio = last / first.max(1.0);
    b.report.value(
        SECTION,
        "probe median, largest / smallest",
        format!("{ratio:.2}x"),
        json!(ratio),
        Some(("flat (<= 1.5x)".into(), ratio <= 1.5)),
    );
    churn(b, groups)
}

/// What the helpers say exists: group i holds app i's streams.
fn helper_ids(groups: &[Streams]) -> Ids {
    groups
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.ids.is_empty())
        .map(|(i, g)| (format!("app{i}"), g.ids.iter().copied().collect()))
        .collect()
}

fn churn(b: &mut Bench, mut groups: Vec<Streams>) -> Result<(), String> {
    let mut group = groups.pop().ok_or("no bulk groups")?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // The churning helper belongs to the last bulk app; its streams come and go while the
    // probe is timed. Keeping a few alive means removals hit streams of every age.
    let churner = std::thread::spawn(move || -> Result<(Streams, usize, usize), String> {
        let (mut added, mut removed) = (0, 0);
        let mut mine = std::collections::VecDeque::new();
        while !s.load(Ordering::Relaxed) {
            mine.push_back(group.add()?);
            added += 1;
            if mine.len() > 4 {
                group.remove(mine.pop_front().expect("non-empty"))?;
                removed += 1;
            }
        }
        Ok((group, added, removed))
    });
    let t = Instant::now();
    let mut samples = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut c = b.client()?;
    let mut i = 0;
    while t.elapsed() < b.sizes.churn {
        let volume = if i % 2 == 0 { 40.0 } else { 45.0 };
        i += 1;
        let t = Instant::now();
        // Errors are counted, not fatal: the settle check below still has to run.
        match c.call(&Request::Set {
            app: PROBE_APP.into(),
            volume,
        })? {
            Ok(_) => samples.push(t.elapsed()),
            Err(e) => {
                if errors.is_empty() {
                    eprintln!("audio-daemon-bench: {SECTION}: set during churn: {e}");
                }
                errors.push(e.kind.to_string());
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let churn_time = t.elapsed().as_secs_f64();
    let (group, added, removed) = churner.join().map_err(|_| "the churn thread panicked")??;
    b.report.latency(
        SECTION,
        "churn: set probe meanwhile",
        &Summary::of(&samples),
        None,
    );
    let rate = (added + removed) as f64 / churn_time;
    b.report.value(
        SECTION,
        "churn: streams added / removed",
        format!("{added} / {removed}"),
        json!({ "added": added, "removed": removed, "per_second": rate }),
        None,
    );
    b.report.note(format!("{rate:.0} changes/s while timing"));
    b.report.value(
        SECTION,
        "churn: failed requests",
        errors.len().to_string(),
        json!(errors),
        None,
    );
    if let Some(kind) = errors.first() {
        b.report.note(format!("first: {kind}"));
        b.report.fail(
            SECTION,
            format!(
                "{} requests failed during churn (first: {kind})",
                errors.len()
            ),
        );
    }
    groups.push(group);
    // Settled when the daemon lists exactly the streams the helpers hold (polling the
    // daemon is cheap; pw-dump of 1,000 nodes is not), then pw-dump must agree too.
    let expected = helper_ids(&groups);
    let settle = Instant::now();
    let mut daemon = Ids::new();
    let settled = testkit::wait_until(Duration::from_secs(10), "the daemon to settle", || {
        daemon = daemon_ids(b).unwrap_or_default();
        daemon == expected
    });
    let settle_ms = settle.elapsed().as_secs_f64() * 1000.0;
    let dump = dump_ids(b)?;
    let all = |ids: &Ids| -> BTreeSet<u32> { ids.values().flatten().copied().collect() };
    let (d, p, h) = (all(&daemon), all(&dump), all(&expected));
    let missed = p.difference(&d).count();
    let stale = d.difference(&p).count();
    // The helpers' view must agree with pw-dump too, or the check proves nothing.
    let helper_vs_dump = h.symmetric_difference(&p).count();
    b.report.value(
        SECTION,
        "churn: missed / stale after settle",
        format!("{missed} / {stale}"),
        json!({ "missed": missed, "stale": stale, "streams": p.len(),
                "settle_ms": settle_ms, "helpers_vs_pw_dump": helper_vs_dump }),
        None,
    );
    b.report.note(format!(
        "of {} streams in pw-dump; daemon settled {settle_ms:.0} ms after churn",
        p.len()
    ));
    if settled.is_err() || missed > 0 || stale > 0 || daemon != dump {
        b.report.fail(
            SECTION,
            format!("after churn the daemon missed {missed} and kept {stale} stale streams"),
        );
    }
    if helper_vs_dump > 0 {
        b.report.fail(
            SECTION,
            format!("{helper_vs_dump} streams differ between the helpers and pw-dump"),
        );
    }
    drop(groups);
    Ok(())
}
