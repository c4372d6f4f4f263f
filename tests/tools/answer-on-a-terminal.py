"""Runs a command on a pseudo-terminal and answers its questions, as a person at a terminal
would: for each [prompt, answer] pair, waits until the prompt is shown, then types the answer.
Prints {"code": exit code, "output": everything the terminal showed} as JSON.

Usage: python answer-on-a-terminal.py '<JSON list of [prompt, answer]>' COMMAND ARGS..."""
import json
import os
import pty
import select
import sys
import time

pairs = json.loads(sys.argv[1])
command = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(command[0], command)

shown = b""


def read(timeout):
    """Reads what the terminal shows for up to `timeout` seconds; False once it closed."""
    global shown
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    shown += chunk
    return bool(chunk)


for prompt, answer in pairs:
    deadline = time.time() + 60
    start = len(shown)
    while prompt.encode() not in shown[start:] and prompt.encode() not in shown:
        if time.time() > deadline or not read(0.5):
            sys.exit(json.dumps({"code": None, "output": shown.decode(errors="replace"),
                                 "waiting_for": prompt}))
    time.sleep(0.2)
    os.write(fd, answer.encode())
deadline = time.time() + 120
while time.time() < deadline and read(0.5):
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status),
                  "output": shown.decode(errors="replace")}))
