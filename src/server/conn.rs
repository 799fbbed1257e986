//! One connection: requests and replies in order, or an event stream.

use super::slots::{Activity, SlotGuard};
use super::Hub;
use crate::lines::{Line, LineReader};
use crate::protocol::{self, Error, ErrorKind, Event, Request, Response, MAX_LINE};
use crate::service::Service;
use smol::future::FutureExt;
use smol::io::AsyncWriteExt;
use smol::{Async, Timer};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A connection that sends nothing for this long is told so and closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A reply or event that cannot be written within this time drops the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Events a subscriber may have queued before it is dropped.
pub const SUBSCRIBER_QUEUE: usize = 256;

pub(super) async fn write_line(stream: &Async<UnixStream>, line: &str) -> std::io::Result<()> {
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

/// What ended the wait for a request line.
enum Waited {
    Line(std::io::Result<Line>),
    /// The slot was given to a newcomer (see `slots`).
    Evicted,
}

/// One client: requests and replies until it closes, or an event stream.
pub(super) async fn connection(stream: Async<UnixStream>, hub: &Hub, slot: &SlotGuard) {
    let stream = Rc::new(stream);
    let mut lines = LineReader::new(ReadHalf(stream.clone()), MAX_LINE);
    loop {
        slot.set(Activity::Idle(Instant::now()));
        let waited = async { Waited::Line(lines.next().await) }
            .or(async {
                let _ = slot.evicted.recv().await;
                Waited::Evicted
            })
            .or(async {
                Timer::after(IDLE_TIMEOUT).await;
                Waited::Line(Err(std::io::ErrorKind::TimedOut.into()))
            })
            .await;
        // Evicted while idle: nothing was asked, so nothing is owed; just close.
        let Waited::Line(line) = waited else { return };
        slot.set(Activity::Busy);
        let (reply, close) = match line {
            Ok(Line::Eof) => return,
            Ok(Line::Text(text)) if text.trim().is_empty() => continue,
            Ok(Line::Text(text)) => match Request::parse(&text) {
                Ok(Request::Subscribe) => {
                    slot.set(Activity::Subscriber);
                    return subscribe(&stream, &hub.service).await;
                }
                // Requests on a connection are answered in order: one at a time.
                Ok(req) => (hub.service.call(req).await, false),
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
async fn subscribe(stream: &Async<UnixStream>, service: &Service) {
    let (etx, erx) = smol::channel::bounded::<Rc<str>>(SUBSCRIBER_QUEUE);
    // Register before taking the snapshot so no change falls between the two.
    service.subscribe(etx);
    let snapshot = service.call(Request::List).await;
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
    loop {
        // Also watch the read side: a subscriber that hangs up must give its slot back at
        // once, not at the next event (which on a quiet desktop may be hours away).
        let next = async { erx.recv().await.ok() }
            .or(async {
                hung_up(stream).await;
                None
            })
            .await;
        let Some(line) = next else { return };
        if write_line(stream, &line).await.is_err() {
            return;
        }
    }
}

/// Completes when the peer closes its end (or the socket fails). Whatever a subscriber
/// sends is read and dropped, so it cannot fill the daemon's receive buffer either.
async fn hung_up(stream: &Async<UnixStream>) {
    let mut buf = [0u8; 512];
    loop {
        let mut r = stream;
        match smol::io::AsyncReadExt::read(&mut r, &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
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
