//! The daemon's life cycle: configuration, socket, PipeWire thread, signals.

use crate::config::{Config, ConfigError};
use crate::memory::writer::{Saver, Writer};
use crate::memory::{self, Memory};
use crate::osd;
use crate::protocol::Event;
use crate::pw::PipewireThread;
use crate::server::{self, slots, BindError, Listener};
use crate::service::Service;
use crate::waybar;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use smol::future::FutureExt;
use smol::io::AsyncReadExt;
use smol::Async;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::rc::Rc;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    pub config: Option<PathBuf>,
    /// Whether `config` was named by the user (then it must exist).
    pub config_explicit: bool,
}

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    Config(ConfigError),
    Bind(BindError),
    Pipewire(pipewire::Error),
    Io(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "{e}"),
            StartError::Bind(e) => write!(f, "{e}"),
            StartError::Pipewire(e) => write!(f, "cannot start the PipeWire thread: {e}"),
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

fn load(opts: &Options) -> Result<Config, ConfigError> {
    match &opts.config {
        Some(p) => Config::load(p, opts.config_explicit),
        None => Ok(Config::default()),
    }
}

/// Loads the configuration on a thread that ends with the read. Not `smol::unblock`: its
/// pool thread outlives the call and wakes twice a second for good, on a daemon that
/// otherwise sleeps between keypresses. Where no thread can be started, the read happens
/// here, on the caller's executor (a config file is small and regular; see `config::read`).
async fn load_on_own_thread(opts: &Options) -> Result<Config, ConfigError> {
    let (tx, rx) = smol::channel::bounded(1);
    let thread_opts = opts.clone();
    let spawned = std::thread::Builder::new()
        .name("config".into())
        .spawn(move || {
            let _ = tx.send_blocking(load(&thread_opts));
        });
    match spawned {
        Ok(_) => match rx.recv().await {
            Ok(loaded) => loaded,
            // The thread died without an answer (it cannot panic on input, but be safe).
            Err(_) => load(opts),
        },
        Err(_) => load(opts),
    }
}

/// A stream that becomes readable whenever `signal` arrives.
fn signal_stream(signal: i32) -> std::io::Result<Async<UnixStream>> {
    let (read, write) = UnixStream::pair()?;
    signal_hook::low_level::pipe::register(signal, write)?;
    Async::new(read)
}

async fn wait_signal(s: &Async<UnixStream>) {
    let mut buf = [0u8; 16];
    let mut r = s;
    // A read error would repeat forever; treat it as the signal having arrived.
    let _ = r.read(&mut buf).await;
}

/// A panic is a bug, and release builds abort on it (`panic = "abort"`): no thread tries
/// to carry on with state a half-done transition may have broken (see `pw` for why the
/// PipeWire thread does not catch panics). What the process can still do is not leave its
/// socket behind, so clients get "no daemon" at once rather than a refused connection,
/// and the supervisor's restart binds afresh.
fn remove_socket_on_panic(path: &std::path::Path) {
    let path = path.to_owned();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = std::fs::remove_file(&path);
        default(info);
    }));
}

/// Raises the open-file limit and derives the connection cap from what it got.
fn connection_cap() -> usize {
    match slots::raise_nofile_limit() {
        Ok(limit) => {
            let cap = slots::cap_for_limit(limit);
            if cap < slots::MAX_CONNECTIONS {
                eprintln!(
                    "audio-daemon: the open-file limit ({limit}) allows {cap} connections \
                     (instead of {})",
                    slots::MAX_CONNECTIONS
                );
            }
            cap
        }
        Err(e) => {
            eprintln!("audio-daemon: cannot read the open-file limit ({e}); assuming 1024");
            slots::cap_for_limit(1024)
        }
    }
}

/// Runs until SIGTERM or SIGINT.
pub fn run(opts: Options) -> Result<(), StartError> {
    let config = load(&opts).map_err(StartError::Config)?;
    // Socket first: a second instance must fail before touching anything else.
    let listener = Rc::new(Listener::bind(&opts.socket).map_err(StartError::Bind)?);
    remove_socket_on_panic(listener.path());
    let term = signal_stream(SIGTERM).map_err(StartError::Io)?;
    let int = signal_stream(SIGINT).map_err(StartError::Io)?;
    let hup = signal_stream(SIGHUP).map_err(StartError::Io)?;

    let waybar = waybar::Signaller::spawn(config.waybar_signal).map_err(StartError::Io)?;
    let (memory, writer) = open_memory(config.state_write_delay)?;
    let osd_settings = osd::Settings::of(&config);
    let (writer, saver) = writer.unzip();
    let (events_tx, events_rx) = smol::channel::unbounded::<Event>();
    let key_config = config.clone();
    let pw =
        PipewireThread::spawn(config, memory, saver, events_tx).map_err(StartError::Pipewire)?;
    eprintln!(
        "audio-daemon {}: listening on {}",
        env!("CARGO_PKG_VERSION"),
        listener.path().display()
    );

    // From the top down: the entrances (the socket, the compositor's keys) hand every
    // request to the one service, which hands it on to the PipeWire thread.
    let ex = Rc::new(smol::LocalExecutor::new());
    let feedback = osd::Feedback::spawn(&ex, osd_settings);
    let service = Service::new(Box::new(pw), ex.clone(), feedback, waybar);
    let keys = crate::keys::Keys::new(service.clone(), ex.clone(), &key_config);
    let compositor = crate::compositor::start(&ex, service.clone(), keys.clone());
    // PipeWire's events: to subscribers, waybar and (other mixers' changes) the OSD.
    ex.spawn({
        let service = service.clone();
        async move {
            while let Ok(ev) = events_rx.recv().await {
                service.publish(&ev);
            }
        }
    })
    .detach();
    // SIGHUP: reload; a bad file keeps the running config. The new settings are pushed
    // down: to the keys, to the compositor's shortcut registrations, to the service.
    ex.spawn({
        let service = service.clone();
        let opts = opts.clone();
        async move {
            loop {
                wait_signal(&hup).await;
                // Off this executor, which serves the socket: a slow file system must not
                // hold up a keypress. Signals that arrive meanwhile wait in the signal
                // pipe and cause one more reload.
                let loaded = load_on_own_thread(&opts).await;
                match loaded {
                    Ok(config) => {
                        keys.set_config(&config);
                        compositor.set_keys(keys.described());
                        service.configure(&config);
                        eprintln!("audio-daemon: configuration reloaded");
                    }
                    Err(e) => {
                        eprintln!("audio-daemon: reload failed, keeping the old configuration: {e}")
                    }
                }
            }
        }
    })
    .detach();
    ex.spawn(server::serve(
        listener.clone(),
        service.clone(),
        connection_cap(),
        ex.clone(),
    ))
    .detach();

    smol::block_on(ex.run(wait_signal(&term).or(wait_signal(&int))));
    eprintln!("audio-daemon: shutting down");
    // The detached tasks keep the listener and the service alive until the process
    // exits, so remove the socket and stop the PipeWire thread explicitly.
    let _ = std::fs::remove_file(listener.path());
    service.shutdown();
    // The PipeWire thread hands over its last change and drops its sender on Shutdown.
    if let Some(w) = writer {
        w.finish(SAVE_TIMEOUT);
    }
    Ok(())
}

/// How long shutdown waits for the last save of remembered volumes.
const SAVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Remembered volumes from the state file, and the thread that saves changes to them.
/// Without a state directory (no HOME) volumes are still remembered, until exit.
fn open_memory(
    delay: std::time::Duration,
) -> Result<(Memory, Option<(Writer, Saver)>), StartError> {
    let Some(dir) = memory::file::state_dir() else {
        eprintln!(
            "audio-daemon: no state directory (STATE_DIRECTORY, XDG_STATE_HOME and HOME are \
             unset); remembered volumes last until the daemon stops"
        );
        return Ok((Memory::default(), None));
    };
    let memory = memory::file::open(&dir);
    let writer = Writer::spawn(dir, delay).map_err(StartError::Io)?;
    Ok((memory, Some(writer)))
}
