//! A desktop for tests that need one: headless sway, mako on the session's private bus,
//! dbus-monitor as an independent observer, and running a test as an unprivileged user
//! (sway refuses to run as root, and CI runs as root).

use super::{die_with_parent, wait_until, Proc, Session, SETUP_TIMEOUT};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Set in the environment of a test re-run as an unprivileged user: where the copied
/// binaries are (the build tree may not be readable by that user).
pub const BIN_DIR_ENV: &str = "AUDIO_DAEMON_TEST_BIN_DIR";
/// The user such tests run as: `nobody` exists everywhere and owns nothing.
const UID: u32 = 65534;
const GID: u32 = 65534;

/// Runs the calling test again as `nobody` when the process is root; returns whether
/// that run passed (`None` when not root: the caller runs the test body itself).
///
/// The test executable and this project's binaries from `bin_dir` are copied to a
/// world-readable temporary directory first, since a checkout under /root is not
/// readable by `nobody`; the re-run finds them through [`BIN_DIR_ENV`].
pub fn rerun_unprivileged(test: &str, bin_dir: &Path) -> Option<bool> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let dir = super::TempDir::new("audio-daemon-unpriv").expect("temporary directory");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(dir.path(), 0o755).expect("chmod");
    let exe = std::env::current_exe().expect("current_exe");
    let copy = |from: &Path, name: &str| {
        let to = dir.path().join(name);
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        mode(&to, 0o755).expect("chmod");
        to
    };
    let test_exe = copy(&exe, "test");
    for b in ["audio-daemon", "audio-daemon-streams", "audioctl"] {
        copy(&bin_dir.join(b), b);
    }
    let status = die_with_parent(&mut Command::new("setpriv"))
        .args([
            format!("--reuid={UID}"),
            format!("--regid={GID}"),
            "--clear-groups".into(),
        ])
        .arg(&test_exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(BIN_DIR_ENV, dir.path())
        .current_dir(dir.path())
        .status()
        .expect("setpriv (util-linux) runs");
    Some(status.success())
}

/// The directory of this project's binaries for a test: [`BIN_DIR_ENV`] when set.
pub fn bin_dir_or(default: PathBuf) -> PathBuf {
    std::env::var_os(BIN_DIR_ENV).map_or(default, PathBuf::from)
}

/// Lines a child prints, collected by a thread as they come.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn follow(&self, out: impl std::io::Read + Send + 'static) {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().expect("not poisoned").push(line);
            }
        });
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
}

/// `dbus-monitor` on the session bus, printing what matches `rule`.
pub struct Monitor {
    _proc: Proc,
    pub lines: Lines,
}

impl Session {
    /// Starts dbus-monitor and waits until it is attached (it prints its own
    /// NameAcquired/NameLost signals first, whatever the rule).
    pub fn dbus_monitor(&self, rule: &str) -> Result<Monitor, String> {
        let mut child = die_with_parent(&mut self.command("dbus-monitor"))
            .args(["--session", rule])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-monitor: {e}"))?;
        let lines = Lines::default();
        lines.follow(child.stdout.take().ok_or("stdout not piped")?);
        let m = Monitor {
            _proc: Proc {
                child,
                name: "dbus-monitor",
            },
            lines,
        };
        wait_until(SETUP_TIMEOUT, "dbus-monitor to attach", || {
            !m.lines.all().is_empty()
        })?;
        Ok(m)
    }

    /// Starts headless sway (pixman renderer, no input devices) and returns it with its
    /// Wayland display name, once the socket is there.
    pub fn sway(&self) -> Result<(Proc, String), String> {
        let conf = self.runtime_dir().join("sway.conf");
        std::fs::write(&conf, "output * bg #202020 solid_color\n").map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.runtime_dir().join("sway.log"))
            .map_err(|e| e.to_string())?;
        let child = die_with_parent(&mut self.command("sway"))
            .arg("-c")
            .arg(&conf)
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("SWAYSOCK")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("sway: {e}"))?;
        let mut p = Proc {
            child,
            name: "sway",
        };
        let mut display = None;
        let r = wait_until(SETUP_TIMEOUT, "sway's Wayland socket", || {
            display = wayland_socket(self.runtime_dir());
            display.is_some() || p.exited().is_some()
        });
        match (r, display, p.exited()) {
            (Ok(()), Some(d), None) => Ok((p, d)),
            (_, _, Some(status)) => Err(format!(
                "sway exited ({status}): {}",
                std::fs::read_to_string(self.runtime_dir().join("sway.log")).unwrap_or_default()
            )),
            (r, ..) => Err(r.err().unwrap_or_else(|| "sway did not start".into())),
        }
    }

    /// Starts mako on `display` (nothing expires, so checks never race a timeout) and
    /// waits until it answers on the session bus.
    pub fn mako(&self, display: &str) -> Result<Proc, String> {
        let log = std::fs::File::create(self.runtime_dir().join("mako.log"))
            .map_err(|e| e.to_string())?;
        let child = die_with_parent(&mut self.command("mako"))
            .args(["--default-timeout", "0", "--ignore-timeout", "1"])
            .env("WAYLAND_DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("mako: {e}"))?;
        let mut p = Proc {
            child,
            name: "mako",
        };
        wait_until(SETUP_TIMEOUT, "mako on the session bus", || {
            self.mako_notifications().is_ok() || p.exited().is_some()
        })?;
        match p.exited() {
            Some(status) => Err(format!("mako exited: {status}: {}", self.mako_log())),
            None => Ok(p),
        }
    }

    /// What mako has logged so far.
    pub fn mako_log(&self) -> String {
        std::fs::read_to_string(self.runtime_dir().join("mako.log")).unwrap_or_default()
    }

    /// mako's notifications (`ListNotifications`, the call `makoctl list` makes, the
    /// same in every mako version) as JSON objects with plain values.
    pub fn mako_notifications(&self) -> Result<Vec<serde_json::Value>, String> {
        let out = self
            .command("busctl")
            .args([
                "-j",
                "--user",
                "call",
                "org.freedesktop.Notifications",
                "/fr/emersion/Mako",
                "fr.emersion.Mako",
                "ListNotifications",
            ])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("busctl: {e}"))?;
        if !out.status.success() {
            return Err(format!("busctl: {}", out.status));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("busctl output: {e}"))?;
        let list = v["data"][0].as_array().ok_or("no notification list")?;
        // {"summary":{"type":"s","data":"Discord"}, …} -> {"summary":"Discord", …}
        Ok(list
            .iter()
            .map(|n| {
                let obj = n.as_object().cloned().unwrap_or_default();
                obj.into_iter()
                    .map(|(k, v)| (k, v["data"].clone()))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect())
    }
}

/// The first `wayland-N` socket in `dir`.
fn wayland_socket(dir: &Path) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_socket = e.file_type().is_ok_and(|t| t.is_socket());
        (name.starts_with("wayland-") && is_socket).then_some(name)
    })
}
