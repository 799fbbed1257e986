//! `audio-daemon`: the daemon. With no arguments it runs (what a systemd unit starts).

use audio_daemon::config::Config;
use audio_daemon::daemon::{self, Options};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: audio-daemon [--config FILE] [--socket PATH]

Per-application volume control for PipeWire. Listens on a Unix socket for
requests from `audioctl` (or any JSON-lines client).

  --config FILE   config file (default: $XDG_CONFIG_HOME/audio-daemon/config.json;
                  a missing default file means built-in defaults)
  --socket PATH   socket path (default: $AUDIO_DAEMON_SOCKET, else
                  $XDG_RUNTIME_DIR/audio-daemon.sock)
  --check-config  parse the config, print any error, and exit
  --version       print the version
  -h, --help      this text

Remembered app volumes live in $STATE_DIRECTORY, else
$XDG_STATE_HOME/audio-daemon (~/.local/state/audio-daemon)/volumes.json.

Signals: SIGHUP reloads the config, SIGTERM/SIGINT stop the daemon (saving
remembered volumes first).";

fn main() -> ExitCode {
    let mut socket = None;
    let mut config = None;
    let mut check_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let r = match arg.as_str() {
            "--config" => value("--config").map(|v| config = Some(PathBuf::from(v))),
            "--socket" => value("--socket").map(|v| socket = Some(PathBuf::from(v))),
            "--check-config" => {
                check_only = true;
                Ok(())
            }
            "--version" => {
                println!("audio-daemon {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(e) = r {
            eprintln!("audio-daemon: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let config_explicit = config.is_some();
    let config = config.or_else(Config::default_path);
    if check_only {
        let r = match &config {
            Some(p) => Config::load(p, config_explicit).map(|_| ()),
            None => Ok(()),
        };
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("audio-daemon: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(socket) = socket.or_else(audio_daemon_ipc::default_socket_path) else {
        eprintln!("audio-daemon: XDG_RUNTIME_DIR is not set; pass --socket PATH");
        return ExitCode::from(2);
    };
    if let Err(e) = audio_daemon_ipc::check_socket_path(&socket) {
        eprintln!("audio-daemon: {e}");
        return ExitCode::from(2);
    }
    match daemon::run(Options {
        socket,
        config,
        config_explicit,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audio-daemon: {e}");
            ExitCode::FAILURE
        }
    }
}
