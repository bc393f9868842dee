"""pytest plugin: each test of a suite recorded as a phase of its own.

Under ``memsample --phases -- python -m pytest``, each test marks
``test:<nodeid>`` at the start of its setup and ``between`` after its
teardown, and pytest's end marks ``end``, so that ``memsample report`` gives every test its peak, its
children included (docs/phases.md, "From Python"). Without ``MEMSAMPLE_CONTROL``
it does nothing at all; ``-p no:memsample`` turns it off.
"""

import hashlib
import os
import unicodedata

import pytest

from memsample import ENV, LONGEST, mark

#: The phase of each test is this, then its node id.
PREFIX = "test:"
#: The phase after each test's teardown: what runs between two tests.
BETWEEN = "between"
#: The phase from pytest's end (after its summary) to the process's exit.
END = "end"
# A node id cut to fit ends with this and a hash of the whole id, so that
# two long ids that share their start stay two phases.
_CUT = "\u2026"
_HASH_HEX = 8


def phase_name(nodeid):
    """``test:<nodeid>``, made a name ``memsample.mark`` accepts: control
    characters escaped (``\\n``, ``\\x1b``); longer than 200 bytes, cut at a
    character's boundary and ended with ``…`` and 8 hex digits of the whole
    id's SHA-256."""
    # isprintable: the fast test (in C) that there is nothing to escape.
    text = nodeid if nodeid.isprintable() else "".join(_escaped(c) for c in nodeid)
    name = PREFIX + text
    data = name.encode("utf-8")
    if len(data) <= LONGEST:
        return name
    digest = hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]
    tail = _CUT + digest
    room = LONGEST - len(tail.encode("utf-8"))
    # "ignore" drops the partial character a cut in the middle leaves.
    return data[:room].decode("utf-8", "ignore") + tail


def _escaped(c):
    # Control characters (Cc, refused in a name) and lone surrogates (Cs,
    # not UTF-8) as Python writes them in a string literal.
    if unicodedata.category(c) in ("Cc", "Cs"):
        return c.encode("unicode_escape", "backslashreplace").decode("ascii")
    return c


def _distributed(config):
    # pytest-xdist has decided by now (its pytest_cmdline_main runs before
    # pytest_configure): "no" unless the tests run in workers.
    return getattr(config.option, "dist", "no") != "no"


def pytest_configure(config):
    if not os.environ.get(ENV):
        return
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker: tests run side by side in several
        # processes, and one recording's phases cannot tell them apart.
        return
    if _distributed(config):
        message = (
            "memsample: tests run in pytest-xdist workers are not marked (one recording "
            "cannot tell side-by-side tests apart); run with -n 0 for each test's peak"
        )
        warn = getattr(config, "issue_config_time_warning", None)
        if warn is not None:
            warn(pytest.PytestWarning(message), stacklevel=2)
        return
    config.pluginmanager.register(_Marks(), "memsample-marks")


class _Marks:
    """The hooks, registered only under a recording."""

    # A wrapper, first: the mark precedes every setup hook, so a test that
    # a marker skips in setup is still a phase of its own.
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        mark(phase_name(item.nodeid))
        yield

    # A wrapper, first: its end runs after every teardown hook.
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        yield
        mark(BETWEEN)

    # The last `between` is closed by a mark row, a sample taken as pytest
    # ends, not by the exit row, which samples no RSS (docs/phases.md,
    # "Each phase's peak").
    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config):
        mark(END)
