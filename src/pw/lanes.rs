//! The connections that carry `set_param`: one *lane* per PipeWire client that
//! implements the objects changed.
//!
//! Why not the main connection: when a node or device is implemented by a client process
//! (every app's stream is), PipeWire forwards `set_param` to that process and marks the
//! *caller* busy until the process answers (`node_set_param` in `impl-node.c` calls
//! `pw_impl_client_set_busy`); a busy client's further messages wait unread. With one
//! connection, a single stopped app (SIGSTOP, a debugger, a hung UI thread) held every
//! later `set_param`, bind and sync of the daemon, so every app's volume keys timed out,
//! and all of it landed at once when the app ran again. On its own lane, a stopped app
//! holds up only changes to its own streams, which cannot happen anyway.
//!
//! The main connection keeps the registry, the bound proxies and their events (including
//! the Props events that confirm changes); lanes only bind the objects they change and
//! listen to nothing but errors. Lanes are made on first use and dropped with their client;
//! past [`MAX_LANES`] clients share one.

use crate::logs;
use pipewire::context::ContextRc;
use pipewire::core::{CoreRc, PW_ID_CORE};
use pipewire::device::Device;
use pipewire::node::Node;
use pipewire::permissions::PermissionFlags;
use pipewire::registry::{GlobalObject, RegistryRc};
use pipewire::spa::param::ParamType;
use pipewire::spa::pod::Pod;
use pipewire::spa::utils::dict::DictRef;
use pipewire::types::ObjectType;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// Lanes at most (each is a PipeWire connection: a socket on both sides).
pub const MAX_LANES: usize = 32;

/// Who implements an object, as far as lanes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A client process (its PipeWire client id).
    Client(u32),
    /// The server itself, a client we do not know, or any client past [`MAX_LANES`].
    Shared,
}

/// Fields drop in declaration order: proxies before the registry and core they use.
struct Lane {
    nodes: HashMap<u32, Node>,
    devices: HashMap<u32, Device>,
    registry: RegistryRc,
    /// Set by the core's error callback when the connection broke.
    broken: Rc<Cell<bool>>,
    _core_listener: pipewire::core::Listener,
    _core: CoreRc,
}

impl Lane {
    fn open(context: &ContextRc) -> Result<Lane, pipewire::Error> {
        let core = context.connect_rc(None)?;
        let registry = core.get_registry_rc()?;
        let broken = Rc::new(Cell::new(false));
        let b = broken.clone();
        let listener = core
            .add_listener_local()
            .error(move |id, _seq, res, message| {
                if id == PW_ID_CORE && res == -libc::EPIPE {
                    b.set(true);
                } else {
                    // A set_param on an object that vanished meanwhile, and the like:
                    // the main connection's registry reports the removal.
                    logs::warn(logs::Kind::PipeWireObject, || {
                        format!("PipeWire error on object {id}: {message} ({res})")
                    });
                }
            })
            .register();
        Ok(Lane {
            nodes: HashMap::new(),
            devices: HashMap::new(),
            registry,
            broken,
            _core_listener: listener,
            _core: core,
        })
    }

    /// Binds by id: the main connection saw the global, so a registry event here is not
    /// needed (the server checks that the object exists).
    fn bind<T: pipewire::proxy::ProxyT>(&self, id: u32, type_: ObjectType) -> Option<T> {
        let global: GlobalObject<&DictRef> = GlobalObject {
            id,
            permissions: PermissionFlags::empty(),
            type_,
            version: 0,
            props: None,
        };
        self.registry.bind::<T, _>(&global).ok()
    }
}

/// Every lane of one PipeWire connection.
#[derive(Default)]
pub struct Lanes {
    lanes: RefCell<HashMap<Owner, Lane>>,
}

/// What to set, on which kind of object.
pub enum Target {
    Node(u32),
    Device(u32),
}

impl Lanes {
    /// Sends `set_param` on `owner`'s lane; false when no lane could be opened.
    pub fn set_param(
        &self,
        context: &ContextRc,
        owner: Owner,
        target: Target,
        kind: ParamType,
        pod: &Pod,
    ) -> bool {
        let mut lanes = self.lanes.borrow_mut();
        let owner = if lanes.contains_key(&owner) || lanes.len() < MAX_LANES {
            owner
        } else {
            Owner::Shared
        };
        if lanes.get(&owner).is_some_and(|l| l.broken.get()) {
            lanes.remove(&owner);
        }
        let lane = match lanes.entry(owner) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => match Lane::open(context) {
                Ok(lane) => e.insert(lane),
                Err(err) => {
                    eprintln!("audio-daemon: cannot open a PipeWire connection for changes: {err}");
                    return false;
                }
            },
        };
        match target {
            Target::Node(id) => {
                if !lane.nodes.contains_key(&id) {
                    let Some(n) = lane.bind::<Node>(id, ObjectType::Node) else {
                        return false;
                    };
                    lane.nodes.insert(id, n);
                }
                lane.nodes[&id].set_param(kind, 0, pod);
            }
            Target::Device(id) => {
                if !lane.devices.contains_key(&id) {
                    let Some(d) = lane.bind::<Device>(id, ObjectType::Device) else {
                        return false;
                    };
                    lane.devices.insert(id, d);
                }
                lane.devices[&id].set_param(kind, 0, pod);
            }
        }
        true
    }

    /// An object is gone: drop its proxies.
    pub fn forget(&self, id: u32) {
        for lane in self.lanes.borrow_mut().values_mut() {
            lane.nodes.remove(&id);
            lane.devices.remove(&id);
        }
    }

    /// A client is gone: close its lane (with whatever it still had queued).
    pub fn close(&self, client: u32) {
        self.lanes.borrow_mut().remove(&Owner::Client(client));
    }
}
