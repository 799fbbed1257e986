//! A seeded generator of hostile request lines. Reproducible: the same seed gives the
//! same lines (cargo-fuzz needs a nightly toolchain, which CI does not have, so the suite
//! brings its own generator and runs against the real daemon instead of a function).

use audio_daemon_ipc::MAX_LINE;

pub use audio_daemon_testkit::rng::Rng;

/// What kind of line, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Valid,
    Mutated,
    RandomBytes,
    DeepNesting,
    HugeNumber,
    Nul,
    Crlf,
    ExactLimit,
    OverLimit,
}

/// Requests as a client would write them. Changing ones are rare on purpose: they wait
/// for PipeWire (and its pacing), the rest is answered at once.
const VALID: &[&str] = &[
    r#"{"action":"get","app":"vesktop"}"#,
    r#"{"action":"get","app":"youtube"}"#,
    r#"{"action":"list"}"#,
    r#"{"action":"stats"}"#,
    r#"{"app":"vesktop","action":"get"}"#,
    r#"{"action":"get","app":"@sink"}"#,
    r#"{"action":"get","app":"twitch"}"#,
];

const CHANGING: &[&str] = &[
    r#"{"action":"set","app":"youtube","amount":40}"#,
    r#"{"action":"up","app":"youtube","amount":1}"#,
    r#"{"action":"down","app":"youtube"}"#,
    r#"{"action":"mute","app":"youtube","state":"off"}"#,
];

const SPECIAL: &[&str] = &[
    "null",
    "true",
    "-0",
    "1e308",
    "1e999",
    "-1e999",
    "1e-400",
    "123456789012345678901234567890",
    "NaN",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "0.000000000000000000000000000001",
    "9007199254740993",
];

const KEYS: &[&str] = &["action", "app", "amount", "state", "sudo", "", "Action"];

/// One line (without its newline) and its kind.
pub fn line(rng: &mut Rng) -> (Vec<u8>, Kind) {
    let roll = rng.below(100);
    let (mut bytes, kind) = match roll {
        0..=9 => {
            let base = if rng.chance(20) {
                rng.pick(CHANGING)
            } else {
                rng.pick(VALID)
            };
            (base.as_bytes().to_vec(), Kind::Valid)
        }
        10..=54 => (mutate(rng), Kind::Mutated),
        55..=69 => (random_bytes(rng), Kind::RandomBytes),
        70..=74 => (deep(rng), Kind::DeepNesting),
        75..=84 => (huge_number(rng), Kind::HugeNumber),
        85..=89 => {
            let mut b = rng.pick(VALID).as_bytes().to_vec();
            let at = rng.below(b.len() + 1);
            b.insert(at, 0);
            (b, Kind::Nul)
        }
        90..=94 => {
            let mut b = rng.pick(VALID).as_bytes().to_vec();
            b.push(b'\r');
            (b, Kind::Crlf)
        }
        95..=97 => (padded(MAX_LINE), Kind::ExactLimit),
        _ => (
            padded(MAX_LINE + 1 + rng.below(2 * MAX_LINE)),
            Kind::OverLimit,
        ),
    };
    // A newline inside would make two lines; the line's own terminator is added later.
    for b in &mut bytes {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    (bytes, kind)
}

/// A valid request padded with spaces to `len` bytes.
fn padded(len: usize) -> Vec<u8> {
    let mut b = br#"{"action":"list"}"#.to_vec();
    b.resize(len.max(b.len()), b' ');
    b
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(200);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn deep(rng: &mut Rng) -> Vec<u8> {
    let depth = 1 + rng.below(2000);
    let (open, close) = if rng.chance(50) {
        (b'[', b']')
    } else {
        (b'{', b'}')
    };
    let mut b = br#"{"action":"get","app":"#.to_vec();
    for _ in 0..depth {
        if open == b'{' {
            b.extend_from_slice(br#"{"a":"#);
        } else {
            b.push(open);
        }
    }
    b.push(b'1');
    b.extend(std::iter::repeat_n(close, depth));
    b.push(b'}');
    b.truncate(MAX_LINE);
    b
}

fn huge_number(rng: &mut Rng) -> Vec<u8> {
    let action = rng.pick(&["up", "down", "set", "get"]);
    let n = rng.pick(SPECIAL);
    format!(r#"{{"action":"{action}","app":"youtube","amount":{n}}}"#).into_bytes()
}

/// A valid request with a few structural or byte-level changes.
fn mutate(rng: &mut Rng) -> Vec<u8> {
    let mut b = rng.pick(VALID).as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        match rng.below(8) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            2 => {
                let i = rng.below(b.len() + 1);
                b.insert(i, *rng.pick(b"{}[]\",:\\ 0e-"));
            }
            3 if b.len() > 1 => {
                let keep = rng.below(b.len());
                b.truncate(keep);
            }
            4 => {
                // A duplicate or unknown field.
                let key = rng.pick(KEYS);
                let value = rng.pick(SPECIAL);
                let extra = format!(r#","{key}":{value}}}"#);
                if b.last() == Some(&b'}') {
                    b.pop();
                    b.extend_from_slice(extra.as_bytes());
                }
            }
            5 => {
                // The array form of a struct.
                b = format!(r#"["{}"]"#, rng.pick(&["list", "stats", "get"])).into_bytes();
            }
            6 => {
                let twice = b.clone();
                b.extend_from_slice(&twice);
            }
            _ => {
                let s = String::from_utf8_lossy(&b).replace("vesktop", "VESKTOP");
                b = s.into_bytes();
            }
        }
    }
    b
}

/// Whether the daemon owes a reply for this line: blank lines are skipped, everything
/// else (not UTF-8 included) gets exactly one.
pub fn expects_reply(line: &[u8]) -> bool {
    let content = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(content) {
        Ok(s) => !s.trim().is_empty(),
        Err(_) => true,
    }
}
