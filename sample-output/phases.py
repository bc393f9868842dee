"""A program that builds and frees memory in phases, recorded by memsample
for sample-output/ (see regenerate.sh next to it). It shows the three kinds
of resident memory that `memsample --breakdown` tells apart: a memory-mapped
file (file pages), shared memory read by a pool of workers (shmem) and a
growing heap (anonymous).

Recorded with `memsample --phases`, it marks each of its phases (map, heap,
free, pool, spike, leak), so that `memsample report` gives each its own peak
and the chart shades them (docs/phases.md). It runs with plain python3: with
the `memsample` package when it is installed, else with the raw datagram of
docs/phases.md ("Sending a mark")."""

import mmap
import multiprocessing
import os
import socket
import tempfile
import time

try:
    from memsample import mark
except ImportError:

    def mark(name):
        """One datagram, the name, to the recording's socket; nothing when
        not recorded with --phases."""
        path = os.environ.get("MEMSAMPLE_CONTROL")
        if path:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(name.encode(), path)
            s.close()


MIB = 1 << 20


def touch_pages(view):
    """Reads one byte of every page, so that all of them are resident."""
    return sum(view[offset] for offset in range(0, len(view), 4096))


# The pool's shared table: a shared anonymous mapping, which the workers
# inherit when they are forked.
TABLE = None


def worker(mib):
    touch_pages(TABLE)  # reads the shared table: shmem in each one's RSS
    block = bytearray(mib * MIB)  # zero-filled, so every page is touched
    time.sleep(2.0)
    return len(block)


def map_file(mib):
    """A data file of `mib` MiB, memory-mapped and read: file-backed pages."""
    with tempfile.NamedTemporaryFile(dir=".", delete=False) as data:
        data.write(b"\x07" * (mib * MIB))
        path = data.name
    with open(path, "rb") as data:
        mapped = mmap.mmap(data.fileno(), 0, access=mmap.ACCESS_READ)
    os.unlink(path)  # the mapping keeps the pages
    touch_pages(mapped)
    return mapped


def main():
    global TABLE
    time.sleep(1.0)  # start-up: the phase "start", before the first mark

    mark("map")
    mapped = map_file(96)  # an index, memory-mapped
    time.sleep(1.0)

    mark("heap")
    chunks = []  # growth: 5 MiB every 100 ms up to 200 MiB
    for _ in range(40):
        chunks.append(bytearray(5 * MIB))
        time.sleep(0.1)
    time.sleep(1.0)

    mark("free")
    del chunks[20:]  # free half
    time.sleep(1.0)

    # A pool of workers, 60 MiB each, all reading one 64 MiB shared table.
    mark("pool")
    TABLE = mmap.mmap(-1, 64 * MIB, flags=mmap.MAP_SHARED)
    TABLE.write(b"\x01" * (64 * MIB))
    with multiprocessing.get_context("fork").Pool(3) as pool:
        pool.map(worker, [60, 60, 60])
    time.sleep(1.0)
    TABLE.close()

    mark("spike")
    spike = bytearray(800 * MIB)  # full for 50 ms: the top falls between samples
    time.sleep(0.05)
    del spike
    time.sleep(1.0)

    mark("leak")
    leak = []  # a slow leak: 1 MiB every 100 ms
    for _ in range(40):
        leak.append(bytearray(MIB))
        time.sleep(0.1)
    return mapped  # mapped to the end


if __name__ == "__main__":
    main()
