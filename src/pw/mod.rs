//! The PipeWire thread: owns the connection, the proxies and the one [`State`].
//!
//! PipeWire's objects are not `Send`, so everything PipeWire lives on this thread.
//! Commands come in over `pipewire::channel` (which wakes the PipeWire loop directly);
//! replies go back on the sender each request carries, and changes go out as
//! [`Event`]s on an async channel. Every callback ends in [`Ctx::flush`], which sends the
//! actions, replies and events the state produced.
//!
//! Panics are not caught here (no `catch_unwind`), deliberately. Every callback runs
//! inside libpipewire's C loop, where unwinding cannot pass anyway, and the one `State`
//! sits in a `RefCell` that a panic may leave mid-transition: answering requests from a
//! state whose invariants just failed risks wrong volumes (above an app's cap, on the
//! wrong stream), which is worse than a clean exit. So a panic aborts the process (the
//! release profile says so), the panic hook removes the socket (`daemon.rs`), and the
//! systemd unit's `Restart=on-failure` brings the daemon back with a state rebuilt from
//! PipeWire in well under a second. Panics are bugs: state transitions are unit-tested
//! (including reloads) precisely so that none is reachable from input.

mod lanes;
mod pod;
mod registry;

use crate::config::Config;
use crate::memory::{writer::Saver, Memory};
use crate::protocol::{Error, ErrorKind, Event, Reply, Request, Response, Stats};
use crate::state::{Action, State, Update, WaiterId};
use pipewire::main_loop::MainLoopRc;
use pipewire::spa::param::ParamType;
use pipewire::spa::pod::Pod;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

pub use pod::{parse_props, props_pod, PropsVolume};

/// How often to try again while PipeWire is not there.
const RETRY: Duration = Duration::from_secs(1);

/// What the async side asks of the PipeWire thread.
pub enum Command {
    Request {
        request: Request,
        reply: smol::channel::Sender<Reply>,
    },
    /// Boxed: a config is large, and every command would carry its size.
    SetConfig(Box<Config>),
    /// What the compositor says has the focus (for `@focused`).
    Focus(crate::state::Focus),
    Shutdown,
}

/// Handle to the PipeWire thread; dropping it stops the thread.
pub struct PipewireThread {
    tx: pipewire::channel::Sender<Command>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl PipewireThread {
    /// Starts the thread. It connects at once and keeps reconnecting when PipeWire is
    /// absent or goes away; until then requests are answered with an error.
    /// `memory` is what the state file held; changes to it go to `saver` (the state
    /// file's writer thread), which is dropped on `Shutdown` so the writer flushes.
    pub fn spawn(
        config: Config,
        memory: Memory,
        saver: Option<Saver>,
        events: smol::channel::Sender<Event>,
    ) -> Result<PipewireThread, pipewire::Error> {
        let (tx, rx) = pipewire::channel::channel::<Command>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let join = std::thread::Builder::new()
            .name("pipewire".into())
            .spawn(move || run(config, (memory, saver), events, rx, ready_tx))
            .map_err(|_| pipewire::Error::CreationFailed)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(PipewireThread {
                tx,
                join: Some(join),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(pipewire::Error::CreationFailed),
        }
    }

    /// Sends a command; fails only when the thread is gone.
    pub fn send(&self, cmd: Command) -> Result<(), Command> {
        self.tx.send(cmd)
    }
}

impl Drop for PipewireThread {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Everything the thread's callbacks share.
struct Ctx {
    main_loop: &'static MainLoopRc,
    context: pipewire::context::ContextRc,
    state: RefCell<State>,
    replies: RefCell<HashMap<WaiterId, smol::channel::Sender<Reply>>>,
    next_waiter: Cell<WaiterId>,
    events: smol::channel::Sender<Event>,
    conn: RefCell<Option<registry::Conn>>,
    /// Set by the core's error callback; the connection is torn down outside it.
    lost: Cell<bool>,
    deadline_timer: pipewire::loop_::TimerSource<'static>,
    retry_timer: pipewire::loop_::TimerSource<'static>,
    armed_deadline: Cell<Option<Instant>>,
    requests: Cell<u64>,
    set_params: Cell<u64>,
    /// Remembered volumes go to the state file's writer thread through this.
    saver: RefCell<Option<Saver>>,
    /// Process lineages of clients, for `@focused` (the /proc reads happen here, at
    /// the I/O edge, so the state stays pure).
    ancestry: RefCell<crate::procs::Ancestry>,
}

fn run(
    config: Config,
    (memory, saver): (Memory, Option<Saver>),
    events: smol::channel::Sender<Event>,
    rx: pipewire::channel::Receiver<Command>,
    ready: std::sync::mpsc::Sender<Result<(), pipewire::Error>>,
) {
    pipewire::init();
    let setup = || -> Result<_, pipewire::Error> {
        // The loop lives as long as this thread, which lives as long as the process;
        // leaking it gives the timers the 'static borrow they need to sit in `Ctx`.
        let main_loop: &'static MainLoopRc = Box::leak(Box::new(MainLoopRc::new(None)?));
        let context = pipewire::context::ContextRc::new(main_loop, None)?;
        Ok((main_loop, context))
    };
    let (main_loop, context) = match setup() {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let ctx = Rc::new_cyclic(|weak: &Weak<Ctx>| {
        let w = weak.clone();
        let deadline_timer = main_loop.loop_().add_timer(move |_| {
            if let Some(ctx) = w.upgrade() {
                ctx.armed_deadline.set(None);
                ctx.state.borrow_mut().tick(Instant::now());
                ctx.flush();
            }
        });
        let w = weak.clone();
        let retry_timer = main_loop.loop_().add_timer(move |_| {
            if let Some(ctx) = w.upgrade() {
                ctx.reconnect();
            }
        });
        let mut state = State::new(config);
        state.set_memory(memory);
        Ctx {
            main_loop,
            context,
            state: RefCell::new(state),
            replies: RefCell::new(HashMap::new()),
            next_waiter: Cell::new(1),
            events,
            conn: RefCell::new(None),
            lost: Cell::new(false),
            deadline_timer,
            retry_timer,
            armed_deadline: Cell::new(None),
            requests: Cell::new(0),
            set_params: Cell::new(0),
            saver: RefCell::new(saver),
            ancestry: RefCell::new(Default::default()),
        }
    });
    let weak = Rc::downgrade(&ctx);
    let _rx = rx.attach(main_loop.loop_(), move |cmd| {
        if let Some(ctx) = weak.upgrade() {
            ctx.command(cmd);
        }
    });
    let _ = ready.send(Ok(()));
    ctx.reconnect();
    main_loop.run();
    // Drop proxies before the core, and the core before the loop.
    ctx.conn.borrow_mut().take();
}

impl Ctx {
    fn command(self: &Rc<Self>, cmd: Command) {
        match cmd {
            Command::Request { request, reply } => {
                self.requests.set(self.requests.get() + 1);
                if request == Request::Stats {
                    let _ = reply.try_send(Ok(Response::Stats(self.stats())));
                    return;
                }
                let id = self.next_waiter.get();
                self.next_waiter.set(id + 1);
                let now = Instant::now();
                let answer = self.state.borrow_mut().command(&request, id, now);
                match answer {
                    Some(r) => {
                        let _ = reply.try_send(r);
                    }
                    None => {
                        self.replies.borrow_mut().insert(id, reply);
                    }
                }
                self.flush();
            }
            Command::SetConfig(config) => {
                self.state.borrow_mut().set_config(*config);
                self.flush();
            }
            Command::Focus(focus) => {
                self.state.borrow_mut().set_focus(focus);
                self.flush();
            }
            Command::Shutdown => {
                self.flush();
                // The writer saves what it holds and ends once its sender is gone.
                self.saver.borrow_mut().take();
                self.main_loop.quit();
            }
        }
    }

    fn stats(&self) -> Stats {
        let state = self.state.borrow();
        Stats {
            connected: state.connected(),
            nodes: state.node_count() as u64,
            requests: self.requests.get(),
            set_params: self.set_params.get(),
            waiting: self.replies.borrow().len() as u64,
            rate_limit: state.rate_limit().map(|r| r.round() as u32),
        }
    }

    /// Applies a PipeWire fact and sends whatever follows from it.
    fn apply(&self, update: Update) {
        let lineage = match &update {
            Update::Client { id, props } => Some(Update::ClientLineage {
                id: *id,
                pids: (self.ancestry.borrow_mut()).lineage_of(&crate::state::candidate_pids(props)),
            }),
            _ => None,
        };
        let mut state = self.state.borrow_mut();
        state.apply(update, Instant::now());
        if let Some(l) = lineage {
            state.apply(l, Instant::now());
        }
        drop(state);
        self.flush();
    }

    /// Sends the state's pending actions, replies and change events.
    fn flush(&self) {
        let (actions, completed, changes, deadline, memory) = {
            let mut s = self.state.borrow_mut();
            (
                s.take_actions(),
                s.take_completed(),
                s.take_changes(),
                s.next_deadline(),
                s.take_memory(),
            )
        };
        if let (Some(m), Some(saver)) = (memory, self.saver.borrow().as_ref()) {
            saver.send(m);
        }
        if !actions.is_empty() {
            if let Some(conn) = self.conn.borrow().as_ref() {
                for a in &actions {
                    if execute(conn, &self.context, a) {
                        self.set_params.set(self.set_params.get() + 1);
                    }
                }
            }
        }
        if !completed.is_empty() {
            let mut replies = self.replies.borrow_mut();
            for (id, reply) in completed {
                if let Some(tx) = replies.remove(&id) {
                    let _ = tx.try_send(reply);
                }
            }
        }
        for c in changes {
            let _ = self.events.try_send(Event::App(c));
        }
        if deadline != self.armed_deadline.get() {
            self.armed_deadline.set(deadline);
            let after = deadline.map(|d| {
                d.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            });
            let _ = self.deadline_timer.update_timer(after, None);
        }
    }

    /// Called by the core when the connection broke; the teardown happens on the timer,
    /// outside the core's own callback.
    fn connection_lost(&self) {
        if !self.lost.replace(true) {
            let _ = self
                .retry_timer
                .update_timer(Some(Duration::from_millis(1)), None);
        }
    }

    /// Tears down a lost connection and tries to connect; re-arms itself on failure.
    fn reconnect(self: &Rc<Self>) {
        if self.lost.replace(false) {
            self.conn.borrow_mut().take();
            self.apply(Update::Disconnected);
            let _ = self.events.try_send(Event::Pipewire { connected: false });
            eprintln!("audio-daemon: lost the connection to PipeWire; reconnecting");
        }
        if self.conn.borrow().is_some() {
            return;
        }
        match registry::Conn::connect(self) {
            Ok(conn) => {
                // Two round trips: the first delivers every global (and we bind them),
                // the second every info and Props event of what we bound. Only then is
                // the picture complete enough to answer requests.
                conn.syncs_left.set(2);
                conn.pending_sync.set(conn.sync());
                *self.conn.borrow_mut() = Some(conn);
            }
            Err(_) => {
                let _ = self.retry_timer.update_timer(Some(RETRY), None);
            }
        }
    }

    /// A core round trip finished; see `reconnect`.
    fn core_done(&self, seq: i32) {
        {
            let conn = self.conn.borrow();
            let Some(conn) = conn.as_ref() else { return };
            if conn.pending_sync.get() != Some(seq) {
                return;
            }
            let left = conn.syncs_left.get().saturating_sub(1);
            conn.syncs_left.set(left);
            if left > 0 {
                conn.pending_sync.set(conn.sync());
                return;
            }
            conn.pending_sync.set(None);
        }
        self.state.borrow_mut().set_connected();
        let _ = self.events.try_send(Event::Pipewire { connected: true });
        eprintln!("audio-daemon: connected to PipeWire");
        self.flush();
    }
}

/// Sends one action; false when the target is gone or the pod did not build.
fn execute(conn: &registry::Conn, context: &pipewire::context::ContextRc, action: &Action) -> bool {
    let (target, kind, bytes) = match action {
        Action::SetNode { node, volume } => (
            lanes::Target::Node(*node),
            ParamType::Props,
            pod::props_pod(volume),
        ),
        Action::SetRoute {
            device,
            index,
            route_device,
            volume,
        } => (
            lanes::Target::Device(*device),
            ParamType::Route,
            pod::route_pod(*index, *route_device, volume),
        ),
    };
    match Pod::from_bytes(&bytes) {
        Some(p) => conn.set_param(context, target, kind, p),
        None => false,
    }
}

/// A reply for requests that arrive while the thread cannot take them.
pub fn unavailable() -> Reply {
    Err(Error::new(ErrorKind::Busy, "the daemon is shutting down"))
}
