"""The Hyprland VM's guest agent: runs the host's shell commands, like nixpkgs' test
driver's backdoor, over the VM's second serial port.

    python3 vm-agent.py /dev/ttyS1

Protocol, one JSON object per line each way. The agent first writes {"ready": true}.
Requests: {"id": N, "cmd": "SHELL", "timeout": SECONDS, "retry": BOOL}; the command
runs in bash after `source tests/compositor/vm-guest.sh` (the session's environment and
helpers). A command whose first line is `#as-user` runs as the test user, alice (uid
1000, her groups, a fresh environment with her HOME; vm-guest.sh then sets her session's
variables), forked straight into her ids: a wrapper (setpriv, a second bash) would cost
every try of a wait hundreds of milliseconds under emulation. With "retry" it is run again every 0.1 s until it succeeds or the timeout
passes (wait_until_succeeds, without a round trip per try). Reply: {"id": N,
"status": EXIT, "out": "STDOUT", "err": "STDERR", "tries": K}; status 124 means it timed out.
{"id": N, "cmd": "__exit"} ends the agent (and with it the VM).
"""

import grp
import json
import os
import pwd
import signal
import subprocess
import sys
import time
import tty

PRELUDE = "source /src/tests/compositor/vm-guest.sh\n"
AS_USER = "#as-user\n"
USER = "alice"


def user_process():
    """(preexec_fn, env) that make a child the test user, in a fresh environment."""
    pw = pwd.getpwnam(USER)
    groups = [g.gr_gid for g in grp.getgrall() if USER in g.gr_mem]

    def become():
        os.setgroups(groups)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        os.chdir(pw.pw_dir)

    env = {"HOME": pw.pw_dir, "USER": USER, "LOGNAME": USER, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return become, env


def run_once(cmd, timeout):
    """Runs cmd in its own process group; returns (status, stdout, stderr)."""
    become, env = user_process() if cmd.startswith(AS_USER) else (None, None)
    proc = subprocess.Popen(
        ["bash", "-c", PRELUDE + cmd],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=become,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=max(timeout, 0.1))
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        # The whole group: a pipeline's other processes would keep the pipe open.
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return 124, out, err + b"\n(timed out)"


def handle(req):
    timeout = float(req.get("timeout", 60))
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        status, out, err = run_once(req["cmd"], deadline - time.monotonic())
        if status == 0 or not req.get("retry") or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if req.get("retry") and status != 0:
        status = 124
    return {
        "id": req["id"],
        "status": status,
        "out": out.decode(errors="replace")[-1000000:],
        "err": err.decode(errors="replace")[-10000:],
        "tries": tries,
    }


def main():
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    port_in = os.fdopen(fd, "rb", buffering=0)
    port_out = os.fdopen(os.dup(fd), "wb", buffering=0)

    def send(obj):
        port_out.write((json.dumps(obj) + "\n").encode())

    send({"ready": True})
    buf = b""
    while True:
        chunk = port_in.read(4096)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError:
                send({"error": "bad request line", "line": line.decode(errors="replace")})
                continue
            if req.get("cmd") == "__exit":
                send({"id": req.get("id"), "status": 0, "out": ""})
                return
            send(handle(req))


if __name__ == "__main__":
    main()
