//! `audio-daemon-streams`: silent playback streams with chosen properties, for the
//! tests, the demo and the benchmark.
//!
//! Real `pw_stream`s, like an app's: they appear in the registry, carry the given
//! properties, and honour volume changes (their Props are what wpctl reads). pw-cat
//! cannot stand in for browsers because it overwrites `media.name` with its file name.
//!
//! Output (stdout, one line each): `node ID` for every stream once it is streaming (or,
//! with `--no-link`, paused with an id), `ready` once the first `--count` streams are,
//! `removed ID` after a remove; with `--report-volume`, `volume ID NS V…` whenever a
//! stream's channel volumes change (NS: CLOCK_MONOTONIC nanoseconds when the stream
//! learnt of it, V: linear gains), so a benchmark can time "applied" from the stream's
//! side, independently of the daemon.
//! Commands (stdin, one per line): `add` (one more stream), `remove ID`. EOF on stdin
//! ends the program, so a harness that dies takes its streams with it.

use pipewire::context::ContextRc;
use pipewire::core::CoreRc;
use pipewire::main_loop::MainLoopRc;
use pipewire::properties::PropertiesBox;
use pipewire::spa;
use pipewire::spa::pod::Pod;
use pipewire::stream::{StreamFlags, StreamListener, StreamRc, StreamState};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;

const USAGE: &str = "\
usage: audio-daemon-streams [--count N] [--channels N] [--no-link] [--report-volume]
                            [--prop KEY=VALUE]...

Creates N (default 1) silent playback streams with the given node properties and keeps
them until stdin closes. Prints `node ID` per stream and `ready` when all have ids.
stdin commands: `add`, `remove ID`.";

struct Opts {
    count: usize,
    channels: u32,
    link: bool,
    report_volume: bool,
    props: Vec<(String, String)>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        count: 1,
        channels: 2,
        link: true,
        report_volume: false,
        props: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--count" => o.count = value()?.parse().map_err(|_| "bad --count")?,
            "--channels" => {
                o.channels = value()?.parse().map_err(|_| "bad --channels")?;
                if !(1..=8).contains(&o.channels) {
                    return Err("--channels must be 1 to 8".into());
                }
            }
            "--no-link" => o.link = false,
            "--report-volume" => o.report_volume = true,
            "--prop" => {
                let v = value()?;
                let (k, v) = v.split_once('=').ok_or("--prop takes KEY=VALUE")?;
                o.props.push((k.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One stream and what keeps it alive.
/// Fields drop in order: the listener must be removed before the stream is destroyed
/// (destroying it unlinks the hook without resetting it; removing it later would write
/// into freed memory).
struct Entry {
    _listener: StreamListener<()>,
    stream: StreamRc,
}

/// Streams are declared before the core so they are destroyed while it is still there.
struct App {
    streams: RefCell<Vec<Entry>>,
    /// Streams still waiting for a node id before `ready` is printed.
    pending_ready: RefCell<usize>,
    by_node: RefCell<HashMap<u32, usize>>,
    opts: Opts,
    core: CoreRc,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn format_pod(channels: u32) -> Vec<u8> {
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(spa::param::audio::AudioFormat::F32LE);
    info.set_rate(48000);
    info.set_channels(channels);
    let mut position = [0; spa::param::audio::MAX_CHANNELS];
    let names = [
        spa::sys::SPA_AUDIO_CHANNEL_FL,
        spa::sys::SPA_AUDIO_CHANNEL_FR,
        spa::sys::SPA_AUDIO_CHANNEL_FC,
        spa::sys::SPA_AUDIO_CHANNEL_LFE,
        spa::sys::SPA_AUDIO_CHANNEL_RL,
        spa::sys::SPA_AUDIO_CHANNEL_RR,
        spa::sys::SPA_AUDIO_CHANNEL_SL,
        spa::sys::SPA_AUDIO_CHANNEL_SR,
    ];
    if channels == 1 {
        position[0] = spa::sys::SPA_AUDIO_CHANNEL_MONO;
    } else {
        position[..channels as usize].copy_from_slice(&names[..channels as usize]);
    }
    info.set_position(position);
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(spa::pod::Object {
            type_: spa::sys::SPA_TYPE_OBJECT_Format,
            id: spa::sys::SPA_PARAM_EnumFormat,
            properties: info.into(),
        }),
    )
    .map(|(c, _)| c.into_inner())
    .unwrap_or_default()
}

impl App {
    fn add(self: &Rc<Self>) -> Result<(), pipewire::Error> {
        let mut props = PropertiesBox::new();
        props.insert("media.type", "Audio");
        props.insert("media.category", "Playback");
        props.insert("media.role", "Test");
        if !self.opts.link {
            props.insert("node.autoconnect", "false");
        }
        for (k, v) in &self.opts.props {
            props.insert(k.as_str(), v.as_str());
        }
        let stream = StreamRc::new(self.core.clone(), "audio-daemon-streams", props)?;
        let weak = Rc::downgrade(self);
        let index = self.streams.borrow().len();
        let announced = std::cell::Cell::new(false);
        let link = self.opts.link;
        let report = self.opts.report_volume;
        let listener = stream
            .add_local_listener::<()>()
            .state_changed(move |s, _, _, new| {
                // A linked stream is announced once it streams: by then its format is set
                // and its Props carry channel volumes. An unlinked one never gets further
                // than paused.
                let settled = match new {
                    StreamState::Streaming => true,
                    StreamState::Paused => !link,
                    _ => false,
                };
                if announced.get() || !settled {
                    return;
                }
                let id = s.node_id();
                if id == pipewire::constants::ID_ANY {
                    return;
                }
                announced.set(true);
                say(&format!("node {id}"));
                if let Some(app) = weak.upgrade() {
                    app.by_node.borrow_mut().insert(id, index);
                    let mut p = app.pending_ready.borrow_mut();
                    if *p > 0 {
                        *p -= 1;
                        if *p == 0 {
                            say("ready");
                        }
                    }
                }
            })
            .control_info(move |s, _, id, control| {
                if !report || id != spa::sys::SPA_PROP_channelVolumes || control.is_null() {
                    return;
                }
                let t = monotonic_ns();
                // SAFETY: PipeWire passes a valid control for the duration of the call;
                // `values` holds `n_values` floats.
                let values = unsafe {
                    let c = &*control;
                    if c.values.is_null() {
                        return;
                    }
                    std::slice::from_raw_parts(c.values, c.n_values as usize)
                };
                let v: Vec<String> = values.iter().map(|x| format!("{x}")).collect();
                say(&format!("volume {} {t} {}", s.node_id(), v.join(" ")));
            })
            .process(|s, _| {
                // Silence: the buffer's memory is whatever it was; zero what we hand over.
                if let Some(mut buffer) = s.dequeue_buffer() {
                    let datas = buffer.datas_mut();
                    if let Some(d) = datas.first_mut() {
                        let len = d.data().map(|slice| {
                            slice.fill(0);
                            slice.len()
                        });
                        let chunk = d.chunk_mut();
                        *chunk.offset_mut() = 0;
                        *chunk.stride_mut() = 4;
                        *chunk.size_mut() = len.unwrap_or(0) as u32;
                    }
                }
            })
            .register()?;
        let pod = format_pod(self.opts.channels);
        let mut params = [Pod::from_bytes(&pod).ok_or(pipewire::Error::CreationFailed)?];
        let mut flags = StreamFlags::MAP_BUFFERS | StreamFlags::RT_PROCESS;
        if self.opts.link {
            flags |= StreamFlags::AUTOCONNECT;
        }
        stream.connect(spa::utils::Direction::Output, None, flags, &mut params)?;
        self.streams.borrow_mut().push(Entry {
            _listener: listener,
            stream,
        });
        Ok(())
    }

    fn remove(&self, node: u32) {
        let Some(index) = self.by_node.borrow_mut().remove(&node) else {
            say(&format!("error no stream {node}"));
            return;
        };
        if let Some(e) = self.streams.borrow().get(index) {
            let _ = e.stream.disconnect();
        }
        say(&format!("removed {node}"));
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock every process on the machine shares.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

enum Input {
    Add,
    Remove(u32),
    Eof,
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    pipewire::init();
    let run = || -> Result<(), pipewire::Error> {
        let main_loop = MainLoopRc::new(None)?;
        let context = ContextRc::new(&main_loop, None)?;
        let core = context.connect_rc(None)?;
        let count = opts.count;
        let app = Rc::new(App {
            core,
            opts,
            streams: RefCell::new(Vec::new()),
            pending_ready: RefCell::new(count),
            by_node: RefCell::new(HashMap::new()),
        });
        if count == 0 {
            say("ready");
        }
        for _ in 0..count {
            app.add()?;
        }
        let (tx, rx) = pipewire::channel::channel::<Input>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                let cmd = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                    ["add"] => Input::Add,
                    ["remove", id] => match id.parse() {
                        Ok(id) => Input::Remove(id),
                        Err(_) => continue,
                    },
                    _ => continue,
                };
                if tx.send(cmd).is_err() {
                    return;
                }
            }
            let _ = tx.send(Input::Eof);
        });
        let ml = main_loop.clone();
        let a = app.clone();
        let _rx = rx.attach(main_loop.loop_(), move |input| match input {
            Input::Add => {
                if let Err(e) = a.add() {
                    say(&format!("error {e}"));
                }
            }
            Input::Remove(id) => a.remove(id),
            Input::Eof => ml.quit(),
        });
        main_loop.run();
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audio-daemon-streams: {e}");
            ExitCode::FAILURE
        }
    }
}
