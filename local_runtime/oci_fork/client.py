"""`oci` when a fork server runs: record the words, hand the command to the server, exit as the CLI did.

    python -S -P client.py <socket> <oci> <n> <n words before the command's own> <the command's words>...

Started with -S -P (no site, nothing prepended to sys.path) it imports only json, os, socket and sys: a few
milliseconds against the second or two a fresh CLI takes. With OCI_CALLS set it appends the command's own words to
that file as one JSON list, as the plain wrapper does. The request carries what an exec would have handed the CLI:
every inheritable descriptor at its number, the working directory, the umask, the environment and the argv
(server.py documents the packet). When the server cannot be reached, or answers `plain`, nothing has run and the
client execs the CLI itself, as the plain wrapper does.
"""

import json
import os
import socket
import sys

SERVER_LOST = 70  # EX_SOFTWARE: the command ran, and its status never came back


def inheritable_descriptors() -> list[int]:
    """What an exec would pass on: the open descriptors without close-on-exec."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.get_inheritable(int(name)):
                found.append(int(name))
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return sorted(found)


def request(argv: list[str], descriptors: list[int]) -> bytes:
    umask = os.umask(0)
    os.umask(umask)
    fields = [
        b"%d" % umask,
        b" ".join(b"%d" % number for number in descriptors),
        b"%d" % len(argv),
        *map(os.fsencode, argv),
        *(name + b"=" + value for name, value in os.environb.items()),
    ]
    return b"\0".join(fields)


def hand_over(path: str, argv: list[str]) -> bytes | None:
    """The command's status from the server; None when the server did not start it (run it yourself)."""
    descriptors = inheritable_descriptors()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as server:
            server.connect(path)
            directory = os.open(".", os.O_PATH | os.O_DIRECTORY)
            try:
                socket.send_fds(server, [request(argv, descriptors)], [*descriptors, directory])
            finally:
                os.close(directory)
            if server.recv(64) != b"run":
                return None
            try:
                return server.recv(64)
            except OSError:
                return b""
    except OSError:  # no server, or it went away before it started the command
        return None


def main() -> None:
    path, oci, count = sys.argv[1:4]
    prefix = sys.argv[4 : 4 + int(count)]
    words = sys.argv[4 + int(count) :]
    if "OCI_CALLS" in os.environ:
        with open(os.environ["OCI_CALLS"], "a") as calls:
            calls.write(json.dumps(words) + "\n")
    argv = [oci, *prefix, *words]
    status = hand_over(path, argv)
    if status is None:
        os.execv(oci, argv)
    kind, _, number = (status or b"lost").partition(b" ")
    if kind == b"exit":
        os._exit(int(number))
    if kind == b"signal":
        import signal

        signal.signal(int(number), signal.SIG_DFL)
        os.kill(os.getpid(), int(number))
        os._exit(128 + int(number))
    sys.stderr.write("oci: the fork server lost this command's exit status (see its log)\n")
    os._exit(SERVER_LOST)


if __name__ == "__main__":
    main()
