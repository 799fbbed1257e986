//! The bench's own PipeWire connection, independent of the daemon.
//!
//! It serves three sections: the raw floor (the bench itself does `set_param(Props)` on a
//! stream node and waits for the node's Props param event showing the new value, which
//! is exactly what the daemon calls "applied"), and visibility (when does a separate
//! client see the daemon's change), and restore (when does a new stream of a remembered
//! app appear in the registry, and when do its Props show the remembered volume). PipeWire objects are not `Send`, so they live on a
//! thread of their own; commands go in over `pipewire::channel`, observations come out
//! over a std channel, each stamped on the PipeWire thread the moment it happened.

use pipewire::context::ContextRc;
use pipewire::main_loop::MainLoopRc;
use pipewire::node::{Node, NodeListener};
use pipewire::permissions::PermissionFlags;
use pipewire::registry::GlobalObject;
use pipewire::spa::param::ParamType;
use pipewire::spa::pod::Pod;
use pipewire::spa::utils::dict::DictRef;
use pipewire::types::ObjectType;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

enum Cmd {
    /// Bind this node and report its Props (dropping any node bound before).
    Watch(u32),
    /// Drop the bound node, so the bench does not load PipeWire while the daemon is timed.
    Unwatch,
    /// set_param(Props) with these channel gains on the bound node.
    Set(Vec<f32>),
    /// Report every new node whose property starts with this value, and its Props
    /// (None: stop).
    WatchNew(Option<(String, String)>),
    Quit,
}

/// What the PipeWire thread saw, with the instant it saw it.
pub enum Seen {
    /// The set_param left for PipeWire at this instant.
    Sent(Instant),
    /// The bound node's Props param now carries these channel gains.
    Props(Vec<f32>, Instant),
    /// A node matching `WatchNew` appeared in the registry.
    Appeared(u32, Instant),
    /// Such a node's Props param now carries these channel gains.
    NodeProps(u32, Vec<f32>, Instant),
}

pub struct Observer {
    tx: pipewire::channel::Sender<Cmd>,
    rx: mpsc::Receiver<Seen>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl Observer {
    /// Connects to the PipeWire whose socket is `socket` (an absolute path, so the
    /// bench's own environment does not matter).
    pub fn start(socket: &Path) -> Result<Observer, String> {
        let (tx, cmd_rx) = pipewire::channel::channel::<Cmd>();
        let (seen_tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let socket = socket.to_string_lossy().into_owned();
        let join = std::thread::Builder::new()
            .name("bench-pipewire".into())
            .spawn(move || {
                if let Err(e) = run(&socket, cmd_rx, seen_tx, &ready_tx) {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| e.to_string())?;
        ready_rx
            .recv()
            .map_err(|_| "the bench's PipeWire thread died".to_owned())??;
        Ok(Observer {
            tx,
            rx,
            join: Some(join),
        })
    }

    pub fn watch(&self, node: u32) {
        let _ = self.tx.send(Cmd::Watch(node));
    }

    pub fn unwatch(&self) {
        let _ = self.tx.send(Cmd::Unwatch);
        self.drain();
    }

    pub fn set(&self, channels: Vec<f32>) {
        let _ = self.tx.send(Cmd::Set(channels));
    }

    /// Watches new nodes whose `key` property starts with `prefix` (see
    /// [`Seen::Appeared`]).
    pub fn watch_new(&self, key: &str, prefix: &str) {
        let _ = self
            .tx
            .send(Cmd::WatchNew(Some((key.to_owned(), prefix.to_owned()))));
    }

    pub fn unwatch_new(&self) {
        let _ = self.tx.send(Cmd::WatchNew(None));
        self.drain();
    }

    /// The next observation, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Seen> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Forgets everything seen so far (events from before the request being timed).
    pub fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// The instant the node's Props first showed gains at `target`, and when the last
    /// set_param was sent (if one was seen meanwhile); None after `timeout`.
    pub fn wait_for(&self, target: f32, timeout: Duration) -> Option<(Instant, Option<Instant>)> {
        let end = Instant::now() + timeout;
        let mut sent = None;
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left).ok()? {
                Seen::Sent(t) => sent = Some(t),
                Seen::Props(ch, t) if crate::stats::channels_at(&ch, target) => {
                    return Some((t, sent))
                }
                Seen::Props(..) | Seen::Appeared(..) | Seen::NodeProps(..) => {}
            }
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Quit);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn run(
    socket: &str,
    cmds: pipewire::channel::Receiver<Cmd>,
    seen: mpsc::Sender<Seen>,
    ready: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    pipewire::init();
    let err = |e: pipewire::Error| e.to_string();
    let main_loop = MainLoopRc::new(None).map_err(err)?;
    let context = ContextRc::new(&main_loop, None).map_err(err)?;
    // An absolute remote.name is taken as the socket path by libpipewire.
    let props = pipewire::properties::properties! { "remote.name" => socket };
    let core = context.connect_rc(Some(props)).map_err(err)?;
    let registry = core.get_registry_rc().map_err(err)?;
    // (listener, node): the listener must be dropped before the proxy it hooks into.
    let bound: Rc<RefCell<Option<(NodeListener, Node)>>> = Rc::default();
    let new_nodes = NewNodes::default();
    let _registry_listener = {
        let (n, reg, s) = (new_nodes.clone(), registry.downgrade(), seen.clone());
        let n2 = new_nodes.clone();
        registry
            .add_listener_local()
            .global(move |obj| {
                if let Some(reg) = reg.upgrade() {
                    n.global(&reg, obj, &s);
                }
            })
            .global_remove(move |id| {
                n2.bound.borrow_mut().remove(&id);
            })
            .register()
    };
    let ml = main_loop.clone();
    let b = bound.clone();
    let nn = new_nodes.clone();
    let _attached = cmds.attach(main_loop.loop_(), move |cmd| match cmd {
        Cmd::Watch(id) => {
            // Binding by id needs no registry event: the id is all the server uses.
            let global = GlobalObject::<&DictRef> {
                id,
                permissions: PermissionFlags::all(),
                type_: ObjectType::Node,
                version: 3,
                props: None,
            };
            b.borrow_mut().take();
            let Ok(node) = registry.bind::<Node, _>(&global) else {
                return;
            };
            let s = seen.clone();
            let listener = node
                .add_listener_local()
                .param(move |_seq, kind, _index, _next, param| {
                    let at = Instant::now();
                    if let Some(ch) = props_channels(kind, param) {
                        let _ = s.send(Seen::Props(ch, at));
                    }
                })
                .register();
            node.subscribe_params(&[ParamType::Props]);
            *b.borrow_mut() = Some((listener, node));
        }
        Cmd::Unwatch => {
            b.borrow_mut().take();
        }
        Cmd::Set(channels) => {
            let bytes = audio_daemon::pw::props_pod(&audio_daemon::volume::Volume {
                channels,
                mute: false,
            });
            if let (Some((_, node)), Some(pod)) = (b.borrow().as_ref(), Pod::from_bytes(&bytes)) {
                let _ = seen.send(Seen::Sent(Instant::now()));
                node.set_param(ParamType::Props, 0, pod);
            }
        }
        Cmd::WatchNew(filter) => {
            *nn.filter.borrow_mut() = filter;
            nn.bound.borrow_mut().clear();
        }
        Cmd::Quit => ml.quit(),
    });
    let _ = ready.send(Ok(()));
    main_loop.run();
    bound.borrow_mut().take();
    new_nodes.bound.borrow_mut().clear();
    Ok(())
}

/// New nodes matching a property filter, bound to follow their Props.
#[derive(Default, Clone)]
struct NewNodes {
    filter: Rc<RefCell<Option<(String, String)>>>,
    bound: Rc<RefCell<std::collections::HashMap<u32, (NodeListener, Node)>>>,
}

impl NewNodes {
    fn global(
        &self,
        registry: &pipewire::registry::RegistryRc,
        obj: &GlobalObject<&DictRef>,
        seen: &mpsc::Sender<Seen>,
    ) {
        // Stamped first: this is the moment the node became visible to every client.
        let at = Instant::now();
        let wanted = self.filter.borrow().as_ref().is_some_and(|(k, v)| {
            obj.type_ == ObjectType::Node
                && obj
                    .props
                    .and_then(|p| p.get(k))
                    .is_some_and(|p| p.starts_with(v.as_str()))
        });
        if !wanted {
            return;
        }
        let _ = seen.send(Seen::Appeared(obj.id, at));
        let Ok(node) = registry.bind::<Node, _>(obj) else {
            return;
        };
        let (s, id) = (seen.clone(), obj.id);
        let listener = node
            .add_listener_local()
            .param(move |_seq, kind, _index, _next, param| {
                let at = Instant::now();
                if let Some(ch) = props_channels(kind, param) {
                    let _ = s.send(Seen::NodeProps(id, ch, at));
                }
            })
            .register();
        node.subscribe_params(&[ParamType::Props]);
        self.bound.borrow_mut().insert(obj.id, (listener, node));
    }
}

/// The channel volumes a node's Props param carries, if this param is one and has them.
fn props_channels(kind: ParamType, param: Option<&pipewire::spa::pod::Pod>) -> Option<Vec<f32>> {
    if kind != ParamType::Props {
        return None;
    }
    param.and_then(audio_daemon::pw::parse_props)?.channels
}
