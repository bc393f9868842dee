"""Marks for memsample's phases, from Python.

``memsample --phases -- python job.py`` gives the job ``MEMSAMPLE_CONTROL``,
the path of a Unix datagram socket; ``mark("load")`` tells the recording that
the phase "load" starts now, and ``memsample report`` gives each phase its
own peak (docs/phases.md, "From Python"). Without a recording, ``mark`` does
nothing, so a job may always call it.

The ``memsample`` command itself is the binary this package's wheel installs
next to it; this package adds ``mark`` and a pytest plugin
(``memsample.pytest_plugin``) that marks every test.
"""

import atexit
import os
import socket
import struct
import threading
import time
import unicodedata
import warnings

__all__ = ["mark"]

#: The variable that gives the job the socket's path.
ENV = "MEMSAMPLE_CONTROL"
#: The longest name, in bytes of UTF-8, as ``memsample mark`` allows.
LONGEST = 200
#: How long a mark waits for room when the recording's socket buffer is
#: full, as ``memsample mark`` does; then it is dropped with a warning.
SEND_TIMEOUT = 1.0

# The recording has ended (or never ran there): the socket is gone, or no
# one reads it any more. A mark then does nothing, as `memsample mark` does.
_ENDED = (FileNotFoundError, ConnectionRefusedError)

# One socket per process, made at the first mark: (pid, socket). A forked
# child makes its own at its first mark (the pid differs) and closes its
# copy of the parent's, which stays open in the parent: no two processes
# send through one socket.
_cached = None
_lock = threading.Lock()


def _after_fork():
    # A thread of the parent may have held the lock at the fork.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _check_name(name):
    """The name as bytes of UTF-8, or ValueError (TypeError for a non-str)
    for a name ``memsample mark`` would refuse: empty, longer than 200 bytes
    of UTF-8, or with control characters."""
    if not isinstance(name, str):
        raise TypeError(f"memsample.mark: the name must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError("memsample.mark: the name is empty")
    try:
        data = name.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"memsample.mark: the name is not valid Unicode: {name!r}") from err
    if len(data) > LONGEST:
        raise ValueError(f"memsample.mark: the name is {len(data)} bytes, at most {LONGEST}")
    # Unicode's category Cc: what memsample's own check refuses. A
    # printable name has none (isprintable is the fast test, in C; it is
    # false for more than Cc: spaces other than " ", format characters).
    if not name.isprintable() and any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError(f"memsample.mark: the name has control characters: {name!r}")
    return data


def _socket():
    global _cached
    pid = os.getpid()
    cached = _cached
    if cached is not None and cached[0] == pid:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and cached[0] == pid:
            return cached[1]
        if cached is not None:
            # Inherited through fork: this process's copy is closed, the
            # parent's socket stays open in the parent.
            try:
                cached[1].close()
            except OSError:
                pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # Blocking, whatever socket.setdefaulttimeout says (a timeout of
        # Python's own would poll a socket that always looks writable), and
        # a send that must wait gives up after SEND_TIMEOUT: the kernel's
        # own timeout, so a full buffer is waited for without polling.
        # Sends that need not wait use MSG_DONTWAIT.
        sock.settimeout(None)
        try:
            seconds = int(SEND_TIMEOUT)
            micros = int((SEND_TIMEOUT - seconds) * 1e6)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("@ll", seconds, micros))
        except (OSError, struct.error):
            # No bounded wait: a full buffer drops the mark at once.
            sock.setblocking(False)
        _cached = (pid, sock)
        return sock


@atexit.register
def _close():
    # Closed before the interpreter's end, which would warn of an unclosed
    # socket (ResourceWarning) under pytest's warning filters.
    global _cached
    cached, _cached = _cached, None
    if cached is not None:
        cached[1].close()


def mark(name):
    """Starts the phase ``name`` of the recording now, if there is one.

    Sends one datagram, the name, to ``$MEMSAMPLE_CONTROL`` and returns at
    once: a few microseconds, without waiting for memsample (the ``mark`` row
    is taken within a few milliseconds). Without ``MEMSAMPLE_CONTROL``, or
    when the recording has ended, it does nothing.

    Raises ValueError for a name ``memsample mark`` would refuse (empty,
    over 200 bytes of UTF-8, control characters), recorded or not, so a
    mistake shows in an unrecorded run too. A mark that cannot be delivered
    (the recording's socket buffer stayed full for 1 s, or the socket cannot
    be reached) is dropped with a RuntimeWarning: the job goes on.
    """
    data = _check_name(name)
    path = os.environ.get(ENV)
    if not path:
        return
    sock = _socket()
    try:
        try:
            sock.sendto(data, socket.MSG_DONTWAIT, path)
            return
        except BlockingIOError:
            pass
        # The buffer is full: memsample is behind (a flood of marks). Wait
        # for room, at most SEND_TIMEOUT, as `memsample mark` does.
        deadline = time.monotonic() + SEND_TIMEOUT
        while True:
            try:
                sock.sendto(data, path)
                return
            except BlockingIOError:
                # A signal's handler ran, or the kernel's timeout passed.
                if sock.gettimeout() == 0.0 or time.monotonic() >= deadline:
                    raise
    except _ENDED:
        return
    except OSError as err:
        warnings.warn(
            f"memsample.mark: {name!r} not recorded: cannot send to {path}: {err.strerror or err}",
            RuntimeWarning,
            stacklevel=2,
        )


def __getattr__(attr):
    # Looked up on first use: importing memsample (as pytest does at each
    # start, for the plugin) stays cheap.
    if attr == "__version__":
        try:
            from importlib.metadata import version

            return version("memsample")
        except Exception:
            return "unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
