//! Section 6: the daemon's memory, CPU and idle wake-ups, read from /proc.
//!
//! Memory is VmRSS and RssAnon (the private part: heap and stacks, what the daemon itself
//! costs; the rest is shared libraries). CPU is utime+stime of /proc/PID/stat, which
//! includes threads that have exited. Wake-ups are context switches summed over
//! /proc/PID/task/*/status; a thread that exits during the window woke at least once to
//! do so, so it counts as one.

use crate::Bench;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const SECTION: &str = "6 footprint";

/// Resident memory in KiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Mem {
    pub rss_kib: u64,
    pub anon_kib: u64,
}

impl Mem {
    pub fn of(pid: u32) -> Mem {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| {
                    l.strip_prefix(name)?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        Mem {
            rss_kib: field("VmRSS:"),
            anon_kib: field("RssAnon:"),
        }
    }
}

/// The daemon around the concurrency section's requests.
pub struct Load {
    pub before: Mem,
    pub after: Mem,
    /// After a second, identical batch of requests.
    pub after_again: Mem,
    pub requests: usize,
    pub cpu_seconds: f64,
}

/// utime + stime of the whole process, in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may contain spaces; fields are counted after its ')'.
    let rest = stat.rsplit_once(')').ok_or("odd /proc stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let total = ticks(11) + ticks(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    Ok(total as f64 / hz as f64)
}

/// Context switches (voluntary + involuntary) per thread id, with the thread's name.
fn switches(pid: u32) -> HashMap<String, (String, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            let n: u64 = status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
            let name = status
                .lines()
                .find_map(|l| l.strip_prefix("Name:"))
                .unwrap_or("?")
                .trim()
                .to_owned();
            Some((e.file_name().to_string_lossy().into_owned(), (name, n)))
        })
        .collect()
}

/// Quiet time before the idle window starts.
const IDLE_LEAD_IN: Duration = Duration::from_secs(1);

/// Wake-ups of the daemon over `window` while nothing talks to it, in total and per
/// thread name (to tell whose they are).
fn idle_wakeups(pid: u32, window: Duration) -> (u64, BTreeMap<String, u64>, usize) {
    let before = switches(pid);
    std::thread::sleep(window);
    let after = switches(pid);
    let mut by_name = BTreeMap::new();
    for (tid, (name, n)) in &after {
        let was = before.get(tid).map_or(0, |(_, b)| *b).min(*n);
        if n > &was {
            *by_name.entry(name.clone()).or_default() += n - was;
        }
    }
    for (tid, (name, _)) in &before {
        if !after.contains_key(tid) {
            *by_name.entry(format!("{name} (exited)")).or_default() += 1;
        }
    }
    (by_name.values().sum(), by_name, after.len())
}

/// PipeWire and WirePlumber of this bench's session: its children by those names.
fn session_pids() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let comm = head.split_once('(').map_or("", |(_, c)| c);
            // nixpkgs may run them wrapped: `.wireplumber-wrapped`, which the kernel cuts
            // to `.wireplumber-wr` (15 bytes).
            let name = comm
                .strip_prefix('.')
                .and_then(|c| c.split_once("-wr"))
                .map_or(comm, |(n, _)| n);
            let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
            ppid == Some(me) && matches!(name, "pipewire" | "wireplumber")
        })
        .collect()
}

/// Waits (at most `limit`) until PipeWire, WirePlumber and the daemon have stopped
/// working, i.e. used under one clock tick over 200 ms: after a graph change WirePlumber
/// keeps busy for a while, and timing then would measure its work, not the daemon's.
pub fn quiesce(daemon: u32, limit: Duration) -> bool {
    let mut pids = session_pids();
    pids.push(daemon);
    let busy = || -> f64 { pids.iter().filter_map(|&p| cpu_seconds(p).ok()).sum() };
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        let before = busy();
        std::thread::sleep(Duration::from_millis(200));
        if busy() - before < 0.015 {
            return true;
        }
    }
    false
}

pub fn run(b: &mut Bench, fresh: Mem) -> Result<(), String> {
    let pid = b.daemon_pid();
    let kib = |k: u64| format!("{:.2} MiB", k as f64 / 1024.0);
    let r = &mut b.report;
    r.value(
        SECTION,
        "RSS, fresh",
        kib(fresh.rss_kib),
        json!(fresh.rss_kib),
        Some(("<= 8 MB".into(), fresh.rss_kib * 1024 <= 8_000_000)),
    );
    r.value(
        SECTION,
        "private (RssAnon), fresh",
        kib(fresh.anon_kib),
        json!(fresh.anon_kib),
        Some(("<= 2 MB".into(), fresh.anon_kib * 1024 <= 2_000_000)),
    );
    if let Some(l) = b.load.take() {
        let after = l.after;
        r.value(
            SECTION,
            &format!("RSS after {} more requests", l.requests),
            kib(after.rss_kib),
            json!(after.rss_kib),
            Some(("<= 8 MB".into(), after.rss_kib * 1024 <= 8_000_000)),
        );
        r.value(
            SECTION,
            &format!("private after {} more requests", l.requests),
            kib(after.anon_kib),
            json!(after.anon_kib),
            Some(("<= 2 MB".into(), after.anon_kib * 1024 <= 2_000_000)),
        );
        let first = after.anon_kib as i64 - l.before.anon_kib as i64;
        let again = l.after_again.anon_kib as i64 - after.anon_kib as i64;
        r.value(
            SECTION,
            "private growth: 1st / 2nd batch",
            format!("{first} / {again} KiB"),
            json!({ "first_kib": first, "second_kib": again }),
            // The first batch sets the allocator's high-water mark; a leak shows in the
            // second. Allocator noise is a few pages.
            Some(("no growth (2nd < 64 KiB)".into(), again < 64)),
        );
        let per_1000 = l.cpu_seconds * 1000.0 / l.requests.max(1) as f64;
        r.value(
            SECTION,
            "CPU per 1000 requests (concurrent)",
            format!("{:.1} ms", per_1000 * 1000.0),
            json!(per_1000),
            None,
        );
    }
    let window = b.sizes.idle;
    // "Idle" starts after a quiet second: right after traffic the async runtime's driver
    // thread backs off over ~10 ms (a few parks) before blocking, which is the tail of the
    // last request, not an idle wake-up.
    std::thread::sleep(IDLE_LEAD_IN);
    let (woke, by_name, threads) = idle_wakeups(pid, window);
    let whose: Vec<String> = by_name.iter().map(|(n, c)| format!("{n} {c}")).collect();
    r.value(
        SECTION,
        &format!(
            "idle wake-ups over {} s (after 1 s quiet)",
            window.as_secs_f64()
        ),
        woke.to_string(),
        json!({ "wakeups": woke, "seconds": window.as_secs_f64(), "threads": threads,
                "by_thread": by_name }),
        Some(("zero".into(), woke == 0)),
    );
    r.note(format!("by thread: {}", whose.join(", ")));
    r.value(
        SECTION,
        "daemon threads",
        threads.to_string(),
        json!(threads),
        None,
    );
    Ok(())
}
