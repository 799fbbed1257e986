//! A private PipeWire for tests, the demo and the benchmark.
//!
//! [`Session::start`] runs dbus-daemon (a session bus that activates nothing), pipewire
//! and wireplumber in a fresh runtime directory (mode 0700) with their own HOME and
//! state, adds a null sink, and waits until WirePlumber has made it the default. Everything it starts is killed by PID
//! when the session is dropped; nothing else is touched.
//!
//! Observers are independent of the daemon: `wpctl get-volume` and `pw-dump`.

pub mod desktop;
mod handles;
mod procs;
pub mod rng;

pub use handles::{Client, Daemon, Streams};
pub use procs::{Proc, TempDir};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The name of the null sink every session has.
pub const SINK: &str = "test-sink";

/// How long set-up steps may take before the harness gives up (CI machines are slow).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether a server accepts connections on the Unix socket `path`. Its file existing is
/// not enough: it is there from bind(2), before listen(2), and WirePlumber started in
/// between fails to connect and exits.
fn listens(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Polls `cond` every few milliseconds until it holds or `timeout` passes.
/// This is synchronisation on an observable condition, with a deadline, not a sleep.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
) -> Result<(), String> {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Makes a long-lived child die with the thread that started it. Drop handlers kill
/// children normally, but not when the owner aborts (release builds abort on panic), and
/// a stray private PipeWire must not outlive a crashed test, demo or benchmark.
fn die_with_parent(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl, which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            // prctl is variadic: pass the signal at the width it reads.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// The private session bus: the stock session policy (anything may be sent, received,
/// owned or monitored by the one user), and no `<servicedir>`, so nothing is activated.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>ADDRESS</listen>
  <listen>ABSTRACT</listen>
  <servicedir>SERVICES</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private PipeWire + WirePlumber.
pub struct Session {
    // Drop order: the processes, newest first, then the directory.
    procs: Vec<Proc>,
    dir: TempDir,
    bin_dir: PathBuf,
    pub sink_id: u32,
    /// Variables every command of the session gets (see [`Session::set_env`]).
    env: Vec<(String, String)>,
}

fn need(program: &str) -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        Err(format!(
            "{program} is not installed; the tests need a real PipeWire \
             (Debian: apt-get install pipewire pipewire-bin wireplumber dbus; \
             set AUDIO_DAEMON_PW_TESTS=0 to skip them)"
        ))
    }
}

impl Session {
    /// Starts everything. `bin_dir` holds this project's binaries.
    pub fn start(bin_dir: &Path) -> Result<Session, String> {
        for p in [
            "dbus-daemon",
            "pipewire",
            "wireplumber",
            "pw-cli",
            "wpctl",
            "pw-dump",
        ] {
            need(p)?;
        }
        // The project's own programs: the stream helper lives in the tools crate, which a
        // plain `cargo test -p audio-daemon` does not build.
        for p in ["audio-daemon", "audio-daemon-streams"] {
            if !bin_dir.join(p).is_file() {
                return Err(format!(
                    "{p} is not in {}: build the workspace's binaries first \
                     (`cargo build --workspace --bins`; scripts/test.sh does)",
                    bin_dir.display()
                ));
            }
        }
        let dir = TempDir::new("audio-daemon-pw").map_err(|e| e.to_string())?;
        for sub in ["home", "config", "state"] {
            std::fs::create_dir(dir.path().join(sub)).map_err(|e| e.to_string())?;
        }
        let mut s = Session {
            procs: Vec::new(),
            dir,
            bin_dir: bin_dir.to_owned(),
            sink_id: 0,
            env: Vec::new(),
        };
        // A session bus of our own, whose only service directory is ours and empty unless
        // a test puts an activation file there: the stock session config would
        // D-Bus-activate whatever is installed (mako-notifier ships an activation file for
        // org.freedesktop.Notifications), so "no notification service" could never be
        // tested, and a test's notification could start the desktop's daemon.
        let bus_config = s.dir.path().join("bus.conf");
        let bus_address = format!("unix:path={}", s.bus_path().display());
        std::fs::create_dir(s.bus_services_dir()).map_err(|e| e.to_string())?;
        let config = BUS_CONFIG
            .replace("ADDRESS", &bus_address)
            .replace("ABSTRACT", &s.bus_abstract_address())
            .replace("SERVICES", &s.bus_services_dir().display().to_string());
        std::fs::write(&bus_config, config).map_err(|e| e.to_string())?;
        // dbus prints its address once it listens: that is the readiness signal.
        let mut dbus = die_with_parent(&mut s.command("dbus-daemon"))
            .arg(format!("--config-file={}", bus_config.display()))
            .args(["--nofork", "--nopidfile", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-daemon: {e}"))?;
        let out = dbus.stdout.take().expect("piped");
        s.procs.push(Proc {
            child: dbus,
            name: "dbus-daemon",
        });
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| format!("dbus-daemon: {e}"))?;
        s.spawn_quiet("pipewire", &[])?;
        let socket = s.runtime_dir().join("pipewire-0");
        wait_until(SETUP_TIMEOUT, "PipeWire to listen", || listens(&socket))?;
        s.spawn_quiet("wireplumber", &[])?;
        s.add_sink()?;
        Ok(s)
    }

    /// Creates the null sink and waits until WirePlumber has made it the default.
    fn add_sink(&mut self) -> Result<(), String> {
        let status = self
            .command("pw-cli")
            .args([
                "create-node",
                "adapter",
                &format!(
                    "{{ factory.name=support.null-audio-sink node.name={SINK} \
                     media.class=Audio/Sink object.linger=true audio.position=[FL FR] }}"
                ),
            ])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("pw-cli: {e}"))?;
        if !status.success() {
            return Err(format!("pw-cli create-node failed: {status}"));
        }
        // WirePlumber is up once it has chosen the null sink as the default.
        let mut sink = None;
        wait_until(
            SETUP_TIMEOUT,
            "WirePlumber to pick the default sink",
            || {
                sink = self.default_sink_id();
                sink.is_some()
            },
        )?;
        self.sink_id = sink.expect("checked");
        Ok(())
    }

    pub fn runtime_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_STATE_HOME` of everything this session runs (the daemon's state file lives
    /// in its `audio-daemon/` directory).
    pub fn state_home(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The session bus's socket (its address is `unix:path=` this).
    pub fn bus_path(&self) -> PathBuf {
        self.dir.path().join("bus")
    }

    /// The same session bus at an abstract socket (`unix:abstract=`), as older
    /// dbus-launch and some containers give it. The session's commands get the path
    /// address; a test sets this one with [`Session::set_env`].
    pub fn bus_abstract_address(&self) -> String {
        // Abstract names are global to the network namespace: the private dir's
        // (unique) name keeps two sessions apart.
        let unique = self.dir.path().file_name().unwrap_or_default();
        format!(
            "unix:abstract=audio-daemon-test/{}",
            unique.to_string_lossy()
        )
    }

    /// The session bus's service directory (D-Bus activation files; empty at the start).
    pub fn bus_services_dir(&self) -> PathBuf {
        self.dir.path().join("dbus-services")
    }

    /// This project's binary `name`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// A command that talks to this session's PipeWire and nothing else.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let d = self.dir.path();
        c.env("XDG_RUNTIME_DIR", d)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.bus_path().display()),
            )
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env_remove("PIPEWIRE_REMOTE")
            .env_remove("AUDIO_DAEMON_SOCKET")
            // Never the desktop the tests happen to run on: a compositor is only what
            // a test sets with `set_env`.
            .env_remove("SWAYSOCK")
            .env_remove("I3SOCK")
            .env_remove("HYPRLAND_INSTANCE_SIGNATURE")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Gives every later command of the session `key=value` (e.g. the `SWAYSOCK` of a
    /// compositor the test started).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Starts a long-lived helper process (a compositor, a terminal) that dies with the
    /// session: killed by PID when the session is dropped.
    pub fn spawn_owned(&mut self, mut cmd: Command, name: &'static str) -> Result<u32, String> {
        let child = die_with_parent(&mut cmd)
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        let pid = child.id();
        self.procs.push(Proc { child, name });
        Ok(pid)
    }

    /// Kills one process started with [`Session::spawn_owned`], by PID; returns whether
    /// it was there.
    pub fn kill_owned(&mut self, pid: u32) -> bool {
        let before = self.procs.len();
        self.procs.retain(|p| p.child.id() != pid);
        before != self.procs.len()
    }

    fn spawn_quiet(&mut self, program: &'static str, args: &[&str]) -> Result<(), String> {
        let child = die_with_parent(&mut self.command(program))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{program}: {e}"))?;
        self.procs.push(Proc {
            child,
            name: program,
        });
        Ok(())
    }

    /// The PID of a process this session started (`"pipewire"`, `"wireplumber"`, ...).
    pub fn pid_of(&self, name: &str) -> Option<u32> {
        self.procs.iter().find(|p| p.name == name).map(Proc::pid)
    }

    /// Stops this session's pipewire (to test losing it); returns whether it was running.
    pub fn kill_pipewire(&mut self) -> bool {
        let before = self.procs.len();
        self.procs
            .retain(|p| p.name != "pipewire" && p.name != "wireplumber");
        before != self.procs.len()
    }

    /// Starts pipewire, wireplumber and the null sink again after [`Session::kill_pipewire`].
    pub fn restart_pipewire(&mut self) -> Result<(), String> {
        let socket = self.runtime_dir().join("pipewire-0");
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(self.runtime_dir().join("pipewire-0.lock"));
        self.spawn_quiet("pipewire", &[])?;
        wait_until(SETUP_TIMEOUT, "PipeWire to listen", || listens(&socket))?;
        self.spawn_quiet("wireplumber", &[])?;
        self.add_sink()
    }

    /// The whole graph as pw-dump prints it.
    pub fn pw_dump(&self) -> Result<serde_json::Value, String> {
        let out = self
            .command("pw-dump")
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("pw-dump: {e}"))?;
        serde_json::from_slice(&out.stdout).map_err(|e| format!("pw-dump output: {e}"))
    }

    fn default_sink_id(&self) -> Option<u32> {
        let dump = self.pw_dump().ok()?;
        let objs = dump.as_array()?;
        let name = objs.iter().find_map(|o| {
            if o["props"]["metadata.name"] != "default" {
                return None;
            }
            o["metadata"].as_array()?.iter().find_map(|m| {
                (m["key"] == "default.audio.sink")
                    .then(|| m["value"]["name"].as_str().map(str::to_owned))?
            })
        })?;
        (name == SINK).then_some(())?;
        objs.iter().find_map(|o| {
            (o["info"]["props"]["node.name"] == SINK)
                .then(|| o["id"].as_u64())?
                .map(|i| i as u32)
        })
    }

    /// A node's `channelVolumes` and `mute` as pw-dump reports them.
    pub fn dump_volume(&self, id: u32) -> Option<(Vec<f64>, bool)> {
        let dump = self.pw_dump().ok()?;
        let node = dump.as_array()?.iter().find(|o| o["id"] == id)?;
        let props = node["info"]["params"]["Props"].as_array()?;
        let p = props.iter().find(|p| p.get("channelVolumes").is_some())?;
        let ch = p["channelVolumes"]
            .as_array()?
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        Some((ch, p["mute"].as_bool().unwrap_or(false)))
    }

    /// `wpctl get-volume ID`: (volume on the cubic scale as wpctl prints it, muted).
    /// None when wpctl does not know the node (it has vanished).
    pub fn wpctl_volume(&self, id: u32) -> Option<(f64, bool)> {
        let out = self
            .command("wpctl")
            .args(["get-volume", &id.to_string()])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let rest = text.trim().strip_prefix("Volume: ")?;
        let number = rest.split_whitespace().next()?.parse().ok()?;
        Some((number, rest.contains("[MUTED]")))
    }

    /// `wpctl set-volume ID VALUE` (another mixer changing a stream).
    pub fn wpctl_set_volume(&self, id: u32, value: &str) -> Result<(), String> {
        let s = self
            .command("wpctl")
            .args(["set-volume", &id.to_string(), value])
            .status()
            .map_err(|e| e.to_string())?;
        s.success()
            .then_some(())
            .ok_or(format!("wpctl set-volume failed: {s}"))
    }

    /// Starts `count` streams with `props`; returns once PipeWire has given them ids.
    pub fn streams(&self, count: usize, props: &[(&str, &str)]) -> Result<Streams, String> {
        self.streams_with(count, props, true)
    }

    /// Like [`Session::streams`]; `link = false` leaves them unlinked (cheap, for scale).
    pub fn streams_with(
        &self,
        count: usize,
        props: &[(&str, &str)],
        link: bool,
    ) -> Result<Streams, String> {
        let mut c = self.command(self.bin("audio-daemon-streams"));
        c.arg("--count").arg(count.to_string());
        if !link {
            c.arg("--no-link");
        }
        for (k, v) in props {
            c.arg("--prop").arg(format!("{k}={v}"));
        }
        let child = die_with_parent(&mut c)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("audio-daemon-streams: {e}"))?;
        Streams::wait_ready(child)
    }

    /// Starts the daemon with `config` (JSON text) and waits until it is connected.
    /// Unless the config sets `waybar_signal`, signalling is turned off: a test must not
    /// signal the waybar of the desktop it happens to run on.
    pub fn daemon(&self, config: &str) -> Result<Daemon, String> {
        let mut d = self.spawn_daemon(config)?;
        d.wait_connected()?;
        Ok(d)
    }

    /// Starts the daemon without waiting for it to connect (PipeWire may be absent).
    pub fn spawn_daemon(&self, config: &str) -> Result<Daemon, String> {
        self.spawn_daemon_with_nofile(config, None)
    }

    /// Like [`Session::spawn_daemon`]; `nofile` sets the daemon's soft and hard open-file
    /// limit (as `ulimit -n` would).
    pub fn spawn_daemon_with_nofile(
        &self,
        config: &str,
        nofile: Option<u64>,
    ) -> Result<Daemon, String> {
        let config_path = self.dir.path().join("config.json");
        let mut value: serde_json::Value =
            serde_json::from_str(config).map_err(|e| format!("test config: {e}"))?;
        if let Some(obj) = value.as_object_mut() {
            obj.entry("waybar_signal")
                .or_insert(serde_json::Value::Null);
        }
        std::fs::write(&config_path, value.to_string()).map_err(|e| e.to_string())?;
        let socket = self.dir.path().join("audio-daemon.sock");
        let log = self.dir.path().join("audio-daemon.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut cmd = self.command(self.bin("audio-daemon"));
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = die_with_parent(&mut cmd)
            .arg("--socket")
            .arg(&socket)
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("audio-daemon: {e}"))?;
        let d = Daemon {
            proc: Proc {
                child,
                name: "audio-daemon",
            },
            socket,
            config: config_path,
            log,
        };
        Ok(d)
    }
}
