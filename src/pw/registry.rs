//! One PipeWire connection: the registry, the bound proxies and their listeners.
//! Each listener turns what PipeWire says into a [`Update`] for the state.

use super::lanes::{Lanes, Owner, Target};
use super::{pod, Ctx};
use crate::logs;
use crate::state::{Props, Update};
use pipewire::client::{Client, ClientChangeMask, ClientListener};
use pipewire::core::{CoreRc, PW_ID_CORE};
use pipewire::device::{Device, DeviceListener};
use pipewire::metadata::{Metadata, MetadataListener};
use pipewire::node::{Node, NodeChangeMask, NodeListener};
use pipewire::registry::{GlobalObject, RegistryRc};
use pipewire::spa::param::ParamType;
use pipewire::spa::utils::dict::DictRef;
use pipewire::types::ObjectType;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// Node classes the daemon controls or resolves defaults to.
const NODE_CLASSES: &[&str] = &[
    "Stream/Output/Audio",
    "Stream/Input/Audio",
    "Audio/Sink",
    "Audio/Source",
    "Audio/Duplex",
    "Audio/Source/Virtual",
];

/// Fields drop in declaration order: proxies first, the core last, because a proxy
/// must not outlive the connection it was made on.
pub(super) struct Conn {
    /// Where set_params go (see `lanes.rs`); first, so that they close before the core.
    lanes: Rc<Lanes>,
    bound: Rc<RefCell<Bound>>,
    /// The initial-sync round trip in flight, and how many remain (see `Ctx::core_done`).
    pub(super) pending_sync: Cell<Option<i32>>,
    pub(super) syncs_left: Cell<u8>,
    _registry_listener: pipewire::registry::Listener,
    _registry: RegistryRc,
    _core_listener: pipewire::core::Listener,
    _core: CoreRc,
}

/// Each entry is (listener, proxy): a tuple drops in field order, and the listener must
/// go first. Destroying a proxy unlinks its hooks without resetting them, so removing
/// a listener afterwards would write into freed memory.
#[derive(Default)]
struct Bound {
    nodes: HashMap<u32, (NodeListener, Node)>,
    devices: HashMap<u32, (DeviceListener, Device)>,
    clients: HashMap<u32, (ClientListener, Client)>,
    metadata: HashMap<u32, (MetadataListener, Metadata)>,
    /// Which client implements each node and device: that client's lane carries its
    /// set_params.
    owners: HashMap<u32, Owner>,
}

fn props_of(dict: &DictRef) -> Props {
    dict.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Conn {
    pub(super) fn connect(ctx: &Rc<Ctx>) -> Result<Conn, pipewire::Error> {
        let core = ctx.context.connect_rc(None)?;
        let registry = core.get_registry_rc()?;
        let w = Rc::downgrade(ctx);
        let w_done = Rc::downgrade(ctx);
        let core_listener = core
            .add_listener_local()
            .done(move |id, seq| {
                if id == PW_ID_CORE {
                    if let Some(ctx) = w_done.upgrade() {
                        ctx.core_done(seq.seq());
                    }
                }
            })
            .error(move |id, _seq, res, message| {
                // Only a broken pipe means the connection is gone; other core-level errors
                // (e.g. binding a stream that vanished meanwhile) are harmless races.
                if id == PW_ID_CORE && res == -libc::EPIPE {
                    eprintln!("audio-daemon: PipeWire core error {res}: {message}");
                    if let Some(ctx) = w.upgrade() {
                        ctx.connection_lost();
                    }
                } else {
                    // A failed set_param on a vanished node and the like: the state
                    // learns of the removal from the registry, the request from its
                    // deadline.
                    logs::warn(logs::Kind::PipeWireObject, || {
                        format!("PipeWire error on object {id}: {message} ({res})")
                    });
                }
            })
            .register();
        let bound = Rc::new(RefCell::new(Bound::default()));
        let lanes = Rc::new(Lanes::default());
        let (w, b, reg) = (
            Rc::downgrade(ctx),
            Rc::downgrade(&bound),
            registry.downgrade(),
        );
        let (w2, b2, l2) = (
            Rc::downgrade(ctx),
            Rc::downgrade(&bound),
            Rc::downgrade(&lanes),
        );
        let registry_listener = registry
            .add_listener_local()
            .global(move |obj| {
                if let (Some(ctx), Some(bound), Some(reg)) =
                    (w.upgrade(), b.upgrade(), reg.upgrade())
                {
                    on_global(&ctx, &bound, &reg, obj);
                }
            })
            .global_remove(move |id| {
                if let (Some(ctx), Some(bound), Some(lanes)) =
                    (w2.upgrade(), b2.upgrade(), l2.upgrade())
                {
                    on_global_remove(&ctx, &bound, &lanes, id);
                }
            })
            .register();
        Ok(Conn {
            lanes,
            bound,
            pending_sync: Cell::new(None),
            syncs_left: Cell::new(0),
            _registry_listener: registry_listener,
            _registry: registry,
            _core_listener: core_listener,
            _core: core,
        })
    }

    /// Starts a round trip: its `done` arrives after every event caused by earlier calls.
    pub(super) fn sync(&self) -> Option<i32> {
        self._core.sync(0).ok().map(|s| s.seq())
    }

    /// Sends a set_param on the lane of the client that implements the object; false
    /// when the object is unknown or no lane could be opened.
    pub(super) fn set_param(
        &self,
        context: &pipewire::context::ContextRc,
        target: Target,
        kind: ParamType,
        pod: &pipewire::spa::pod::Pod,
    ) -> bool {
        let id = match target {
            Target::Node(id) | Target::Device(id) => id,
        };
        let Some(&owner) = self.bound.borrow().owners.get(&id) else {
            return false;
        };
        self.lanes.set_param(context, owner, target, kind, pod)
    }
}

/// The client implementing an object, if it is one we know (else the shared lane).
fn owner_of(bound: &RefCell<Bound>, obj: &GlobalObject<&DictRef>) -> Owner {
    let client = obj
        .props
        .and_then(|p| p.get("client.id"))
        .and_then(|c| c.parse().ok());
    match client {
        Some(c) if bound.borrow().clients.contains_key(&c) => Owner::Client(c),
        _ => Owner::Shared,
    }
}

fn on_global(
    ctx: &Rc<Ctx>,
    bound: &RefCell<Bound>,
    registry: &RegistryRc,
    obj: &GlobalObject<&DictRef>,
) {
    let prop = |k: &str| obj.props.and_then(|p| p.get(k));
    let id = obj.id;
    // Listeners hold weak references: the context owns them, so strong ones would be
    // a cycle, and a callback arriving during teardown must do nothing.
    let (w1, w2) = (Rc::downgrade(ctx), Rc::downgrade(ctx));
    match obj.type_ {
        ObjectType::Node if prop("media.class").is_some_and(|c| NODE_CLASSES.contains(&c)) => {
            let Ok(node) = registry.bind::<Node, _>(obj) else {
                return;
            };
            let listener = node
                .add_listener_local()
                .info(move |info| {
                    let Some(ctx) = w1.upgrade() else { return };
                    if info.change_mask().contains(NodeChangeMask::PROPS) {
                        if let Some(p) = info.props() {
                            ctx.apply(Update::Node {
                                id,
                                props: props_of(p),
                            });
                        }
                    }
                })
                .param(move |_seq, kind, _index, _next, param| {
                    let Some(ctx) = w2.upgrade() else { return };
                    if kind != ParamType::Props {
                        return;
                    }
                    if let Some(v) = param.and_then(pod::parse_props) {
                        ctx.apply(Update::NodeVolume {
                            id,
                            channels: v.channels,
                            mute: v.mute,
                        });
                    }
                })
                .register();
            node.subscribe_params(&[ParamType::Props]);
            let owner = owner_of(bound, obj);
            let mut b = bound.borrow_mut();
            b.owners.insert(id, owner);
            b.nodes.insert(id, (listener, node));
        }
        ObjectType::Client => {
            let Ok(client) = registry.bind::<Client, _>(obj) else {
                return;
            };
            let listener = client
                .add_listener_local()
                .info(move |info| {
                    let Some(ctx) = w1.upgrade() else { return };
                    if info.change_mask().contains(ClientChangeMask::PROPS) {
                        if let Some(p) = info.props() {
                            ctx.apply(Update::Client {
                                id,
                                props: props_of(p),
                            });
                        }
                    }
                })
                .register();
            bound.borrow_mut().clients.insert(id, (listener, client));
        }
        ObjectType::Device if prop("media.class") == Some("Audio/Device") => {
            let Ok(device) = registry.bind::<Device, _>(obj) else {
                return;
            };
            let listener = device
                .add_listener_local()
                .param(move |_seq, kind, _index, _next, param| {
                    let Some(ctx) = w1.upgrade() else { return };
                    if kind != ParamType::Route {
                        return;
                    }
                    if let Some(r) = param.and_then(pod::parse_route) {
                        ctx.apply(Update::Route {
                            device: id,
                            index: r.index,
                            route_device: r.device,
                            volume: r.volume,
                        });
                    }
                })
                .register();
            device.subscribe_params(&[ParamType::Route]);
            let owner = owner_of(bound, obj);
            let mut b = bound.borrow_mut();
            b.owners.insert(id, owner);
            b.devices.insert(id, (listener, device));
        }
        ObjectType::Metadata if prop("metadata.name") == Some("default") => {
            let Ok(metadata) = registry.bind::<Metadata, _>(obj) else {
                return;
            };
            let listener = metadata
                .add_listener_local()
                .property(move |subject, key, _type, value| {
                    let Some(ctx) = w1.upgrade() else { return 0 };
                    if subject != PW_ID_CORE {
                        return 0;
                    }
                    match key {
                        Some("default.audio.sink") | Some("default.audio.source") => {
                            ctx.apply(Update::Default {
                                sink: key == Some("default.audio.sink"),
                                name: value.and_then(default_node_name),
                            });
                        }
                        // No key: the metadata was cleared.
                        None => {
                            for sink in [true, false] {
                                ctx.apply(Update::Default { sink, name: None });
                            }
                        }
                        _ => {}
                    }
                    0
                })
                .register();
            bound.borrow_mut().metadata.insert(id, (listener, metadata));
        }
        _ => {}
    }
}

/// WirePlumber stores defaults as JSON: `{ "name": "alsa_output..." }`.
fn default_node_name(value: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    v.get("name")?.as_str().map(str::to_owned)
}

fn on_global_remove(ctx: &Rc<Ctx>, bound: &RefCell<Bound>, lanes: &Lanes, id: u32) {
    lanes.forget(id);
    // Unbind under the borrow, then tell the state once the borrow has ended.
    let updates = {
        let mut b = bound.borrow_mut();
        b.owners.remove(&id);
        if b.clients.remove(&id).is_some() {
            lanes.close(id);
            vec![Update::ClientRemoved(id)]
        } else if b.nodes.remove(&id).is_some() {
            vec![Update::NodeRemoved(id)]
        } else if b.devices.remove(&id).is_some() {
            vec![Update::DeviceRemoved(id)]
        } else if b.metadata.remove(&id).is_some() {
            // The defaults it held are gone with it.
            [true, false]
                .map(|sink| Update::Default { sink, name: None })
                .into()
        } else {
            Vec::new()
        }
    };
    for update in updates {
        ctx.apply(update);
    }
}
