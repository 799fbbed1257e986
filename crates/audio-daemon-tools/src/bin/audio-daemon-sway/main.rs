//! `audio-daemon-sway`: `@focused` and compositor keys against a real headless sway.
//!
//! Runs a whole private session as one unprivileged user, as a desktop would: session
//! bus, PipeWire, WirePlumber (the test harness), sway 1.7+ (headless, pixman), `foot`
//! windows running the stream helper, and the real daemon following sway over IPC.
//! Observers are independent of the daemon: `wpctl`, sway's own IPC, and the stream
//! helper's report of the volumes PipeWire applied.
//!
//! ```text
//! audio-daemon-sway check [--golden DIR]
//!                                    focus and key checks (exit 1 on a failure); with
//!                                    DIR (nix/golden: sway-ipc.conf, config-sway-ipc.json),
//!                                    also the home-manager module's generated `nop`
//!                                    binds, with the daemon config it generated
//! audio-daemon-sway bench [--quick]  key to PipeWire applied: nop+IPC vs exec audioctl
//!                                    vs exec wpctl, interleaved; a held key's ramp
//! ```
//!
//! sway refuses to run as root. Started as root, the program copies its binaries to a
//! fresh directory and runs again as `nobody` in a new PID namespace
//! (`unshare --pid --kill-child`): every process of the session dies with it.

mod bench;
mod check;
mod ipc;
mod session;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: audio-daemon-sway check [--golden DIR] | bench [--quick]";

/// The golden files the check reads from `--golden DIR`.
const GOLDEN_FILES: [&str; 2] = ["sway-ipc.conf", "config-sway-ipc.json"];

/// Set in the environment of the unprivileged run.
const DROPPED: &str = "AUDIO_DAEMON_SWAY_DROPPED";
/// The binaries the session needs next to this one.
const BINARIES: &[&str] = &[
    "audio-daemon-sway",
    "audio-daemon",
    "audioctl",
    "audio-daemon-streams",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } == 0 && std::env::var_os(DROPPED).is_none() {
        return match drop_privileges(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("audio-daemon-sway: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let bin_dir = match std::env::current_exe() {
        Ok(p) => p.parent().map(Path::to_owned).unwrap_or_default(),
        Err(e) => {
            eprintln!("audio-daemon-sway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match args.as_slice() {
        ["check"] => check::run(&bin_dir, None),
        ["check", "--golden", dir] => {
            read_golden(Path::new(dir)).and_then(|golden| check::run(&bin_dir, Some(&golden)))
        }
        ["bench", rest @ ..] => bench::run(&bin_dir, rest),
        _ => Err(USAGE.to_owned()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audio-daemon-sway: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs this program again as `nobody`, with copies of the binaries in a directory that
/// user can read (the checkout may be under a private home), and waits for it.
fn drop_privileges(args: &[String]) -> Result<ExitCode, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let from = me.parent().ok_or("no binary directory")?;
    let work = std::env::temp_dir().join(format!("audio-daemon-sway-{}", std::process::id()));
    let bin = work.join("bin");
    let tmp = work.join("tmp");
    let _cleanup = RemoveOnDrop(work.clone());
    for d in [&work, &bin, &tmp] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    for b in BINARIES {
        std::fs::copy(from.join(b), bin.join(b))
            .map_err(|e| format!("{b}: {e} (build the workspace's binaries first)"))?;
    }
    let chown = |p: &PathBuf| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL");
        // SAFETY: c is a valid C string.
        unsafe { libc::chown(c.as_ptr(), 65534, 65534) }
    };
    for p in [&work, &tmp] {
        chown(p);
    }
    // The golden files may sit where `nobody` cannot read them (a checkout under /root).
    let mut args = args.to_vec();
    if let Some(i) = args.iter().position(|a| a == "--golden") {
        if let Some(dir) = args.get(i + 1).cloned() {
            let copy = work.join("golden");
            std::fs::create_dir_all(&copy).map_err(|e| format!("{}: {e}", copy.display()))?;
            for f in GOLDEN_FILES {
                let from = Path::new(&dir).join(f);
                std::fs::copy(&from, copy.join(f))
                    .map_err(|e| format!("{}: {e}", from.display()))?;
            }
            args[i + 1] = copy.display().to_string();
        }
    }
    let status = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ])
        .arg(bin.join("audio-daemon-sway"))
        .args(&args)
        .env(DROPPED, "1")
        .env("TMPDIR", &tmp)
        .env("HOME", &tmp)
        .status()
        .map_err(|e| format!("unshare/setpriv: {e}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_golden(dir: &Path) -> Result<check::Golden, String> {
    let read = |f: &str| {
        let p = dir.join(f);
        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    Ok(check::Golden {
        sway: read(GOLDEN_FILES[0])?,
        daemon: read(GOLDEN_FILES[1])?,
    })
}
