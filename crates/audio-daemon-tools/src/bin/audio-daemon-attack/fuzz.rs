//! Protocol fuzzing against the running daemon.
//!
//! Lines come from the seeded generator in batches, each on its own connection, written
//! (pipelined) by one thread while another reads. Invariants, checked as it runs:
//! - every line the daemon owes a reply gets exactly one, and each is a valid reply;
//! - a line over the limit gets `line_too_long` (then the connection closes), and a line
//!   at the limit never does;
//! - no rejected request changes a volume: between epochs every stream's volume is read
//!   with pw-dump; in *strict* epochs the generator leaves out every line that parses as
//!   a changing request, so any change at all is a violation, and in mixed epochs a change
//!   needs an `ok:true` reply to a changing request;
//! - the daemon stays alive, and its private memory does not grow.

use crate::gen::{self, Kind, Rng};
use crate::Harness;
use audio_daemon_ipc::{self as protocol, ErrorKind, Request, MAX_LINE};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const THREADS: usize = 6;
const EPOCH: usize = 10_000;
/// Private memory may move by allocator noise, not by what was sent.
const RSS_SLACK_KIB: u64 = 512;

#[derive(Default)]
pub struct Outcome {
    pub lines: usize,
    pub replies: usize,
    pub kinds: BTreeMap<Kind, usize>,
    pub violations: Vec<String>,
    pub rss_kib: (u64, u64),
}

/// One connection's worth: what was sent, what came back.
struct Batch {
    lines: Vec<Vec<u8>>,
}

impl Batch {
    fn make(rng: &mut Rng, strict: bool, kinds: &mut BTreeMap<Kind, usize>) -> Batch {
        let n = 1 + rng.below(400);
        let mut lines = Vec::with_capacity(n);
        while lines.len() < n {
            let (line, kind) = gen::line(rng);
            if strict && changes(&line) {
                continue;
            }
            *kinds.entry(kind).or_default() += 1;
            lines.push(line);
            // The daemon closes the connection after an overlong line.
            if kind == Kind::OverLimit {
                break;
            }
        }
        Batch { lines }
    }

    fn expected(&self) -> usize {
        self.lines.iter().filter(|l| gen::expects_reply(l)).count()
    }
}

/// Whether a line is a request that could change a volume (the daemon's own parser).
fn changes(line: &[u8]) -> bool {
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| Request::parse(t).ok())
        .is_some_and(|r| r.changes_volume())
}

/// Sends a batch and reads its replies. Returns (replies, whether an `ok:true` reply
/// answered a changing request, problems).
fn run_batch(socket: &Path, batch: &Batch) -> (usize, bool, Vec<String>) {
    let mut problems = Vec::new();
    let s = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => return (0, false, vec![format!("connect: {e}")]),
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut w = s.try_clone().expect("clone a socket");
    let bytes: Vec<u8> = batch
        .lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    let writer = std::thread::spawn(move || {
        // The daemon may close first (after an overlong line): that is not an error here.
        let _ = w.write_all(&bytes);
        let _ = w.shutdown(std::net::Shutdown::Write);
    });
    let owed: Vec<&Vec<u8>> = batch
        .lines
        .iter()
        .filter(|l| gen::expects_reply(l))
        .collect();
    let mut reader = BufReader::new(s);
    let mut replies = 0;
    let mut changed = false;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            // After an overlong line the daemon replies and closes with our unread input
            // still queued, which a Unix socket reports as a reset once the replies
            // before it have been read: the end of the stream, as counted below.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => {
                problems.push(format!("read after {replies} replies: {e}"));
                break;
            }
        }
        match protocol::reply_from_line(line.trim_end()) {
            Ok(reply) => {
                let asked = owed.get(replies);
                if reply.is_ok() && asked.is_some_and(|l| changes(l)) {
                    changed = true;
                }
                // The limit is exact: over it, line_too_long; at or under it, never.
                let too_long = matches!(&reply, Err(e) if e.kind == ErrorKind::LineTooLong);
                if let Some(l) = asked {
                    let len = l.strip_suffix(b"\r").unwrap_or(l).len();
                    if too_long != (len > MAX_LINE) {
                        problems.push(format!("a {len}-byte line got {line:?}"));
                    }
                }
            }
            Err(e) => problems.push(format!("invalid reply {line:?}: {e}")),
        }
        replies += 1;
    }
    let _ = writer.join();
    if replies != batch.expected() {
        problems.push(format!(
            "{} replies to {} lines owed one (batch of {})",
            replies,
            batch.expected(),
            batch.lines.len()
        ));
    }
    (replies, changed, problems)
}

/// Every stream's (channel volumes, mute) as pw-dump reports them.
fn volumes(h: &Harness) -> Vec<Option<(Vec<f64>, bool)>> {
    h.stream_ids()
        .iter()
        .map(|&id| h.session.dump_volume(id))
        .collect()
}

pub fn run(h: &mut Harness, total: usize, seed: u64) -> Outcome {
    let mut out = Outcome::default();
    let socket: PathBuf = h.daemon.socket.clone();
    let mut before = volumes(h);
    let mut epoch = 0u64;
    while out.lines < total {
        let strict = epoch.is_multiple_of(2);
        // Batches for this epoch, generated up front so the run is reproducible.
        let mut rng = Rng::new(seed ^ epoch.wrapping_mul(0xA24B_AED4_963E_E407));
        let mut batches = Vec::new();
        let mut n = 0;
        while n < EPOCH.min(total - out.lines) {
            let b = Batch::make(&mut rng, strict, &mut out.kinds);
            n += b.lines.len();
            batches.push(b);
        }
        out.lines += n;
        let chunks: Vec<Vec<Batch>> = {
            let mut c: Vec<Vec<Batch>> = (0..THREADS).map(|_| Vec::new()).collect();
            for (i, b) in batches.into_iter().enumerate() {
                c[i % THREADS].push(b);
            }
            c
        };
        let results: Vec<(usize, bool, Vec<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    let socket = &socket;
                    scope.spawn(move || {
                        let mut acc = (0, false, Vec::new());
                        for b in chunk {
                            let (r, c, p) = run_batch(socket, b);
                            acc.0 += r;
                            acc.1 |= c;
                            acc.2.extend(p);
                        }
                        acc
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker"))
                .collect()
        });
        let mut changed_ok = false;
        for (r, c, p) in results {
            out.replies += r;
            changed_ok |= c;
            let room = 10usize.saturating_sub(out.violations.len());
            out.violations.extend(p.into_iter().take(room));
        }
        let after = volumes(h);
        if after != before && (strict || !changed_ok) {
            out.violations.push(format!(
                "epoch {epoch} ({}): volumes changed with no accepted change: {before:?} -> {after:?}",
                if strict { "strict" } else { "mixed" }
            ));
        }
        before = after;
        if let Some(status) = h.daemon.proc.exited() {
            out.violations.push(format!("the daemon exited: {status}"));
            return out;
        }
        if epoch == 0 {
            out.rss_kib.0 = h.quiet_private_kib();
        }
        epoch += 1;
    }
    out.rss_kib.1 = h.quiet_private_kib();
    if out.rss_kib.1 > out.rss_kib.0 + RSS_SLACK_KIB {
        out.violations.push(format!(
            "private memory grew from {} to {} KiB",
            out.rss_kib.0, out.rss_kib.1
        ));
    }
    out
}
