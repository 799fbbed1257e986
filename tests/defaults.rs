//! `@sink` and `@source`: WirePlumber's default devices as each WirePlumber version sets
//! them, and defaults changed with `wpctl set-default`, before and while the daemon runs.

mod common;

use audio_daemon_ipc::ErrorKind;
use audio_daemon_testkit::{wait_until, Daemon, Proc, Session};
use common::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// WirePlumber's (major, minor), from the library `wireplumber --version` is linked with.
fn wireplumber_version() -> (u32, u32) {
    linked_version("wireplumber", "libwireplumber")
}

/// PipeWire's (major, minor), from the library `pipewire --version` is linked with.
fn pipewire_version() -> (u32, u32) {
    linked_version("pipewire", "libpipewire")
}

/// `program --version`'s "Linked with LIB X.Y.Z" as (X, Y).
fn linked_version(program: &str, lib: &str) -> (u32, u32) {
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{program} --version: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("Linked with {lib} ");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {lib} version in {text:?}"));
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// `pw-metadata -m`: a client of the `default` metadata independent of the daemon,
/// connected before a change, recording every update it is sent.
struct MetadataWatch {
    _proc: Proc,
    seen: Arc<Mutex<Vec<String>>>,
}

impl MetadataWatch {
    fn start(s: &Session) -> MetadataWatch {
        let mut child = s
            .command("pw-metadata")
            .args(["-m", "-n", "default"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let lines = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let w = MetadataWatch {
            _proc: Proc {
                child,
                name: "pw-metadata",
            },
            seen,
        };
        // It prints the current defaults first: then it is bound.
        wait_until(Duration::from_secs(5), "pw-metadata to bind", || {
            w.saw("default.audio.sink", "")
        })
        .unwrap();
        w
    }

    /// Whether an update of `key` whose value mentions `value` has arrived.
    fn saw(&self, key: &str, value: &str) -> bool {
        let key = format!("key:'{key}'");
        self.seen
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&key) && l.contains(value))
    }
}

/// The node wpctl resolves `@DEFAULT_AUDIO_SINK@`/`@DEFAULT_AUDIO_SOURCE@` to, if any.
fn wpctl_default(s: &Session, which: &str) -> Option<u32> {
    let out = s.command("wpctl").args(["inspect", which]).output().ok()?;
    // "id 42, type PipeWire:Interface:Node"
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)?
        .trim_end_matches(',')
        .parse()
        .ok()
}

/// Creates a null device node of `class` (Audio/Sink, Audio/Source); returns its id.
fn null_device(s: &Session, name: &str, class: &str) -> u32 {
    let status = s
        .command("pw-cli")
        .args([
            "create-node",
            "adapter",
            &format!(
                "{{ factory.name=support.null-audio-sink node.name={name} \
                 media.class={class} object.linger=true audio.position=[FL FR] }}"
            ),
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut id = None;
    wait_until(Duration::from_secs(5), "the new node in pw-dump", || {
        id = s.pw_dump().ok().and_then(|dump| {
            dump.as_array()?.iter().find_map(|o| {
                (o["info"]["props"]["node.name"] == name).then(|| o["id"].as_u64())?
            })
        });
        id.is_some()
    })
    .unwrap();
    id.unwrap() as u32
}

/// `wpctl set-default`, then waits until wpctl itself resolves the default to `id`.
fn make_default(s: &Session, id: u32, which: &str) {
    let out = s
        .command("wpctl")
        .args(["set-default", &id.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    wait_until(
        Duration::from_secs(10),
        "WirePlumber to make it the default",
        || wpctl_default(s, which) == Some(id),
    )
    .unwrap();
}

fn ids(a: &audio_daemon_ipc::AppState) -> Vec<u32> {
    a.streams.iter().map(|x| x.id).collect()
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn source_with_no_microphone_as_each_wireplumber_sets_it() {
    let s = session();
    let d = s.daemon("{}").unwrap();
    let default = wpctl_default(&s, "@DEFAULT_AUDIO_SOURCE@");
    if wireplumber_version() >= (0, 5) {
        // WirePlumber 0.5 sets no default source when there is no microphone.
        assert_eq!(default, None, "wpctl shows a default source on 0.5");
        let before = s.wpctl_volume(s.sink_id);
        let e = call(&d, set("@source", 30.0)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoStreams, "{e:?}");
        assert!(e.message.contains("no default source"), "{}", e.message);
        assert_eq!(s.wpctl_volume(s.sink_id), before, "something changed");
    } else {
        // WirePlumber 0.4 picks the sink's monitor, which is the sink node itself; @source
        // then controls it, as wpctl's @DEFAULT_AUDIO_SOURCE@ does.
        assert_eq!(default, Some(s.sink_id), "wpctl's default source on 0.4");
        let a = app(call(&d, set("@source", 30.0)));
        assert_eq!(ids(&a), [s.sink_id]);
        assert_wpctl(&s, s.sink_id, 0.30, false);
    }
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_microphone_made_the_default_is_what_source_means() {
    let s = session();
    // The daemon starts after the change, which every PipeWire delivers (see the next
    // test for a change while it runs).
    let mic = null_device(&s, "test-mic", "Audio/Source");
    make_default(&s, mic, "@DEFAULT_AUDIO_SOURCE@");
    let d = s.daemon("{}").unwrap();
    let a = app(call(&d, set("@source", 65.0)));
    assert_eq!(ids(&a), [mic]);
    assert_wpctl(&s, mic, 0.65, false);
}

/// Waits for the daemon's `@sink`/`@source` to be `id` after a change of the default made
/// while it runs. PipeWire 1.x delivers such a change to every bound client. PipeWire 0.3.65
/// sometimes delivers it to nobody: then an independent client bound before the change
/// (pw-metadata) must have missed it too, and a daemon started afterwards follows.
fn follows(s: &Session, d: Daemon, watch: &MetadataWatch, target: &str, id: u32) -> Daemon {
    let (key, name) = if target == "@sink" {
        ("default.audio.sink", "test-sink-2")
    } else {
        ("default.audio.source", "test-mic")
    };
    let live = wait_until(Duration::from_secs(5), "the daemon to follow", || {
        ids(&app(call(&d, get(target)))) == [id]
    });
    if let Err(e) = live {
        let version = pipewire_version();
        assert!(version < (1, 0), "{target} on PipeWire {version:?}: {e}");
        assert!(
            !watch.saw(key, name),
            "{target}: pw-metadata was sent the change the daemon missed"
        );
        eprintln!("PipeWire {version:?} delivered the change of {key} to no client");
        drop(d);
        let d = s.daemon("{}").unwrap();
        wait_app(&d, target, "a daemon started after the change", |a| {
            ids(a) == [id]
        });
        return d;
    }
    // The observer works: it is sent what the daemon was sent (its silence above means
    // something).
    wait_until(
        Duration::from_secs(5),
        "pw-metadata to see the change",
        || watch.saw(key, name),
    )
    .unwrap();
    d
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn sink_and_source_follow_wpctl_set_default_while_the_daemon_runs() {
    let s = session();
    let d = s.daemon("{}").unwrap();
    wait_app(&d, "@sink", "the first sink", |a| ids(a) == [s.sink_id]);
    let speakers = null_device(&s, "test-sink-2", "Audio/Sink");
    let watch = MetadataWatch::start(&s);
    make_default(&s, speakers, "@DEFAULT_AUDIO_SINK@");
    let d = follows(&s, d, &watch, "@sink", speakers);
    let before = s.wpctl_volume(s.sink_id);
    app(call(&d, set("@sink", 35.0)));
    assert_wpctl(&s, speakers, 0.35, false);
    assert_eq!(s.wpctl_volume(s.sink_id), before, "the old sink changed");

    let mic = null_device(&s, "test-mic", "Audio/Source");
    make_default(&s, mic, "@DEFAULT_AUDIO_SOURCE@");
    let d = follows(&s, d, &watch, "@source", mic);
    app(call(&d, set("@source", 20.0)));
    assert_wpctl(&s, mic, 0.20, false);
}
