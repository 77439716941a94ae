"""The fork server: oci-cli imported once per service, each command a fork of a process that has run none.

Run by oci-cli's own interpreter as `python -P server.py <oci> <socket>` (oci_fork/__init__.py starts it); it
imports only the standard library until a zygote imports the CLI, so the CLI finds its own packages, nothing of ours.

The base listens on a unix socket (SOCK_SEQPACKET: each request one packet, with its descriptors). For each command
it picks the service the CLI's own loader would load at import (dynamic_loader.load_service_from_command: the first
word of sys.argv that service_mapping names) and hands the request, with the connection, to that service's zygote:
a fork of the base that imported `oci_cli.cli` as the `oci` script does, sys.argv naming that service, and ran no
command. The zygote forks one child per command; the child takes the command's descriptors (each at its number,
nothing else of ours left open), working directory, umask, environment and argv, re-opens the standard streams on
them as the interpreter does at start, and runs the `oci` script as __main__ at this file's top level, so SystemExit,
atexit and the final flush are the interpreter's own. The zygote sends back the exit status. Nothing a command does
in-process (click's context, cached config, module globals) reaches another: each is a fresh fork of a zygote that
never ran one. random's global generator is reseeded in each fork by the random module itself (register_at_fork).

What a fresh process decides at start or at import is checked, not assumed. The zygote records every variable the
import reads (os.environ and os.environb, through a recording subclass swapped in for the import only) and every
program it runs (audit hook: `uname -p`, through PATH); a command runs forked only if those variables, and the ones
the interpreter and C libraries read at start (PYTHON*, LC_*, LANG, TZ, OPENSSL_*), are as they were for the import,
PATH excepted when each program resolves to the same file under both. Otherwise the zygote answers `plain` and the
client runs the CLI as a fresh process. What still differs from a fresh process: its process id and parent, its
process group (the server's), sys.flags.safe_path (-P, so this folder never shadows the CLI's modules), an inert
audit hook, sys.excepthook (the default one, printing the traceback from the script's frame as a fresh process
does), the import's objects frozen out of the cyclic collector's sight (gc.freeze, so a fork does not copy every
page of them; they live as long as the process anyway), and the files the import read once (oci's developer-tool
configuration under ~/.oci, read at import whether or not it exists).

Requests: one packet `umask NUL numbers NUL argc NUL argv... NUL environment...` (numbers: the command's descriptor
numbers, space-separated, in the order of the descriptors sent, which end with its working directory); answers on the
same connection: `plain` (nothing ran: run it yourself), or `run` then `exit N` or `signal N`.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import os
import select
import shutil
import socket
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PACKET_BYTES = 1 << 20  # a request is the command's argv and environment: a few kB
MOST_DESCRIPTORS = 250  # SCM_RIGHTS carries at most 253 in one message (SCM_MAX_FD)
STANDARD_STREAMS = {0, 1, 2}
# What the interpreter and the C libraries read before any Python runs, unseen by the recording.
STARTUP_PREFIXES = (b"PYTHON", b"LC_", b"OPENSSL_")
STARTUP_NAMES = {b"LANG", b"TZ"}
PATH = b"PATH"


@dataclass(frozen=True)
class Request:
    umask: int
    numbers: list[int]  # the command's descriptor numbers, in the order the descriptors came
    argv: list[bytes]
    environment: dict[bytes, bytes]  # in the order of the command's environ


def decode(packet: bytes) -> Request:
    umask, numbers, argc, *rest = packet.split(b"\0")
    count = int(argc)
    entries = [entry.partition(b"=") for entry in rest[count:]]
    return Request(
        int(umask), [int(n) for n in numbers.split()], rest[:count], {name: value for name, _, value in entries}
    )


@dataclass(frozen=True)
class Imported:
    """What importing the CLI depended on, and what it changed in the environment."""

    environment: dict[bytes, bytes]  # as the import found it
    read: frozenset[bytes]
    programs: tuple[str, ...]
    changes: dict[bytes, bytes | None]  # what the import set (None: removed), for each fork to set again
    descriptors: frozenset[int]  # what the import left open


@dataclass(frozen=True)
class Command:
    """A command to run in this process, a fresh fork of a zygote: its request and the descriptors it came with."""

    oci: str
    request: Request
    descriptors: list[int]  # the command's, in the order of request.numbers, then its working directory
    imported: Imported


def log(line: str) -> None:
    os.write(2, (line.rstrip() + "\n").encode(errors="replace"))


def receive(channel: socket.socket) -> tuple[bytes, list[int]] | None:
    """One request packet and its descriptors; None at end of file."""
    packet, descriptors, flags, _ = socket.recv_fds(channel, PACKET_BYTES, MOST_DESCRIPTORS + 2)
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        for descriptor in descriptors:
            os.close(descriptor)
        raise OSError("a request over the packet or descriptor limit")
    if not packet and not descriptors:
        return None
    return packet, descriptors


def _descriptors() -> frozenset[int]:
    """The descriptors open now (not the one the listing itself used)."""
    listed = [int(name) for name in os.listdir("/proc/self/fd")]
    return frozenset(number for number in listed if _is_open(number))


def _is_open(number: int) -> bool:
    try:
        os.fstat(number)
    except OSError:
        return False
    return True


def _service_mapping() -> dict[str, Any]:
    """oci_cli/service_mapping.py's table, read without importing oci_cli (whose import loads a service)."""
    for folder in sys.path:
        path = os.path.join(folder, "oci_cli", "service_mapping.py")
        if os.path.isfile(path):
            namespace: dict[str, Any] = {}
            with open(path, "rb") as source:
                exec(compile(source.read(), path, "exec"), namespace)
            return dict(namespace["service_mapping"])
    raise RuntimeError("no oci_cli/service_mapping.py on sys.path")


def service(argv: list[bytes], mapping: dict[str, Any]) -> str | None:
    """The service the CLI loads at import for this argv: the first word the mapping names (dynamic_loader.py)."""
    return next((word for word in map(os.fsdecode, argv) if word in mapping), None)


_read: set[bytes] = set()  # what _RecordingEnviron saw read


class _RecordingEnviron(os._Environ):
    """os.environ (or environb) while the CLI is imported: every name read is kept; a whole read keeps '*'."""

    def __getitem__(self, key: Any) -> Any:
        _read.add(os.fsencode(key))
        return super().__getitem__(key)

    def __iter__(self) -> Any:
        _read.add(b"*")
        return super().__iter__()

    def __len__(self) -> int:
        _read.add(b"*")
        return super().__len__()


def import_cli(oci: str, key: str | None) -> Imported:
    """`from oci_cli.cli import cli` as the `oci` script runs it with `key` in its argv, and what it depended on."""
    sys.argv[:] = [oci, *([key] if key else [])]
    programs: list[str] = []
    recording = [True]

    def programs_run(event: str, arguments: tuple[Any, ...]) -> None:
        if recording[0] and event == "subprocess.Popen":
            executable, args = arguments[0], arguments[1]
            programs.append(os.fsdecode(executable if executable is not None else args[0]))

    # An audit hook cannot be removed; this one does nothing once the import is done.
    sys.addaudithook(programs_run)
    before = dict(os.environb)
    open_before = _descriptors()
    plain_class: Any = type(os.environ)
    environments: list[Any] = [os.environ, os.environb]
    _read.clear()
    for environment in environments:
        environment.__class__ = _RecordingEnviron
    try:
        __import__("oci_cli.cli")
    finally:
        for environment in environments:
            environment.__class__ = plain_class
        recording[0] = False
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("importing the CLI started a thread, which a fork would not carry")
    after = dict(os.environb)
    changes: dict[bytes, bytes | None] = {name: value for name, value in after.items() if before.get(name) != value}
    changes.update({name: None for name in before if name not in after})
    return Imported(before, frozenset(_read), tuple(programs), changes, _descriptors() - open_before)


def refusal(oci: str, request: Request, imported: Imported) -> str | None:
    """Why this command cannot run as a fork of this zygote (it runs as a fresh process), or None."""
    if request.argv[:1] != [os.fsencode(oci)]:
        return "another oci"
    numbers = set(request.numbers)
    if not numbers >= STANDARD_STREAMS:
        return "a standard stream is closed"
    if numbers & imported.descriptors:
        return "a descriptor the import holds"
    if b"*" in imported.read:
        return "the import read the whole environment"
    ours, theirs = imported.environment, request.environment
    startup = {name for name in ours.keys() | theirs.keys() if name.startswith(STARTUP_PREFIXES)}
    for name in sorted((imported.read | startup | STARTUP_NAMES) - {PATH}):
        if ours.get(name) != theirs.get(name):
            return f"{os.fsdecode(name)} is not what the import read"
    if PATH in imported.read and ours.get(PATH) != theirs.get(PATH):
        for program in imported.programs:
            here, there = (os.fsdecode(env.get(PATH, b"")) for env in (ours, theirs))
            if shutil.which(program, path=here) != shutil.which(program, path=there):
                return f"PATH finds another {program}"
    return None


def zygote(oci: str, key: str | None, control: socket.socket) -> Command | None:
    """Serve `key`'s commands: a Command in each fork (to run at top level), None here when the base is gone."""
    try:
        imported = import_cli(oci, key)
    except BaseException:
        log(f"zygote {key}: the import failed, its commands run plain:\n{traceback.format_exc()}")
        return None
    # The import's objects live as long as the process: out of the collector's sight, so that a fork's collections
    # (its exit's included) do not write to every page of them (the pattern gc.freeze's documentation gives).
    gc.freeze()
    poller = select.poll()
    poller.register(control, select.POLLIN)
    running: dict[int, tuple[int, socket.socket, str]] = {}  # pidfd: (pid, connection, what for the log)
    listening = True
    while listening or running:
        for ready, _ in poller.poll():
            if ready != control.fileno():
                pid, connection, label = running.pop(ready)
                poller.unregister(ready)
                os.close(ready)
                _, status, usage = os.wait4(pid, 0)
                code = os.waitstatus_to_exitcode(status)
                _answer(connection, b"exit %d" % code if code >= 0 else b"signal %d" % -code)
                log(f"{label}: {code} ({usage.ru_utime + usage.ru_stime:.2f} s CPU)")
                continue
            try:
                received = receive(control)
            except OSError as error:
                log(f"zygote {key}: {error}")
                continue
            if received is None:
                listening = False
                poller.unregister(control)
                control.close()
                continue
            packet, (connection_fd, *descriptors) = received
            connection = socket.socket(fileno=connection_fd)
            try:
                request = decode(packet)
            except ValueError:
                request = Request(0, [], [], {})
            words = " ".join(map(os.fsdecode, request.argv[1:]))
            count_agrees = len(descriptors) == len(request.numbers) + 1  # its descriptors, then its directory
            why = refusal(oci, request, imported) if count_agrees else "descriptors and numbers disagree"
            pid = -1
            if why is None:
                try:
                    pid = os.fork()
                except OSError as error:
                    why = f"no fork: {error}"
            if pid == 0:
                if listening:
                    control.close()
                for pidfd, (_, other, _) in running.items():
                    os.close(pidfd)
                    other.close()
                connection.close()
                return Command(oci, request, descriptors, imported)
            for descriptor in descriptors:
                os.close(descriptor)
            # `run` only once it runs: until then the client may still run it itself.
            _answer(connection, b"plain" if why is not None else b"run")
            if why is not None:
                connection.close()
                log(f"plain ({why}): {words}")
                continue
            pidfd = os.pidfd_open(pid)
            running[pidfd] = (pid, connection, f"forked {key} {pid}: {words}")
            poller.register(pidfd, select.POLLIN)
    return None


def _answer(connection: socket.socket, answer: bytes) -> bool:
    try:
        connection.send(answer)
    except OSError:  # the client is gone
        return False
    return True


@dataclass
class Base:
    """The process the test process starts: it routes each command to its service's zygote."""

    oci: str
    listener: socket.socket
    mapping: dict[str, Any]
    # Each service's channel to its zygote; None once that zygote is gone (its import failed): those run plain.
    zygotes: dict[str | None, socket.socket | None]
    poller: Any  # select.poll

    def serve(self) -> Command | None:
        """Until standard input closes (the test process is gone); a Command in a command's fork."""
        while True:
            for ready, _ in self.poller.poll():
                if ready == 0:
                    log("the test process is gone: stopping")
                    return None
                if ready == self.listener.fileno():
                    connection = self.listener.accept()[0]
                    command = self.route(connection)
                    if command is not None:
                        return command  # in a command's fork, where the connection is closed already
                    connection.close()
                else:
                    self.zygote_gone(ready)

    def zygote_gone(self, channel_fd: int) -> None:
        self.poller.unregister(channel_fd)
        for key, channel in self.zygotes.items():
            if channel is not None and channel.fileno() == channel_fd:
                channel.close()
                self.zygotes[key] = None
                log(f"zygote {key} is gone: its commands run plain")
        with contextlib.suppress(ChildProcessError):  # the base's children are its zygotes: reap the ended
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass

    def route(self, connection: socket.socket) -> Command | None:
        """Hand the request to its service's zygote (started on its first request); a Command in a command's fork.

        No `with` or `finally` here: a command's fork returns through these frames, and must not close again
        what its zygote closed at its start."""
        try:
            received = receive(connection)
        except OSError as error:
            log(f"a request dropped (the client runs it plain): {error}")
            return None
        if received is None:
            return None
        packet, descriptors = received
        try:
            key = service(decode(packet).argv, self.mapping)
        except ValueError:
            key = None  # the zygote refuses what it cannot read
        if key not in self.zygotes:
            started = self.start_zygote(key, connection, descriptors)
            if isinstance(started, Command):
                return started
            self.zygotes[key] = started
            self.poller.register(started, select.POLLIN)  # the base never reads it: readable means closed
        channel = self.zygotes[key]
        try:
            if channel is None:
                _answer(connection, b"plain")
            else:
                socket.send_fds(channel, [packet], [connection.fileno(), *descriptors])
        except OSError as error:
            log(f"a request dropped (the client runs it plain): {error}")
        for descriptor in descriptors:
            os.close(descriptor)
        return None

    def start_zygote(
        self, key: str | None, connection: socket.socket, descriptors: list[int]
    ) -> socket.socket | Command:
        """Here, the base's end of a new zygote's channel; in a command's fork of that zygote, the Command."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if os.fork() != 0:
            theirs.close()
            return ours
        # The zygote keeps nothing of the base's: a request's descriptors held here would keep its pipes open.
        for channel in (ours, self.listener, connection, *self.zygotes.values()):
            if channel is not None:
                channel.close()
        for descriptor in descriptors:
            os.close(descriptor)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the base's stdin says when the test process is gone; not the zygote's business
        os.close(devnull)
        try:
            command = zygote(self.oci, key, theirs)
        except BaseException:
            log(f"zygote {key} failed:\n{traceback.format_exc()}")
            os._exit(1)  # never back into the base's loop
        if command is None:
            os._exit(0)  # the CLI's atexit handlers are a command's to run, not the zygote's
        return command


def base(oci: str, path: str) -> Command | None:
    """Listen at `path`; tell the starter on stdout when ready."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    poller = select.poll()
    poller.register(0, select.POLLIN)
    poller.register(listener, select.POLLIN)
    server = Base(oci, listener, _service_mapping(), {}, poller)
    os.write(1, b"ready\n")
    os.dup2(2, 1)  # nothing more for the starter to read on stdout: the rest goes to the log
    return server.serve()


def _install_descriptors(descriptors: list[int], numbers: list[int], directory: int) -> int:
    """Each descriptor at its number, inheritable, as an exec would have left it; the working directory's moved
    above them all (close-on-exec, as the client's was), and returned. Everything is first moved above every
    number, so that no descriptor lands on one still to be moved."""
    above = max([*descriptors, *numbers, directory]) + 1
    moved = [fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, above) for descriptor in [*descriptors, directory]]
    for descriptor in [*descriptors, directory]:
        os.close(descriptor)
    *moved_descriptors, moved_directory = moved
    for descriptor, number in zip(moved_descriptors, numbers, strict=True):
        os.dup2(descriptor, number, inheritable=True)
        os.close(descriptor)
    return moved_directory


def _reopen_standard_streams() -> None:
    """sys.stdin, stdout and stderr as the interpreter makes them at start (pylifecycle.c create_stdio), on the
    command's descriptors. The same objects, re-initialised, so whatever the import bound to them (logging's
    handler holds sys.stderr) writes where a fresh process's would; each FileIO is new, as FileIO keeps what it
    learnt about its first file (seekable) across a re-initialisation."""
    streams: list[tuple[int, str, Any]] = [
        (0, "<stdin>", sys.stdin),
        (1, "<stdout>", sys.stdout),
        (2, "<stderr>", sys.stderr),
    ]
    for fd, name, stream in streams:
        write = fd != 0
        buffered = not stream.write_through
        raw = io.FileIO(fd, "w" if write else "r", closefd=False)
        raw.name = name
        buffer: Any = stream.buffer
        if buffered or not write:
            buffer.__init__(raw, raw._blksize)  # type: ignore[attr-defined]
        else:
            buffer = raw
        line_buffering = buffered and (raw.isatty() or fd == 2)
        stream.__init__(buffer, stream.encoding, stream.errors, "\n", line_buffering, not buffered)
        stream.mode = "w" if write else "r"


def _excepthook_from(script: str) -> Callable[..., None]:
    """The default hook, the traceback starting at the script, as a fresh process's would."""

    def hook(kind: type[BaseException], value: BaseException, trace: types.TracebackType | None) -> None:
        start = trace
        while start is not None and start.tb_frame.f_code.co_filename != script:
            start = start.tb_next
        start = start or trace  # the default hook prints the exception's own __traceback__: set it
        sys.__excepthook__(kind, value.with_traceback(start), start)

    return hook


def become(command: Command) -> tuple[types.CodeType, dict[str, Any]]:
    """Make this fork the command's process; the `oci` script's code and a fresh __main__'s namespace to run it in."""
    request = command.request
    *descriptors, received_directory = command.descriptors
    directory = _install_descriptors(descriptors, request.numbers, received_directory)
    os.fchdir(directory)
    os.close(directory)
    os.umask(request.umask)
    os.environb.clear()
    os.environb.update(request.environment)
    for name, value in command.imported.changes.items():
        if value is None:
            os.environb.pop(name, None)
        else:
            os.environb[name] = value
    with open(command.oci, "rb") as script:
        source = script.read()
    interpreter = source.split(b"\n", 1)[0][2:].strip().split(None, 1)
    sys.argv[:] = [os.fsdecode(word) for word in request.argv]
    sys.orig_argv[:] = [*map(os.fsdecode, interpreter), *sys.argv]
    _reopen_standard_streams()
    sys.excepthook = _excepthook_from(command.oci)
    main = types.ModuleType("__main__")
    main.__file__ = command.oci
    main.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    return compile(source, command.oci, "exec"), main.__dict__


def main(arguments: list[str]) -> Command | None:
    oci, path = arguments
    # What `oci` (a script in the venv's bin) has first on sys.path; -P kept this file's folder off it.
    sys.path.insert(0, os.path.dirname(oci))
    return base(oci, path)


if __name__ == "__main__":
    _command = main(sys.argv[1:])
    if _command is None:
        sys.exit(0)
    _code, _namespace = become(_command)
    del _command
    exec(_code, _namespace)
