#!/usr/bin/env python3
"""Runs a shell command inside a test guest through its QEMU guest agent and prints its output.

Usage: guest-sh.py QGA_SOCKET SCRIPT  (the VM's <run dir>/qga.sock). Exits with the command's
exit code; 124 when the agent or the command does not answer within TIMEOUT seconds (env, 60).
The protocol is GuestAgentClient's: guest-sync-delimited first (its reply follows a 0xFF byte,
which marks where a previous client's leftovers end), then guest-exec and guest-exec-status.
"""
import base64
import json
import os
import random
import socket
import sys
import time


def main():
    path, script = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + float(os.environ.get("TIMEOUT", "60"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(max(1.0, deadline - time.monotonic()))
    sock.connect(path)
    reader = sock.makefile("rb")

    def send(command, arguments):
        sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")

    def reply():
        while True:
            line = reader.readline()
            if not line:
                raise ConnectionError("the guest agent closed the connection")
            if line.strip():
                answer = json.loads(line)
                if "error" in answer:
                    raise RuntimeError(f"guest agent: {answer['error']}")
                return answer["return"]

    token = random.randint(1, 2**31 - 1)
    sock.sendall(b"\xff")
    send("guest-sync-delimited", {"id": token})
    while True:
        while reader.read(1) not in (b"\xff", b""):
            pass
        if reply() == token:
            break
    send("guest-exec", {"path": "/bin/sh", "arg": ["-c", script], "capture-output": True})
    pid = reply()["pid"]
    while True:
        send("guest-exec-status", {"pid": pid})
        status = reply()
        if status.get("exited"):
            sys.stdout.write(base64.b64decode(status.get("out-data", "")).decode(errors="replace"))
            sys.stderr.write(base64.b64decode(status.get("err-data", "")).decode(errors="replace"))
            sys.exit(status.get("exitcode", 1))
        if time.monotonic() > deadline:
            sys.exit(124)
        time.sleep(0.1)


if __name__ == "__main__":
    try:
        main()
    except (OSError, socket.timeout) as e:
        print(f"guest-sh: {e}", file=sys.stderr)
        sys.exit(124)
