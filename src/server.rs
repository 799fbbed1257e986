//! The Unix socket: binding it safely, serving connections, and the event stream.
//!
//! Every connection is its own task on one local executor, so a slow or silent client
//! only ever holds up itself: reads have an idle timeout, writes a deadline, and a
//! subscriber whose bounded queue fills up is dropped.

use crate::lines::{Line, LineReader};
use crate::protocol::{self, Error, ErrorKind, Event, Reply, Request, Response, MAX_LINE};
use crate::pw::{self, Command, PipewireThread};
use smol::channel::{Receiver, Sender, TrySendError};
use smol::future::FutureExt;
use smol::io::AsyncWriteExt;
use smol::{Async, Timer};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// A connection that sends nothing for this long is told so and closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A reply or event that cannot be written within this time drops the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Events a subscriber may have queued before it is dropped.
pub const SUBSCRIBER_QUEUE: usize = 256;
/// Connections served at once; more are refused with `busy`.
pub const MAX_CONNECTIONS: usize = 512;

/// Why the socket could not be set up.
#[derive(Debug)]
pub enum BindError {
    /// A daemon answers on the socket already.
    AlreadyRunning(PathBuf),
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
            BindError::Io(p, e) => write!(f, "cannot listen on {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

/// The listening socket; removes its file when dropped.
pub struct Listener {
    inner: Async<UnixListener>,
    path: PathBuf,
}

impl Listener {
    /// Binds `path` with mode 0600. A socket file nobody answers on (left by a crash)
    /// is replaced; one a daemon answers on is an error.
    pub fn bind(path: &Path) -> Result<Listener, BindError> {
        let io = |e| BindError::Io(path.to_owned(), e);
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

/// The uid of the process at the other end.
fn peer_uid(stream: &UnixStream) -> std::io::Result<libc::uid_t> {
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

/// What the connection tasks share.
pub struct Hub {
    pw: PipewireThread,
    subscribers: RefCell<Vec<Sender<Rc<str>>>>,
    connections: Cell<usize>,
    pub waybar: crate::waybar::Signaller,
}

impl Hub {
    pub fn new(pw: PipewireThread, waybar: crate::waybar::Signaller) -> Rc<Hub> {
        Rc::new(Hub {
            pw,
            subscribers: RefCell::new(Vec::new()),
            connections: Cell::new(0),
            waybar,
        })
    }

    pub fn send(&self, cmd: Command) -> bool {
        self.pw.send(cmd).is_ok()
    }

    /// Asks the PipeWire thread and waits for its answer.
    async fn request(&self, request: Request, tx: &Sender<Reply>, rx: &Receiver<Reply>) -> Reply {
        let sent = self.pw.send(Command::Request {
            request,
            reply: tx.clone(),
        });
        if sent.is_err() {
            return pw::unavailable();
        }
        rx.recv().await.unwrap_or_else(|_| pw::unavailable())
    }

    /// Passes an event from PipeWire to every subscriber; drops those that fell behind.
    pub fn publish(&self, event: &Event) {
        if matches!(event, Event::App(_)) {
            self.waybar.notify();
        }
        if self.subscribers.borrow().is_empty() {
            return;
        }
        let line: Rc<str> = event.to_line().into();
        self.subscribers
            .borrow_mut()
            .retain(|s| match s.try_send(line.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    eprintln!("audio-daemon: dropping a subscriber that stopped reading");
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
    }
}

/// Accepts connections forever.
pub async fn serve(listener: Rc<Listener>, hub: Rc<Hub>, ex: Rc<smol::LocalExecutor<'static>>) {
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    loop {
        let stream = match listener.inner.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // EMFILE and the like: back off instead of spinning.
                eprintln!("audio-daemon: accept failed: {e}");
                Timer::after(Duration::from_millis(100)).await;
                continue;
            }
        };
        match peer_uid(stream.get_ref()) {
            Ok(uid) if uid == me => {}
            // Not ours: say nothing, close.
            _ => continue,
        }
        let hub = hub.clone();
        ex.spawn(async move {
            if hub.connections.get() >= MAX_CONNECTIONS {
                let e = Error::new(ErrorKind::Busy, "too many connections");
                let _ = write_line(&stream, &protocol::reply_to_line(&Err(e))).await;
                return;
            }
            hub.connections.set(hub.connections.get() + 1);
            connection(stream, &hub).await;
            hub.connections.set(hub.connections.get() - 1);
            if hub.connections.get() == 0 {
                // The daemon idles between keypresses: give back what a burst of
                // connections made the allocator keep (all arenas, not just the top).
                // SAFETY: malloc_trim has no preconditions.
                unsafe { libc::malloc_trim(0) };
            }
        })
        .detach();
    }
}

async fn write_line(stream: &Async<UnixStream>, line: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let mut w = stream;
    w.write_all(&buf)
        .or(async {
            Timer::after(WRITE_TIMEOUT).await;
            Err(std::io::ErrorKind::TimedOut.into())
        })
        .await
}

/// One client: requests and replies until it closes, or an event stream.
async fn connection(stream: Async<UnixStream>, hub: &Hub) {
    let stream = Rc::new(stream);
    let mut lines = LineReader::new(ReadHalf(stream.clone()), MAX_LINE);
    // One reply channel per connection: requests on a connection are answered in order.
    let (tx, rx) = smol::channel::bounded::<Reply>(1);
    loop {
        let line = lines
            .next()
            .or(async {
                Timer::after(IDLE_TIMEOUT).await;
                Err(std::io::ErrorKind::TimedOut.into())
            })
            .await;
        let (reply, close) = match line {
            Ok(Line::Eof) => return,
            Ok(Line::Text(text)) if text.trim().is_empty() => continue,
            Ok(Line::Text(text)) => match Request::parse(&text) {
                Ok(Request::Subscribe) => return subscribe(&stream, hub, &tx, &rx).await,
                Ok(req) => (hub.request(req, &tx, &rx).await, false),
                Err(e) => (Err(e), false),
            },
            Ok(Line::NotUtf8) => (
                Err(Error::new(ErrorKind::BadRequest, "request is not UTF-8")),
                false,
            ),
            Ok(Line::TooLong) => (
                Err(Error::new(
                    ErrorKind::LineTooLong,
                    format!("request line longer than {MAX_LINE} bytes; closing"),
                )),
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => (
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no request within {} s; closing", IDLE_TIMEOUT.as_secs()),
                )),
                true,
            ),
            Err(_) => return,
        };
        if write_line(&stream, &protocol::reply_to_line(&reply))
            .await
            .is_err()
            || close
        {
            return;
        }
    }
}

/// Streams events: first every app's current state, then each change.
async fn subscribe(
    stream: &Async<UnixStream>,
    hub: &Hub,
    tx: &Sender<Reply>,
    rx: &Receiver<Reply>,
) {
    let (etx, erx) = smol::channel::bounded::<Rc<str>>(SUBSCRIBER_QUEUE);
    // Register before taking the snapshot so no change falls between the two.
    hub.subscribers.borrow_mut().push(etx);
    let snapshot = hub.request(Request::List, tx, rx).await;
    if write_line(stream, &protocol::reply_to_line(&Ok(Response::Subscribed)))
        .await
        .is_err()
    {
        return;
    }
    match snapshot {
        Ok(Response::Apps(apps)) => {
            for app in apps {
                if write_line(stream, &Event::App(app).to_line())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        _ => {
            let line = Event::Pipewire { connected: false }.to_line();
            if write_line(stream, &line).await.is_err() {
                return;
            }
        }
    }
    while let Ok(line) = erx.recv().await {
        if write_line(stream, &line).await.is_err() {
            return;
        }
    }
}

/// Lets the line reader and the writer share one `Async<UnixStream>`.
struct ReadHalf(Rc<Async<UnixStream>>);

impl smol::io::AsyncRead for ReadHalf {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let mut s: &Async<UnixStream> = &self.0;
        std::pin::Pin::new(&mut s).poll_read(cx, buf)
    }
}
