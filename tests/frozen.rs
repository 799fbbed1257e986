//! A frozen (SIGSTOPped) stream client must not take other apps down.

mod common;

use audio_daemon_ipc::ErrorKind;
use common::*;
use std::time::Instant;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn explore_frozen() {
    let s = session();
    let p = vesktop("t-frozen");
    let frozen = s.streams(1, &props(&p)).unwrap();
    let yt = s
        .streams(
            1,
            &[
                ("media.name", "youtube video"),
                ("media.role", "t-frozen-yt"),
            ],
        )
        .unwrap();
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("vesktop", 50.0)));
    app(call(&d, set("youtube", 50.0)));
    frozen.proc.signal(libc::SIGSTOP);
    let t = Instant::now();
    let r = call(&d, set("vesktop", 30.0));
    eprintln!(
        "vesktop: {:?} after {:?}",
        r.as_ref().err().map(|e| e.kind),
        t.elapsed()
    );
    let t = Instant::now();
    let r = call(&d, set("youtube", 60.0));
    eprintln!(
        "youtube: {:?} after {:?}",
        r.as_ref().err().map(|e| e.kind),
        t.elapsed()
    );
    eprintln!("wpctl yt {:?}", s.wpctl_volume(yt.ids[0]));
    let _ = ErrorKind::Timeout;
    eprintln!("daemon pid {}", d.proc.pid());
    let t = Instant::now();
    drop(d);
    let mut d2 = s.spawn_daemon("{}").unwrap();
    eprintln!(
        "second daemon: {:?} after {:?}",
        d2.wait_connected(),
        t.elapsed()
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    frozen.proc.signal(libc::SIGCONT);
}
