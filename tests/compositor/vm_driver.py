"""A QEMU (TCG) VM booted from the Debian testing root, driven like nixpkgs' test driver
drives its machines: `succeed`, `execute`, `wait_until_succeeds` run shell commands in
the guest (through tests/compositor/vm-agent.py on the second serial port), and
`send_key` / `send_monitor_command` go to QEMU's human monitor, whose answer is
returned as nixpkgs' driver returns it: the monitor's echo of the command and whatever
QEMU said, up to and including its next `(qemu) ` prompt.
The shared key scenario (nixos-tests/hyprland_keys.py) runs on either driver.

The VM is one QEMU process, started with PR_SET_PDEATHSIG and killed by its PID in
`Machine.kill`, which every caller runs on every path (a `with` block).
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import time

PR_SET_PDEATHSIG = 1


class GuestError(Exception):
    pass


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _connect(path, deadline, proc):
    while True:
        if proc.poll() is not None:
            raise GuestError(f"qemu exited with status {proc.returncode} before {path} existed")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise GuestError(f"no socket at {path}")
            time.sleep(0.05)


class Machine:
    def __init__(self, argv, workdir, log=print):
        self.argv = argv
        self.workdir = workdir
        self.log = log
        self.proc = None
        self.ctl = None
        self.monitor = None
        self._ctl_buf = b""
        self._next_id = 0

    # Life cycle -----------------------------------------------------------------
    def start(self, boot_timeout):
        console = open(os.path.join(self.workdir, "console.log"), "wb")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.log(f"qemu started, pid {self.proc.pid}")
        deadline = time.monotonic() + 30
        self.ctl = _connect(os.path.join(self.workdir, "ctl.sock"), deadline, self.proc)
        self.monitor = _connect(os.path.join(self.workdir, "monitor.sock"), deadline, self.proc)
        self._monitor_read()  # the banner, up to the first prompt
        ready = self._ctl_read(time.monotonic() + boot_timeout)
        if not ready.get("ready"):
            raise GuestError(f"unexpected first line from the guest agent: {ready}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL to this PID only
        if self.proc is not None:
            self.proc.wait()
        for s in (self.ctl, self.monitor):
            if s is not None:
                s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    # Guest commands -------------------------------------------------------------
    def _ctl_read(self, deadline):
        while b"\n" not in self._ctl_buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out waiting for the guest agent")
            self.ctl.settimeout(min(left, 1.0))
            try:
                chunk = self.ctl.recv(65536)
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise GuestError(f"qemu exited with status {self.proc.returncode}")
                continue
            if not chunk:
                raise GuestError("the guest agent's serial port closed (VM gone?)")
            self._ctl_buf += chunk
        line, self._ctl_buf = self._ctl_buf.split(b"\n", 1)
        return json.loads(line.strip(b"\r \0"))

    def _request(self, cmd, timeout, retry=False):
        self._next_id += 1
        req = {"id": self._next_id, "cmd": cmd, "timeout": timeout, "retry": retry}
        self.ctl.sendall((json.dumps(req) + "\n").encode())
        while True:
            # The agent enforces the timeout; the margin covers the serial round trip.
            reply = self._ctl_read(time.monotonic() + timeout + 30)
            if reply.get("id") == self._next_id:
                return reply
            self.log(f"(ignoring agent line {reply})")

    def execute(self, cmd, timeout=60):
        reply = self._request(cmd, timeout)
        return reply["status"], reply["out"]

    def succeed(self, cmd, timeout=60):
        reply = self._request(cmd, timeout)
        if reply["status"] != 0:
            raise GuestError(
                f"command failed (status {reply['status']}): {cmd}\n{reply['out']}{reply.get('err', '')}"
            )
        return reply["out"]

    def wait_until_succeeds(self, cmd, timeout=60):
        reply = self._request(cmd, timeout, retry=True)
        if reply["status"] != 0:
            raise GuestError(
                f"timed out after {timeout} s ({reply.get('tries')} tries): {cmd}\n{reply['out']}{reply.get('err', '')}"
            )
        return reply["out"]

    # QEMU's monitor -------------------------------------------------------------
    def _monitor_read(self):
        """Everything the monitor writes up to its next prompt."""
        answer = b""
        while not answer.endswith(b"(qemu) "):
            self.monitor.settimeout(30)
            chunk = self.monitor.recv(4096)
            if not chunk:
                raise GuestError("QEMU's monitor socket closed")
            answer += chunk
        return answer.decode(errors="replace")

    def send_monitor_command(self, command):
        self.monitor.sendall(f"{command}\n".encode())
        return self._monitor_read()
