//! The desktop under test: the harness's private PipeWire, headless sway in the same
//! runtime directory, `foot` windows, and the daemon following sway.

use audio_daemon_ipc::{AppState, Reply, Request, Response};
use audio_daemon_testkit::{wait_until, Daemon, Session, SETUP_TIMEOUT};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A session with sway.
pub struct Desk {
    // Field order is drop order: the daemon before the session that owns sway.
    pub daemon: Option<Daemon>,
    pub s: Session,
    pub sway_pid: u32,
    pub swaysock: PathBuf,
    /// sway's Wayland display (`wayland-N`).
    pub display: String,
    starts: u32,
}

impl Desk {
    /// Starts PipeWire and sway with `binds` (sway config lines) added to a minimal config.
    pub fn start(bin_dir: &Path, binds: &str) -> Result<Desk, String> {
        let s = Session::start(bin_dir)?;
        let mut d = Desk {
            daemon: None,
            s,
            sway_pid: 0,
            swaysock: PathBuf::new(),
            display: String::new(),
            starts: 0,
        };
        let conf = d.s.runtime_dir().join("sway.conf");
        std::fs::write(&conf, binds).map_err(|e| e.to_string())?;
        d.start_sway()?;
        Ok(d)
    }

    /// Starts (or restarts) sway and waits until it runs its config's `exec`, which
    /// reports the Wayland display and IPC socket it gives its clients.
    pub fn start_sway(&mut self) -> Result<(), String> {
        self.starts += 1;
        let dir = self.s.runtime_dir().to_owned();
        let ready = dir.join(format!("sway-ready.{}", self.starts));
        let conf = dir.join("sway.conf");
        let run_conf = dir.join(format!("sway-run.{}.conf", self.starts));
        let binds = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
        // No key repeat: on a loaded machine wtype's release can come late enough for
        // sway to repeat a bind, and each check counts steps exactly.
        let text = format!(
            "input type:keyboard repeat_delay 60000\n{binds}\nexec sh -c 'echo \"$WAYLAND_DISPLAY $SWAYSOCK\" > {r}.tmp && mv {r}.tmp {r}'\n",
            r = ready.display()
        );
        std::fs::write(&run_conf, text).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join(format!("sway.{}.log", self.starts)))
            .map_err(|e| e.to_string())?;
        let mut cmd = self.s.command("sway");
        cmd.arg("-c")
            .arg(&run_conf)
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .stdout(Stdio::null())
            .stderr(log);
        self.sway_pid = self.s.spawn_owned(cmd, "sway")?;
        let mut line = String::new();
        wait_until(SETUP_TIMEOUT, "sway to start", || {
            line = std::fs::read_to_string(&ready).unwrap_or_default();
            !line.trim().is_empty()
        })
        .map_err(|e| format!("{e} (log: {}/sway.{}.log)", dir.display(), self.starts))?;
        let mut words = line.split_whitespace();
        let (Some(display), Some(sock)) = (words.next(), words.next()) else {
            return Err(format!("sway reported {line:?}"));
        };
        self.s.set_env("WAYLAND_DISPLAY", display);
        self.s.set_env("SWAYSOCK", sock);
        self.swaysock = sock.into();
        self.display = display.to_owned();
        Ok(())
    }

    /// Kills sway (by its PID); its windows go with it.
    pub fn kill_sway(&mut self) {
        self.s.kill_owned(self.sway_pid);
    }

    /// Starts the daemon (it inherits `SWAYSOCK`), waiting until it is connected.
    pub fn start_daemon(&mut self, config: &str) -> Result<(), String> {
        self.daemon = Some(self.s.daemon(config)?);
        Ok(())
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("daemon started")
    }

    pub fn call(&self, req: Request) -> Result<Reply, String> {
        self.daemon().client()?.call(&req)
    }

    pub fn get(&self, app: &str) -> Result<AppState, String> {
        match self.call(Request::Get { app: app.into() })? {
            Ok(Response::App(a)) => Ok(a),
            other => Err(format!("get {app}: {other:?}")),
        }
    }

    /// A `foot` window with `app_id` running `cmd`; waits until sway maps it.
    pub fn window(&mut self, app_id: &str, cmd: &[&str]) -> Result<u32, String> {
        let mut c = self.s.command("foot");
        c.args(["--app-id", app_id, "--title", &format!("{app_id} title")])
            .args(cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let pid = self.s.spawn_owned(c, "foot")?;
        wait_until(SETUP_TIMEOUT, &format!("window {app_id}"), || {
            self.window_pid(app_id) == Some(pid)
        })?;
        Ok(pid)
    }

    /// The pid sway gives the window with `app_id`.
    pub fn window_pid(&self, app_id: &str) -> Option<u32> {
        let out = self.swaymsg(&["-r", "-t", "get_tree"]).ok()?;
        let tree: serde_json::Value = serde_json::from_str(&out).ok()?;
        find(&tree, &|n| n["app_id"] == app_id)?["pid"]
            .as_u64()
            .map(|p| p as u32)
    }

    pub fn swaymsg(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .s
            .command("swaymsg")
            .args(args)
            .output()
            .map_err(|e| format!("swaymsg: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "swaymsg {args:?}: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Focuses a window and waits until the daemon's `@focused` names it.
    pub fn focus(&self, app_id: &str) -> Result<(), String> {
        self.swaymsg(&[&format!("[app_id=\"{app_id}\"] focus")])?;
        let mut last = String::new();
        wait_until(
            SETUP_TIMEOUT,
            &format!("@focused to be {app_id}"),
            || match self.get("@focused") {
                Ok(a) => a.window.is_some_and(|w| w.class == app_id),
                Err(e) => {
                    last = e;
                    false
                }
            },
        )
        .map_err(|e| format!("{e} (last: {last})"))
    }

    /// Presses keys with wtype (one process per press, as a person would type).
    pub fn wtype(&self, args: &[&str]) -> Result<(), String> {
        let st = self
            .s
            .command("wtype")
            .args(args)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("wtype: {e}"))?;
        st.success()
            .then_some(())
            .ok_or(format!("wtype {args:?} failed: {st}"))
    }

    /// The playback stream whose `application.name` is `name`.
    pub fn stream_id(&self, name: &str) -> Option<u32> {
        let dump = self.s.pw_dump().ok()?;
        let node = find(&dump, &|o| {
            o["info"]["props"]["media.class"] == "Stream/Output/Audio"
                && o["info"]["props"]["application.name"] == name
        })?;
        node["id"].as_u64().map(|i| i as u32)
    }

    pub fn wait_stream(&self, name: &str) -> Result<u32, String> {
        let mut id = None;
        wait_until(SETUP_TIMEOUT, &format!("stream {name}"), || {
            id = self.stream_id(name);
            id.is_some()
        })?;
        Ok(id.expect("checked"))
    }

    /// wpctl's volume of a node in percent (cubic, as wpctl prints it times 100).
    pub fn wpctl(&self, id: u32) -> Result<f64, String> {
        let (v, _) = self
            .s
            .wpctl_volume(id)
            .ok_or(format!("wpctl knows no node {id}"))?;
        Ok((v * 100.0).round())
    }

    /// Sets a node's volume with wpctl and waits until it holds. Set again while it
    /// does not: WirePlumber restores a new stream's volume at about the same time, and
    /// whichever lands last wins.
    pub fn set_wpctl(&self, id: u32, percent: f64) -> Result<(), String> {
        let value = format!("{:.2}", percent / 100.0);
        let mut last = f64::NAN;
        wait_until(
            SETUP_TIMEOUT,
            &format!("node {id} to stay at {percent} %"),
            || {
                if self.s.wpctl_set_volume(id, &value).is_err() {
                    return false;
                }
                let held = wait_until(Duration::from_secs(1), "", || {
                    last = self.wpctl(id).unwrap_or(f64::NAN);
                    last == percent
                });
                held.is_ok()
            },
        )
        .map_err(|e| format!("{e}: wpctl shows {last} %"))
    }

    /// Waits until wpctl shows `percent` for a node.
    pub fn expect_wpctl(&self, id: u32, percent: f64, what: &str) -> Result<(), String> {
        let mut last = f64::NAN;
        wait_until(Duration::from_secs(5), what, || {
            last = self.wpctl(id).unwrap_or(f64::NAN);
            last == percent
        })
        .map_err(|e| format!("{e}: wpctl shows {last} %, expected {percent} %"))
    }

    /// `audioctl ARGS` against this daemon: (exit code, stdout, stderr).
    pub fn audioctl(&self, args: &[&str]) -> Result<(i32, String, String), String> {
        let out = self
            .s
            .command(self.s.bin("audioctl"))
            .arg("--socket")
            .arg(&self.daemon().socket)
            .args(args)
            .output()
            .map_err(|e| format!("audioctl: {e}"))?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// A command for this session (for the benchmark's own processes).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.s.command(program)
    }
}

/// Depth-first search of a JSON value for an object satisfying `pred`.
pub fn find<'a>(
    v: &'a serde_json::Value,
    pred: &dyn Fn(&serde_json::Value) -> bool,
) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => {
            if pred(v) {
                return Some(v);
            }
            m.values().find_map(|c| find(c, pred))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|c| find(c, pred)),
        _ => None,
    }
}
