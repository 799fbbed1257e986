"""Key-to-applied timing inside the Hyprland VM (nixos-tests/hyprland_keys.py).

    vm-latency.py start                 start the recorder (unless it runs), wait until it listens
    vm-latency.py mark                  start a new measurement (report reads from here)
    vm-latency.py wait-release CODE S   wait until key CODE was pressed and released
    vm-latency.py held CODE             how long (ms) key CODE was last held, kernel times
    vm-latency.py wait-events N S       wait until the default sink has changed N times
                                        since the mark
    vm-latency.py report LABEL          one "latency TOOL MS" line per volume key press
                                        since the mark (TOOL: LABEL, or wpctl with ALT)

The recorder reads the keyboard's kernel input events (their timestamps are the
kernel's, taken when the key arrived: before Hyprland saw it) and the daemon's event
stream (subscribe; an event is written once PipeWire reported the change, whoever made
it), stamping each event when it arrives, both on CLOCK_REALTIME. A press of the volume
keys with ALT held is the wpctl bind, without it the generated bind (LABEL: `audioctl`
for exec binds, `global` for global shortcuts); the time
to the next change of the default sink is that press's latency. Its log:
$XDG_RUNTIME_DIR/latency.log, lines `key CODE VALUE T` and `sink VOLUME MUTED T`.
"""

import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

RUN = os.environ["XDG_RUNTIME_DIR"]
LOG = os.path.join(RUN, "latency.log")
EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit: timeval, type, code, value
EV_KEY = 1
KEY_LEFTALT, KEY_LEFTMETA, KEY_VOLUMEDOWN, KEY_VOLUMEUP = 56, 125, 114, 115


def keyboard():
    for name in sorted(os.listdir("/sys/class/input")):
        path = f"/sys/class/input/{name}/device/name"
        if name.startswith("event") and os.path.exists(path):
            if "keyboard" in open(path).read().lower():
                return f"/dev/input/{name}"
    sys.exit("vm-latency: no keyboard in /sys/class/input")


def record():
    kbd = os.open(keyboard(), os.O_RDONLY)
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    daemon.connect(os.path.join(RUN, "audio-daemon.sock"))
    daemon.sendall(b'{"action":"subscribe"}\n')
    out = open(LOG, "a", buffering=1)
    buf = b""
    last = None
    subscribed = False
    while True:
        ready, _, _ = select.select([kbd, daemon], [], [])
        if kbd in ready:
            data = os.read(kbd, EVENT.size * 64)
            for i in range(0, len(data) - EVENT.size + 1, EVENT.size):
                sec, usec, kind, code, value = EVENT.unpack_from(data, i)
                if kind == EV_KEY:
                    out.write(f"key {code} {value} {sec}.{usec:06d}\n")
        if daemon in ready:
            chunk = daemon.recv(65536)
            now = time.time()
            if not chunk:
                out.write("daemon-closed\n")
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if msg.get("subscribed") and not subscribed:
                    subscribed = True
                    out.write("ready\n")
                if msg.get("event") == "app" and msg.get("app") == "@sink":
                    state = (msg.get("volume"), msg.get("muted"))
                    if last is not None and state != last:
                        out.write(f"sink {state[0]} {state[1]} {now:.6f}\n")
                    last = state


def all_lines():
    try:
        return [line.split() for line in open(LOG)]
    except FileNotFoundError:
        return []


def lines():
    """The log since the last mark."""
    log = all_lines()
    marks = [i for i, line in enumerate(log) if line == ["mark"]]
    return log[marks[-1] + 1 :] if marks else log


def wait(condition, seconds, what):
    deadline = time.monotonic() + float(seconds)
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"vm-latency: timed out waiting for {what}")
        time.sleep(0.02)


def running(pidfile):
    """Whether the recorder in `pidfile` still runs: it ends when the daemon closes its
    subscription (each Hyprland session's target restart restarts the daemon)."""
    try:
        pid = int(open(pidfile).read())
        return b"vm-latency.py" in open(f"/proc/{pid}/cmdline", "rb").read()
    except (OSError, ValueError):
        return False


def start():
    pidfile = os.path.join(RUN, "latency.pid")
    if running(pidfile):
        return
    readies = all_lines().count(["ready"])
    proc = subprocess.Popen(
        [sys.executable, __file__, "record"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(os.environ.get("LOGS", RUN), "latency-recorder.log"), "a"),
        start_new_session=True,
    )
    open(pidfile, "w").write(str(proc.pid))
    wait(lambda: all_lines().count(["ready"]) > readies, 60, "the recorder to subscribe")


def released(code):
    keys = [line for line in lines() if line[0] == "key" and line[1] == code]
    return any(line[2] == "1" for line in keys) and keys[-1][2] == "0"


def held_ms(code):
    """Milliseconds between the last press of key `code` and its release."""
    down = up = None
    for line in lines():
        if line[0] == "key" and line[1] == code:
            if line[2] == "1":
                down, up = float(line[3]), None
            elif line[2] == "0" and down is not None:
                up = float(line[3])
    if down is None or up is None:
        sys.exit(f"vm-latency: key {code} was not pressed and released since the mark")
    return (up - down) * 1000


def report(label):
    held = set()
    presses, sink = [], []
    for line in lines():
        if line[0] == "key":
            code, value, t = int(line[1]), int(line[2]), float(line[3])
            if value == 1:
                held.add(code)
                if code in (KEY_VOLUMEUP, KEY_VOLUMEDOWN) and KEY_LEFTMETA not in held:
                    presses.append(("wpctl" if KEY_LEFTALT in held else label, t))
            elif value == 0:
                held.discard(code)
        elif line[0] == "sink":
            sink.append(float(line[3]))
    for tool, t in presses:
        after = [s for s in sink if s > t]
        if after:
            print(f"latency {tool} {(after[0] - t) * 1000:.3f}")
        else:
            print(f"unanswered {tool} {t}")


def main():
    cmd = sys.argv[1]
    if cmd == "record":
        record()
    elif cmd == "start":
        start()
    elif cmd == "wait-release":
        wait(lambda: released(sys.argv[2]), sys.argv[3], f"key {sys.argv[2]} to be released")
    elif cmd == "wait-events":
        n = int(sys.argv[2])
        wait(lambda: sum(1 for line in lines() if line[0] == "sink") >= n, sys.argv[3], f"{n} sink changes")
    elif cmd == "mark":
        with open(LOG, "a") as out:
            out.write("mark\n")
    elif cmd == "held":
        print(f"{held_ms(sys.argv[2]):.1f}")
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
