//! Following the compositor: the focused window (for `@focused`) and key bindings that
//! reach the daemon without starting a process.
//!
//! Which compositor is the one the environment names: `HYPRLAND_INSTANCE_SIGNATURE`
//! (Hyprland), else `SWAYSOCK` or `I3SOCK` (sway, i3-compatible). With neither, the
//! daemon runs without: `@focused` answers `no_compositor`. The connection runs as a task
//! on the daemon's executor, is event-driven (no polling), and is re-made every
//! [`RETRY`] after the compositor goes away, finding a restarted one by scanning the
//! runtime directory (its socket path or signature is new). Everything read from the
//! compositor is untrusted input: bounded, parsed with defaults, never a panic.

pub mod hyprland;
pub mod shortcuts;
pub mod socket;
pub mod sway;

use crate::keys::{CommandError, KeyCommand, Keys};
use crate::procs::WindowPids;
use crate::service::Service;
use crate::state::Focus;
use smol::Timer;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How often to look for a compositor that went away.
pub const RETRY: Duration = Duration::from_secs(1);

/// What a compositor connection reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Connected to the compositor, whose pid this is (the socket's peer), if known.
    Peer(Option<u32>),
    Focus(Focus),
    /// A binding's `nop audio-daemon …` command (or why it is not a valid one).
    Command(Result<KeyCommand, CommandError>),
}

/// The compositor named in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Hyprland {
        runtime_dir: PathBuf,
        signature: String,
    },
    Sway {
        socket: PathBuf,
        runtime_dir: Option<PathBuf>,
    },
}

impl Kind {
    /// Reads the environment (through `var`, so tests need not change it).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Option<Kind> {
        let var = |k: &str| var(k).filter(|v| !v.is_empty());
        let runtime_dir = var("XDG_RUNTIME_DIR").map(PathBuf::from);
        if let (Some(signature), Some(runtime_dir)) =
            (var("HYPRLAND_INSTANCE_SIGNATURE"), runtime_dir.clone())
        {
            return Some(Kind::Hyprland {
                runtime_dir,
                signature,
            });
        }
        let socket = var("SWAYSOCK").or_else(|| var("I3SOCK"))?;
        Some(Kind::Sway {
            socket: socket.into(),
            runtime_dir,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Hyprland { .. } => "Hyprland",
            Kind::Sway { .. } => "sway",
        }
    }
}

/// What the daemon keeps of the compositor connection, to push reloads down to it.
#[derive(Default)]
pub struct Compositor {
    /// Hyprland's global shortcuts, when the daemon registers them.
    shortcuts: Option<shortcuts::Handle>,
}

impl Compositor {
    /// A reload: registers exactly these (id, description) keys from now on.
    pub fn set_keys(&self, keys: Vec<(String, String)>) {
        if let Some(h) = &self.shortcuts {
            h.set_keys(keys);
        }
    }
}

/// Starts following the compositor the environment names, if any: focus facts go to
/// the request service, bound commands and shortcut presses to `keys`.
pub fn start(
    ex: &Rc<smol::LocalExecutor<'static>>,
    service: Rc<Service>,
    keys: Rc<Keys>,
) -> Compositor {
    let Some(kind) = Kind::detect(|k| std::env::var(k).ok()) else {
        eprintln!(
            "audio-daemon: no compositor named in the environment (HYPRLAND_INSTANCE_SIGNATURE, \
             SWAYSOCK): @focused and compositor keys are off"
        );
        return Compositor::default();
    };
    service.focus(Focus::Lost {
        compositor: kind.name(),
    });
    let mut compositor = Compositor::default();
    if let Kind::Hyprland {
        runtime_dir,
        signature,
    } = &kind
    {
        compositor.shortcuts = start_shortcuts(ex, runtime_dir, signature, &keys);
    }
    // Reads /proc: the daemon's own ancestors now, the compositor's on each connect.
    let mut windows = WindowPids::default();
    ex.spawn(follow(kind, move |o| match o {
        Output::Peer(pid) => windows.set_compositor(pid),
        Output::Focus(f) => {
            if matches!(f, Focus::Lost { .. }) {
                keys.release_all();
            }
            service.focus(identify(&windows, f));
        }
        Output::Command(c) => keys.command(c, Instant::now()),
    }))
    .detach();
    compositor
}

/// A focused window with its process identified, if its pid is trusted to stand for
/// it (see [`WindowPids`]); otherwise `@focused` matches it by class alone.
fn identify(windows: &WindowPids, focus: Focus) -> Focus {
    match focus {
        Focus::Window(w) => {
            let process = w.pid.and_then(|p| windows.identify(p));
            Focus::Window(w.identified(process))
        }
        other => other,
    }
}

/// Registers the configured keys as Hyprland global shortcuts and feeds their presses
/// and releases to `keys`.
fn start_shortcuts(
    ex: &Rc<smol::LocalExecutor<'static>>,
    runtime_dir: &std::path::Path,
    signature: &str,
    keys: &Rc<Keys>,
) -> Option<shortcuts::Handle> {
    match shortcuts::spawn(
        runtime_dir.to_owned(),
        signature.to_owned(),
        keys.described(),
    ) {
        Ok((handle, events)) => {
            let keys = keys.clone();
            ex.spawn(async move {
                while let Ok(ev) = events.recv().await {
                    let cmd = if ev.pressed {
                        KeyCommand::Press(ev.id)
                    } else {
                        KeyCommand::Release(ev.id)
                    };
                    keys.command(Ok(cmd), ev.at);
                }
            })
            .detach();
            Some(handle)
        }
        Err(e) => {
            eprintln!("audio-daemon: cannot start the global shortcuts thread: {e}");
            None
        }
    }
}

/// Follows the compositor forever, reconnecting; `emit` gets every output, and a
/// [`Focus::Lost`] whenever the connection is down.
pub async fn follow(kind: Kind, mut emit: impl FnMut(Output)) {
    let name = kind.name();
    let mut logged_absent = false;
    loop {
        let ended = match &kind {
            Kind::Hyprland {
                runtime_dir,
                signature,
            } => match hyprland::find_instance(runtime_dir, Some(signature)).await {
                Some(inst) => {
                    logged_absent = false;
                    eprintln!("audio-daemon: following Hyprland at {}", inst.dir.display());
                    Some(
                        hyprland::session(&inst, &mut emit)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                }
                None => None,
            },
            Kind::Sway {
                socket,
                runtime_dir,
            } => match sway::find_socket(Some(socket), runtime_dir.as_deref()).await {
                Some(path) => {
                    logged_absent = false;
                    eprintln!("audio-daemon: following sway at {}", path.display());
                    Some(
                        sway::session(&path, &mut emit)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                }
                None => None,
            },
        };
        match ended {
            Some(Err(e)) => eprintln!("audio-daemon: lost {name} ({e}); reconnecting"),
            Some(Ok(())) => eprintln!("audio-daemon: {name} closed the connection; reconnecting"),
            None if !logged_absent => {
                logged_absent = true;
                eprintln!("audio-daemon: {name} is not running; looking for it every {RETRY:?}");
            }
            None => {}
        }
        emit(Output::Focus(Focus::Lost { compositor: name }));
        Timer::after(RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_names_the_compositor() {
        assert_eq!(Kind::detect(env(&[])), None);
        assert_eq!(Kind::detect(env(&[("SWAYSOCK", "")])), None);
        assert_eq!(
            Kind::detect(env(&[
                ("SWAYSOCK", "/run/s.sock"),
                ("XDG_RUNTIME_DIR", "/run")
            ])),
            Some(Kind::Sway {
                socket: "/run/s.sock".into(),
                runtime_dir: Some("/run".into())
            })
        );
        assert!(matches!(
            Kind::detect(env(&[("I3SOCK", "/i3")])),
            Some(Kind::Sway { .. })
        ));
        // Hyprland sets both when sway's variables leak in from a parent session.
        assert_eq!(
            Kind::detect(env(&[
                ("SWAYSOCK", "/run/s.sock"),
                ("HYPRLAND_INSTANCE_SIGNATURE", "sig"),
                ("XDG_RUNTIME_DIR", "/run")
            ])),
            Some(Kind::Hyprland {
                runtime_dir: "/run".into(),
                signature: "sig".into()
            })
        );
    }
}
