//! The Unix socket, one entrance to the request service (`service`): binding it
//! safely, serving connections, and the event stream.
//!
//! Every connection is its own task on one local executor, so a slow or silent client
//! only ever holds up itself: reads have an idle timeout, writes a deadline, and a
//! subscriber whose bounded queue fills up is dropped. A connection only parses
//! request lines, hands each request to the service and writes its reply.

mod conn;
pub mod slots;

use crate::protocol::{self, Error, ErrorKind};
use crate::service::Service;
use conn::{connection, write_line};
use slots::Slots;
use smol::{Async, Timer};
use std::fmt;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub use conn::{IDLE_TIMEOUT, SUBSCRIBER_QUEUE, WRITE_TIMEOUT};
pub use slots::MAX_CONNECTIONS;

/// Why the socket could not be set up.
#[derive(Debug)]
pub enum BindError {
    /// A daemon answers on the socket already.
    AlreadyRunning(PathBuf),
    PathTooLong(protocol::SocketPathTooLong),
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::AlreadyRunning(p) => write!(
                f,
                "another audio-daemon is already running on {} (stop it first, or use --socket)",
                p.display()
            ),
            BindError::PathTooLong(e) => write!(f, "cannot listen: {e}"),
            BindError::Io(p, e) => write!(f, "cannot listen on {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

/// The listening socket; removes its file when dropped (before the lock is released).
pub struct Listener {
    inner: Async<UnixListener>,
    path: PathBuf,
    _lock: std::fs::File,
}

/// Takes the exclusive lock on `PATH.lock` (see [`Listener::bind`]). The file stays when
/// the daemon exits: unlinking it would let a third daemon lock a fresh file while a
/// second one holds the old.
fn lock(path: &Path) -> Result<std::fs::File, BindError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&lock_path)
        .map_err(|e| BindError::Io(lock_path.clone(), e))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            BindError::AlreadyRunning(path.to_owned())
        } else {
            BindError::Io(lock_path, e)
        });
    }
    Ok(file)
}

impl Listener {
    /// Binds `path` with mode 0600. A socket file nobody answers on (left by a crash)
    /// is replaced; one a daemon answers on is an error.
    ///
    /// Two daemons starting at once must not both see a stale socket, both remove it and
    /// both bind (the first one then serves an unlinked socket nobody can reach). So the
    /// check-remove-bind sequence runs under an exclusive lock on `PATH.lock`, held for the
    /// daemon's life: the loser is told a daemon is already running.
    pub fn bind(path: &Path) -> Result<Listener, BindError> {
        protocol::check_socket_path(path).map_err(BindError::PathTooLong)?;
        let io = |e| BindError::Io(path.to_owned(), e);
        let lock = lock(path)?;
        match UnixStream::connect(path) {
            Ok(_) => return Err(BindError::AlreadyRunning(path.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => {
                // Refused: stale. Only ever remove a socket, never a user's file.
                let meta = std::fs::symlink_metadata(path).map_err(io)?;
                use std::os::unix::fs::FileTypeExt;
                if !meta.file_type().is_socket() {
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "the path exists and is not a socket",
                    )));
                }
                std::fs::remove_file(path).map_err(io)?;
            }
        }
        // Create the socket 0600 from the start: no window where others could connect.
        // SAFETY: umask only swaps the process's file mode mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(path);
        unsafe { libc::umask(old) };
        let listener = bound.map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(Listener {
            inner: Async::new(listener).map_err(io)?,
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What the connection tasks share.
struct Hub {
    service: Rc<Service>,
    slots: Rc<Slots>,
}

/// Pause after an `accept` failure that cannot be fixed by closing an idle connection.
/// How long a connection refused with `busy` stays open for the client's request to
/// arrive (see `serve`); short, as it holds a descriptor the daemon is short of.
const BUSY_LINGER: Duration = Duration::from_millis(250);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Conditions logged once each, not per accept (a flood would fill the journal).
#[derive(Default)]
struct Logged {
    fd_exhaustion: bool,
    accept_error: bool,
    evicting: bool,
    refusing: bool,
}

fn once(flag: &mut bool, msg: impl FnOnce() -> String) {
    if !std::mem::replace(flag, true) {
        eprintln!("audio-daemon: {}", msg());
    }
}

/// Accepts connections forever; `max_connections`: see [`slots::cap_for_limit`].
pub async fn serve(
    listener: Rc<Listener>,
    service: Rc<Service>,
    max_connections: usize,
    ex: Rc<smol::LocalExecutor<'static>>,
) {
    let hub = Rc::new(Hub {
        service,
        slots: Slots::new(max_connections),
    });
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    let mut logged = Logged::default();
    let mut backoff = BACKOFF_MIN;
    loop {
        let stream = match listener.inner.accept().await {
            Ok((s, _)) => {
                backoff = BACKOFF_MIN;
                s
            }
            Err(e) => {
                let fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                if fds {
                    once(&mut logged.fd_exhaustion, || {
                        format!(
                            "accept: {e}; closing idle connections to make room, \
                             waiting while there are none (logged once)"
                        )
                    });
                    // The waiting connection stays in the backlog: free a descriptor
                    // and let the closed connection's task run before trying again.
                    if hub.slots.evict_idlest() {
                        smol::future::yield_now().await;
                        continue;
                    }
                } else {
                    once(&mut logged.accept_error, || {
                        format!("accept: {e}; retrying (logged once)")
                    });
                }
                // Nothing to free: the listener stays readable, so retrying at once
                // would spin. Back off, longer each time, until an accept succeeds.
                Timer::after(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        match crate::peer::credentials(stream.get_ref()).map(|c| c.uid) {
            Ok(uid) if uid == me => {}
            // Not ours: say nothing, close.
            _ => continue,
        }
        let full = hub.slots.len() >= hub.slots.cap();
        let Some(slot) = hub.slots.admit(Instant::now()) else {
            once(&mut logged.refusing, || {
                format!(
                    "all {} connections are busy or subscribed; refusing new ones with \"busy\" (logged once)",
                    hub.slots.cap()
                )
            });
            ex.spawn(async move {
                let e = Error::new(ErrorKind::Busy, "too many connections");
                let _ = write_line(&stream, &protocol::reply_to_line(&Err(e))).await;
                // A client writes its request right after connecting. Closing before it
                // arrives makes that write fail (EPIPE) and the client never reads this
                // reply, so wait, briefly, for its line or its hang-up.
                use smol::future::FutureExt;
                use smol::io::AsyncReadExt;
                let mut scratch = [0u8; 512];
                let mut r = &stream;
                let _ = r
                    .read(&mut scratch)
                    .or(async {
                        Timer::after(BUSY_LINGER).await;
                        Ok(0)
                    })
                    .await;
            })
            .detach();
            continue;
        };
        if full {
            once(&mut logged.evicting, || {
                format!(
                    "{} connections open: closing the longest-idle one for each new one (logged once)",
                    hub.slots.cap()
                )
            });
        }
        let hub = hub.clone();
        ex.spawn(async move {
            connection(stream, &hub, &slot).await;
            drop(slot);
            if hub.slots.is_empty() {
                // The daemon idles between keypresses: give back what a burst of
                // connections made the allocator keep (all arenas, not just the top).
                // SAFETY: malloc_trim has no preconditions.
                unsafe { libc::malloc_trim(0) };
            }
        })
        .detach();
    }
}
