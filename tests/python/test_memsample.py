"""The Python package `memsample`, as installed: mark() and the pytest plugin.

Run by scripts/check-install.sh in each fresh virtual environment (with
pytest installed there), against the installed package, never the checkout's
python/ directory. Each test makes its own socket to receive marks; none
needs a recording.
"""

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import memsample
from memsample.pytest_plugin import phase_name


@pytest.fixture
def receiver(tmp_path, monkeypatch):
    """A socket bound where MEMSAMPLE_CONTROL points, as a recording's."""
    path = tmp_path / "control"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("MEMSAMPLE_CONTROL", str(path))
    yield sock
    sock.close()


def received(sock):
    """Every datagram waiting, oldest first (`sock` blocking: a timeout
    would make MSG_DONTWAIT wait)."""
    names = []
    while True:
        try:
            names.append(sock.recv(4096, socket.MSG_DONTWAIT).decode())
        except BlockingIOError:
            return names


def test_the_installed_package_is_the_one_tested():
    assert "site-packages" in memsample.__file__, memsample.__file__
    assert memsample.__version__[0].isdigit(), memsample.__version__


def test_without_a_recording_a_mark_does_nothing(monkeypatch):
    monkeypatch.delenv("MEMSAMPLE_CONTROL", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert memsample.mark("load") is None
        monkeypatch.setenv("MEMSAMPLE_CONTROL", "")
        assert memsample.mark("load") is None


def test_after_the_recording_a_mark_does_nothing(tmp_path, monkeypatch):
    # The socket removed (memsample ended), then left behind by a reader
    # that is gone (refused).
    path = tmp_path / "control"
    monkeypatch.setenv("MEMSAMPLE_CONTROL", str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        memsample.mark("gone")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        sock.close()
        memsample.mark("refused")


def test_each_mark_is_one_datagram_of_the_name(receiver):
    # A no-break space and a zero-width space are not control characters.
    names = ["load", "test:a.py::b[1-2]", "\u00e9" * 100, "x" * 200, "a\u00a0b\u200b"]
    for name in names:
        memsample.mark(name)
    assert received(receiver) == names


@pytest.mark.parametrize(
    "name",
    ["", "x" * 201, "\u00e9" * 101, "a\tb", "a\nb", "\x1b[2J", "\x7f", "\x85", "\ud800"],
)
def test_names_memsample_mark_refuses_are_a_value_error(name, receiver, monkeypatch):
    with pytest.raises(ValueError):
        memsample.mark(name)
    monkeypatch.delenv("MEMSAMPLE_CONTROL")
    with pytest.raises(ValueError):
        memsample.mark(name)
    assert received(receiver) == []


def test_a_name_must_be_a_str(receiver):
    with pytest.raises(TypeError):
        memsample.mark(b"load")


def test_a_forked_child_marks_with_a_socket_of_its_own(receiver):
    memsample.mark("parent")
    parent_socket = memsample._cached[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            memsample.mark("child")
            own = memsample._cached[1] is not parent_socket and memsample._cached[0] == os.getpid()
            status = 0 if own else 2
        finally:
            os.write(write, bytes([status]))
            os._exit(status)
    os.close(write)
    assert os.read(read, 1) == b"\0"
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0
    # The child closed its copy only: the parent's socket still sends.
    memsample.mark("parent again")
    assert memsample._cached[1] is parent_socket
    assert received(receiver) == ["parent", "child", "parent again"]


def fill(path):
    """Fills the receive queue of the socket at `path` until a fresh
    sender would wait; the senders, to be closed afterwards."""
    senders = []
    while True:
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        senders.append(sender)
        sent = 0
        try:
            while True:
                sender.sendto(b"filler", socket.MSG_DONTWAIT, path)
                sent += 1
        except BlockingIOError:
            if sent == 0:
                return senders


def test_a_full_buffer_is_waited_for_then_the_mark_is_dropped(receiver):
    path = os.environ["MEMSAMPLE_CONTROL"]
    senders = fill(path)
    try:
        start = time.monotonic()
        with pytest.warns(RuntimeWarning, match="not recorded"):
            memsample.mark("late")
        waited = time.monotonic() - start
        assert 0.9 <= waited < 3, waited
    finally:
        for sender in senders:
            sender.close()
    assert "late" not in received(receiver)


def test_a_mark_waiting_for_room_goes_when_there_is_room(receiver):
    path = os.environ["MEMSAMPLE_CONTROL"]
    senders = fill(path)
    # Room is made 0.2 s after the mark starts waiting: it goes then.
    reader = threading.Timer(0.2, lambda: receiver.recv(4096))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            start = time.monotonic()
            reader.start()
            memsample.mark("waited")
            waited = time.monotonic() - start
        assert 0.1 <= waited < 0.9, waited
    finally:
        reader.join()
        for sender in senders:
            sender.close()
    assert received(receiver)[-1] == "waited"


def test_node_ids_become_names_mark_accepts():
    assert phase_name("t.py::test_a[1-2]") == "test:t.py::test_a[1-2]"
    assert phase_name("t.py::test[\n\x1b]") == "test:t.py::test[\\n\\x1b]"
    long_a = "t.py::test_p[" + "a" * 300 + "]"
    long_b = "t.py::test_p[" + "a" * 299 + "b]"
    accents = "t.py::test_p[" + "\u00e9" * 200 + "]"
    names = [phase_name(nodeid) for nodeid in (long_a, long_b, accents, "\ud800" + long_a)]
    for name in names:
        assert len(name.encode()) <= 200, name
        assert name.startswith("test:t.py::test_p[") or name.startswith("test:\\ud800")
        memsample._check_name(name)
    assert names[0] != names[1], "two long ids that share a start stay two names"
    assert names[0] == phase_name(long_a), "the same id, the same name"
    assert len(names[2].encode()) >= 198, "cut at a character's boundary, not before"


SUITE = """
import pytest

@pytest.fixture
def resource():
    yield 1

def test_one(resource):
    pass

@pytest.mark.skip(reason="skipped in setup")
def test_skipped():
    pass

@pytest.mark.parametrize("p", [1], ids=["x" * 250])
def test_long(p):
    pass
"""


def run_pytest(tmp_path, *args):
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_suite.py").write_text(textwrap.dedent(SUITE))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_suite.py"],
        cwd=str(suite),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_plugin_marks_each_test_the_gaps_and_the_end(receiver, tmp_path):
    run_pytest(tmp_path)
    long = phase_name("test_suite.py::test_long[" + "x" * 250 + "]")
    assert received(receiver) == [
        "test:test_suite.py::test_one",
        "between",
        "test:test_suite.py::test_skipped",
        "between",
        long,
        "between",
        "end",
    ]


def test_the_plugin_is_off_with_p_no_memsample(receiver, tmp_path):
    run_pytest(tmp_path, "-p", "no:memsample")
    assert received(receiver) == []


def test_without_a_recording_the_plugin_registers_no_hook(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMSAMPLE_CONTROL", raising=False)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(
        textwrap.dedent(
            """
            def pytest_configure(config):
                assert config.pluginmanager.has_plugin("memsample")
                assert not config.pluginmanager.has_plugin("memsample-marks")
            """
        )
    )
    run_pytest(tmp_path)
