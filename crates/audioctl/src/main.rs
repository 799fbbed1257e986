//! `audioctl`: the small client for keybinds, scripts and waybar.
//!
//! Blocking std I/O only: its start-up time is the keypress cost, so it pulls in no
//! async runtime and no PipeWire (check with `ldd`), and it starts at a C `main` (see
//! [`main`]). Release builds link it statically (scripts/build-release.sh).

// std's own entry point does start-up work this short-lived client never needs. (A test
// build keeps it: the test harness brings its own `main`.)
#![cfg_attr(not(test), no_main)]

use audio_daemon_ipc::{
    self as protocol, AppState, ErrorKind, MuteState, Reply, Request, Response, WaybarLine,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: audioctl [--socket PATH] [--json] COMMAND [--json]

  up APP [AMOUNT]         louder by AMOUNT percent points (default: the app's step)
  down APP [AMOUNT]       quieter
  set APP PERCENT         set the volume (capped at the app's max_volume)
  mute APP [on|off|toggle]
  get APP                 print the app's volume
  list                    every app with its streams
  waybar APP [--follow]   one waybar JSON line; with --follow, one per change
  latency APP [COUNT]     time COUNT set round trips (default 300), print JSON
  stats                   daemon counters
  forget [APP]            drop APP's remembered volume (every app's without APP)

APP is a configured app (built in: vesktop, youtube, twitch, music),
@sink / @source for the default output / input, or @focused for the app of
the focused window (Hyprland or sway).
Exit status: 0 ok, 1 the daemon refused, 2 usage, 3 no daemon.";

/// Exit statuses, documented in the usage text.
type ExitCode = u8;
const SUCCESS: ExitCode = 0;
const REFUSED: u8 = 1;
const USAGE_ERR: u8 = 2;
const NO_DAEMON: u8 = 3;

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("audioctl: {msg}");
    code
}

struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
    patience: Duration,
}

/// The uid of the process listening at the other end (SO_PEERCRED).
fn peer_uid(stream: &UnixStream) -> std::io::Result<libc::uid_t> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(cred.uid)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How long a request may take, connecting included. The daemon answers within 2 s or
/// says why; past this it is hung, and a keybind's process must end rather than pile up.
const PATIENCE: Duration = Duration::from_secs(5);

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Connects with `patience` as the send and receive timeout of the socket. Set before
/// `connect()`: on AF_UNIX the send timeout also bounds a connect to a listener whose
/// backlog is full (a hung daemon). std's `connect` cannot set it first. Two system
/// calls more than std's.
fn connect(path: &Path, patience: Duration) -> std::io::Result<UnixStream> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain system call; the descriptor is owned by the stream below.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket nothing else owns.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    stream.set_write_timeout(Some(patience))?;
    stream.set_read_timeout(Some(patience))?;
    // SAFETY: sockaddr_un is plain data; all zeros is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    // check_socket_path has refused longer paths; this keeps the NUL in any case.
    if bytes.len() >= addr.sun_path.len() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    for (d, b) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: addr is a valid sockaddr_un of at least `len` bytes.
    let r = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stream)
}

impl Conn {
    fn open(path: &Path) -> Result<Conn, String> {
        Conn::open_within(path, PATIENCE)
    }

    fn open_within(path: &Path, patience: Duration) -> Result<Conn, String> {
        let s = connect(path, patience).map_err(|e| {
            if timed_out(&e) {
                format!(
                    "the daemon at {} accepted no connection within {patience:?} (is it hung?)",
                    path.display()
                )
            } else {
                format!(
                    "cannot reach the daemon at {}: {e} (is audio-daemon running?)",
                    path.display()
                )
            }
        })?;
        // Whoever can create the socket path first could answer in the daemon's place:
        // only talk to a listener running as this user.
        // SAFETY: getuid cannot fail.
        let me = unsafe { libc::getuid() };
        match peer_uid(&s) {
            Ok(uid) if uid == me => {}
            Ok(uid) => {
                return Err(format!(
                    "refusing the listener at {}: it runs as uid {uid}, not as you (uid {me})",
                    path.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "cannot check who listens at {}: {e}",
                    path.display()
                ))
            }
        }
        let writer = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::new(s),
            writer,
            line: String::new(),
            patience,
        })
    }

    /// For a subscription: events may be minutes apart.
    fn wait_forever(&self) -> Result<(), String> {
        self.reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| e.to_string())
    }

    fn send(&mut self, req: &Request) -> Result<(), String> {
        let mut line = req.to_line();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| self.io_error("write to", e))
    }

    /// The next line from the daemon; None when it closed the connection.
    fn read_line(&mut self) -> Result<Option<&str>, String> {
        self.line.clear();
        let n = self
            .reader
            .read_line(&mut self.line)
            .map_err(|e| self.io_error("read from", e))?;
        Ok((n > 0).then_some(self.line.trim_end()))
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> String {
        if timed_out(&e) {
            format!(
                "the daemon did not answer within {:?} (is it hung?)",
                self.patience
            )
        } else {
            format!("{what} daemon: {e}")
        }
    }

    fn reply(&mut self) -> Result<Reply, String> {
        let line = self
            .read_line()?
            .ok_or("the daemon closed the connection without a reply")?
            .to_owned();
        protocol::reply_from_line(&line).map_err(|e| {
            format!("cannot read the daemon's reply ({e}); are audioctl and audio-daemon the same version? reply: {line}")
        })
    }

    fn call(&mut self, req: &Request) -> Result<Reply, String> {
        self.send(req)?;
        self.reply()
    }
}

fn describe(app: &AppState) -> String {
    // `@focused` names the window it stands for.
    let name = match &app.window {
        Some(w) => format!("{} ({} \"{}\")", app.app, w.class, w.title),
        None => app.app.clone(),
    };
    let app = &AppState {
        app: name,
        ..app.clone()
    };
    match app.volume {
        None => format!("{}: no streams", app.app),
        Some(v) => {
            let n = app.streams.len();
            format!(
                "{} {:.0}%{} ({n} stream{})",
                app.app,
                v,
                if app.muted { " muted" } else { "" },
                if n == 1 { "" } else { "s" }
            )
        }
    }
}

fn print_reply(reply: Reply, json: bool) -> ExitCode {
    if json {
        println!("{}", protocol::reply_to_line(&reply));
    }
    match reply {
        Ok(resp) => {
            if !json {
                match resp {
                    Response::App(app) => println!("{}", describe(&app)),
                    Response::Apps(apps) => {
                        for app in apps {
                            println!("{}", describe(&app));
                            for s in &app.streams {
                                let v = s.volume.map_or("?".to_owned(), |v| format!("{v:.0}%"));
                                let m = if s.muted { " muted" } else { "" };
                                println!("  #{} {} {v}{m}", s.id, s.name);
                            }
                        }
                    }
                    Response::Stats(s) => println!(
                        "connected={} nodes={} requests={} set_params={} waiting={}",
                        s.connected, s.nodes, s.requests, s.set_params, s.waiting
                    ),
                    Response::Forgotten(apps) if apps.is_empty() => {
                        println!("nothing was remembered")
                    }
                    Response::Forgotten(apps) => println!("forgot {}", apps.join(", ")),
                    Response::Subscribed => {}
                }
            }
            SUCCESS
        }
        Err(e) => {
            if !json {
                eprintln!("audioctl: {}", e.message);
            }
            REFUSED
        }
    }
}

fn number(s: &str, what: &str) -> Result<f64, String> {
    s.trim_end_matches('%')
        .parse::<f64>()
        .map_err(|_| format!("{what} must be a number, got {s:?}"))
}

/// `waybar APP`: one line for the bar.
fn waybar_once(conn: &mut Conn, app: &str) -> Result<ExitCode, String> {
    match conn.call(&Request::Get { app: app.into() })? {
        Ok(Response::App(state)) => {
            println!("{}", WaybarLine::from_state(&state).to_line());
            Ok(SUCCESS)
        }
        Ok(_) => Ok(REFUSED),
        Err(e) => Err(e.message),
    }
}

/// Writes waybar lines, skipping repeats; false once waybar has gone (stdout closed).
#[derive(Default)]
struct Printer {
    last: String,
}

impl Printer {
    fn print(&mut self, line: String) -> bool {
        if line == self.last {
            return true;
        }
        let mut lock = std::io::stdout().lock();
        // waybar reads line by line: flush each one.
        let ok = writeln!(lock, "{line}").and_then(|_| lock.flush()).is_ok();
        self.last = line;
        ok
    }
}

/// Why one follow session ended.
enum FollowEnd {
    /// stdout closed: waybar is gone.
    Reader,
    /// The daemon went away or could not be reached.
    Daemon,
    /// The app is not configured: retrying cannot help.
    UnknownApp(String),
}

/// How long `--follow` waits before reconnecting to a daemon that went away.
const RECONNECT: Duration = Duration::from_secs(1);

/// `waybar APP --follow`: a line per change for as long as waybar runs. It outlives the
/// daemon: a config change restarts the service, and at login waybar may start first.
/// While the daemon is away the module shows as inactive, and it reconnects every second.
fn waybar_follow(path: &Path, app: &str) -> ExitCode {
    let mut out = Printer::default();
    loop {
        match follow_once(path, app, &mut out) {
            FollowEnd::Reader => return SUCCESS,
            FollowEnd::UnknownApp(msg) => return fail(REFUSED, msg),
            FollowEnd::Daemon => {}
        }
        let down = WaybarLine::inactive(format!("{app}: audio-daemon is not running"));
        if !out.print(down.to_line()) {
            return SUCCESS;
        }
        std::thread::sleep(RECONNECT);
    }
}

fn follow_once(path: &Path, app: &str, out: &mut Printer) -> FollowEnd {
    let Ok(mut conn) = Conn::open(path) else {
        return FollowEnd::Daemon;
    };
    // Check the name first, so a typo fails loudly instead of printing nothing forever.
    match conn.call(&Request::Get { app: app.into() }) {
        Ok(Err(e)) if e.kind == ErrorKind::UnknownApp => return FollowEnd::UnknownApp(e.message),
        Ok(_) => {}
        Err(_) => return FollowEnd::Daemon,
    }
    if conn.send(&Request::Subscribe).is_err()
        || !matches!(conn.reply(), Ok(Ok(_)))
        || conn.wait_forever().is_err()
    {
        return FollowEnd::Daemon;
    }
    while let Ok(Some(line)) = conn.read_line() {
        let Ok(protocol::Event::App(state)) = protocol::Event::from_line(line) else {
            continue;
        };
        if state.app == app && !out.print(WaybarLine::from_state(&state).to_line()) {
            return FollowEnd::Reader;
        }
    }
    FollowEnd::Daemon
}

/// `latency APP [COUNT]`: alternating `set` requests on one connection, each answered
/// only after PipeWire applied it: the daemon's round trip. Requests are spaced by the
/// daemon's pace (`rate_limit`, from `stats`; the gap is not timed): back to back, all
/// but the first few would wait for the pacer, and the figure would be its period
/// (16.7 ms at the default 60/s), not the daemon's round trip.
fn latency(conn: &mut Conn, app: &str, count: usize) -> Result<ExitCode, String> {
    let gap = match conn.call(&Request::Stats)? {
        Ok(Response::Stats(s)) => s
            .rate_limit
            .filter(|&r| r > 0)
            // A little over one period: the pacer's bucket has refilled by then.
            .map(|r| Duration::from_secs_f64(1.05 / f64::from(r))),
        Ok(_) => return Err("unexpected reply".into()),
        Err(e) => return Err(e.message),
    };
    let start = match conn.call(&Request::Get { app: app.into() })? {
        Ok(Response::App(s)) => s.volume.ok_or(format!("{app} has no streams"))?,
        Ok(_) => return Err("unexpected reply".into()),
        Err(e) => return Err(e.message),
    };
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let volume = if i % 2 == 0 { 40.0 } else { 45.0 };
        if let (Some(gap), true) = (gap, i > 0) {
            std::thread::sleep(gap);
        }
        let t = Instant::now();
        let r = conn.call(&Request::Set {
            app: app.into(),
            volume,
        })?;
        samples.push(t.elapsed());
        if let Err(e) = r {
            return Err(format!("request {i} failed: {}", e.message));
        }
    }
    // Leave the app where it was.
    let _ = conn.call(&Request::Set {
        app: app.into(),
        volume: start,
    })?;
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pick = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{{\"count\":{count},\"median_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1},\"spaced_ms\":{:.1}}}",
        pick(0.5),
        pick(0.99),
        us(*samples.last().expect("count > 0")),
        gap.map_or(0.0, |g| g.as_secs_f64() * 1e3)
    );
    Ok(SUCCESS)
}

/// The process entry point, in place of Rust's `fn main`.
///
/// Before a Rust `main`, std's `lang_start` polls the standard descriptors, reads
/// `/proc/self/maps` for the main thread's stack guard, maps an alternate signal stack and
/// installs SIGSEGV/SIGBUS handlers: about 20 system calls, a measurable share of a
/// keypress that runs this process once. Skipping it costs nothing here: a stack overflow
/// still stops the process (without std's message), arguments still come from
/// `std::env::args()` (std collects them from glibc's init hook, not from `lang_start`),
/// and the one setting this client relies on, SIGPIPE ignored so that a closed socket or
/// pipe is an error instead of a silent death, is made below. `lang_start` would also
/// flush stdout at exit; `run`'s output ends in newlines (line-buffered), and the flush
/// below covers the rest.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = run();
    let _ = std::io::stdout().flush();
    libc::c_int::from(code)
}

// Only the C `main` calls it, which test builds leave out.
#[cfg_attr(test, allow(dead_code))]
fn run() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut socket = None;
    let mut json = false;
    while let Some(first) = args.first() {
        match first.as_str() {
            "--socket" if args.len() > 1 => {
                socket = Some(PathBuf::from(args[1].clone()));
                args.drain(..2);
            }
            "--json" => {
                json = true;
                args.remove(0);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return SUCCESS;
            }
            "--version" => {
                println!("audioctl {}", env!("CARGO_PKG_VERSION"));
                return SUCCESS;
            }
            _ => break,
        }
    }
    // `--json` is also accepted after the subcommand (`audioctl get vesktop --json`).
    if let Some(i) = args.iter().position(|a| a == "--json") {
        json = true;
        args.remove(i);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let parsed: Result<Request, String> = match args.as_slice() {
        ["up", app] => Ok(Request::Up {
            app: app.to_string(),
            amount: None,
        }),
        ["down", app] => Ok(Request::Down {
            app: app.to_string(),
            amount: None,
        }),
        ["up", app, n] => number(n, "AMOUNT").map(|n| Request::Up {
            app: app.to_string(),
            amount: Some(n),
        }),
        ["down", app, n] => number(n, "AMOUNT").map(|n| Request::Down {
            app: app.to_string(),
            amount: Some(n),
        }),
        ["set", app, n] => number(n, "PERCENT").map(|n| Request::Set {
            app: app.to_string(),
            volume: n,
        }),
        ["mute", app] => Ok(Request::Mute {
            app: app.to_string(),
            state: MuteState::Toggle,
        }),
        ["mute", app, s] => match *s {
            "on" => Ok(MuteState::On),
            "off" => Ok(MuteState::Off),
            "toggle" => Ok(MuteState::Toggle),
            _ => Err(format!("mute takes on, off or toggle, got {s:?}")),
        }
        .map(|state| Request::Mute {
            app: app.to_string(),
            state,
        }),
        ["get", app] => Ok(Request::Get {
            app: app.to_string(),
        }),
        ["list"] => Ok(Request::List),
        ["stats"] => Ok(Request::Stats),
        ["forget"] => Ok(Request::Forget { app: None }),
        ["forget", app] => Ok(Request::Forget {
            app: Some(app.to_string()),
        }),
        ["waybar", _] | ["waybar", _, "--follow"] | ["latency", _] | ["latency", _, _] => {
            Ok(Request::List) // handled below
        }
        _ => Err(USAGE.to_owned()),
    };
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return fail(USAGE_ERR, e),
    };
    let Some(path) = socket.or_else(protocol::default_socket_path) else {
        return fail(USAGE_ERR, "XDG_RUNTIME_DIR is not set; pass --socket PATH");
    };
    if let Err(e) = protocol::check_socket_path(&path) {
        return fail(USAGE_ERR, e);
    }
    if let ["waybar", app, "--follow"] = args.as_slice() {
        return waybar_follow(&path, app);
    }
    let mut conn = match Conn::open(&path) {
        Ok(c) => c,
        Err(e) => return fail(NO_DAEMON, e),
    };
    let result = match args.as_slice() {
        ["waybar", app] => waybar_once(&mut conn, app),
        ["latency", app, rest @ ..] => match rest.first().map(|n| n.parse::<usize>()) {
            None => latency(&mut conn, app, 300),
            Some(Ok(n)) if n > 0 => latency(&mut conn, app, n),
            Some(_) => return fail(USAGE_ERR, "COUNT must be a positive whole number"),
        },
        _ => conn.call(&req).map(|reply| print_reply(reply, json)),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(REFUSED, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixListener;

    fn socket_path(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("audioctl-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn a_daemon_that_never_answers_ends_the_request() {
        let path = socket_path("silent");
        // Listening: the kernel completes connections, nothing ever reads or writes.
        let _listener = UnixListener::bind(&path).unwrap();
        let mut c = Conn::open_within(&path, Duration::from_millis(200)).unwrap();
        let e = c.call(&Request::Stats).unwrap_err();
        assert!(e.contains("did not answer within 200ms"), "{e}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_daemon_whose_backlog_is_full_ends_the_connect() {
        let path = socket_path("jammed");
        let listener = UnixListener::bind(&path).unwrap();
        // SAFETY: lowers the backlog of a listening socket this test owns.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let mut held = Vec::new();
        for _ in 0..64 {
            match Conn::open_within(&path, Duration::from_millis(100)) {
                Ok(c) => held.push(c),
                Err(e) => {
                    assert!(e.contains("accepted no connection within 100ms"), "{e}");
                    assert!(!held.is_empty(), "the first connect already failed: {e}");
                    let _ = std::fs::remove_file(&path);
                    return;
                }
            }
        }
        panic!("64 connections queued on a backlog of 0: the backlog never filled");
    }
}
