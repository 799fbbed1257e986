//! `audioctl`: the small client for keybinds, scripts and waybar.
//!
//! Blocking std I/O only: its start-up time is the keypress cost, so it pulls in no
//! async runtime and no PipeWire (check with `ldd`).

use audio_daemon_ipc::{
    self as protocol, AppState, ErrorKind, MuteState, Reply, Request, Response, WaybarLine,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
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
  latency APP [COUNT]     time COUNT get+set round trips (default 1000), print JSON
  stats                   daemon counters

APP is a configured app (built in: vesktop, youtube, twitch, music) or
@sink / @source for the default output / input.
Exit status: 0 ok, 1 the daemon refused, 2 usage, 3 no daemon.";

/// Exit statuses, documented in the usage text.
const REFUSED: u8 = 1;
const USAGE_ERR: u8 = 2;
const NO_DAEMON: u8 = 3;

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("audioctl: {msg}");
    ExitCode::from(code)
}

struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

impl Conn {
    fn open(path: &PathBuf) -> Result<Conn, String> {
        let s = UnixStream::connect(path).map_err(|e| {
            format!(
                "cannot reach the daemon at {}: {e} (is audio-daemon running?)",
                path.display()
            )
        })?;
        let writer = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::new(s),
            writer,
            line: String::new(),
        })
    }

    fn send(&mut self, req: &Request) -> Result<(), String> {
        let mut line = req.to_line();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("write to daemon: {e}"))
    }

    /// The next line from the daemon; None when it closed the connection.
    fn read_line(&mut self) -> Result<Option<&str>, String> {
        self.line.clear();
        let n = self
            .reader
            .read_line(&mut self.line)
            .map_err(|e| format!("read from daemon: {e}"))?;
        Ok((n > 0).then_some(self.line.trim_end()))
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
                    Response::Subscribed => {}
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if !json {
                eprintln!("audioctl: {}", e.message);
            }
            ExitCode::from(REFUSED)
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
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => Ok(ExitCode::from(REFUSED)),
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
fn waybar_follow(path: &PathBuf, app: &str) -> ExitCode {
    let mut out = Printer::default();
    loop {
        match follow_once(path, app, &mut out) {
            FollowEnd::Reader => return ExitCode::SUCCESS,
            FollowEnd::UnknownApp(msg) => return fail(REFUSED, msg),
            FollowEnd::Daemon => {}
        }
        let down = WaybarLine::new(
            "-".into(),
            format!("{app}: audio-daemon is not running"),
            "inactive",
            0,
        );
        if !out.print(down.to_line()) {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(RECONNECT);
    }
}

fn follow_once(path: &PathBuf, app: &str, out: &mut Printer) -> FollowEnd {
    let Ok(mut conn) = Conn::open(path) else {
        return FollowEnd::Daemon;
    };
    // Check the name first, so a typo fails loudly instead of printing nothing forever.
    match conn.call(&Request::Get { app: app.into() }) {
        Ok(Err(e)) if e.kind == ErrorKind::UnknownApp => return FollowEnd::UnknownApp(e.message),
        Ok(_) => {}
        Err(_) => return FollowEnd::Daemon,
    }
    if conn.send(&Request::Subscribe).is_err() || !matches!(conn.reply(), Ok(Ok(_))) {
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
/// only after PipeWire applied it.
fn latency(conn: &mut Conn, app: &str, count: usize) -> Result<ExitCode, String> {
    let start = match conn.call(&Request::Get { app: app.into() })? {
        Ok(Response::App(s)) => s.volume.ok_or(format!("{app} has no streams"))?,
        Ok(_) => return Err("unexpected reply".into()),
        Err(e) => return Err(e.message),
    };
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let volume = if i % 2 == 0 { 40.0 } else { 45.0 };
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
        "{{\"count\":{count},\"median_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1}}}",
        pick(0.5),
        pick(0.99),
        us(*samples.last().expect("count > 0"))
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
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
                return ExitCode::SUCCESS;
            }
            "--version" => {
                println!("audioctl {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
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
            None => latency(&mut conn, app, 1000),
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
