"""A program that builds and frees memory in phases, recorded by memsample
for sample-output/ (see regenerate.sh next to it)."""

import multiprocessing
import time

MIB = 1 << 20


def worker(mib):
    block = bytearray(mib * MIB)  # zero-filled, so every page is touched
    time.sleep(2.0)
    return len(block)


def main():
    time.sleep(1.0)  # start-up

    chunks = []  # growth: 5 MiB every 100 ms up to 200 MiB
    for _ in range(40):
        chunks.append(bytearray(5 * MIB))
        time.sleep(0.1)
    time.sleep(1.0)

    del chunks[20:]  # free half
    time.sleep(1.0)

    with multiprocessing.Pool(3) as pool:  # a pool of workers, 60 MiB each
        pool.map(worker, [60, 60, 60])
    time.sleep(1.0)

    spike = bytearray(800 * MIB)  # full for 50 ms: the top falls between samples
    time.sleep(0.05)
    del spike
    time.sleep(1.0)

    leak = []  # a slow leak: 1 MiB every 100 ms
    for _ in range(40):
        leak.append(bytearray(MIB))
        time.sleep(0.1)


if __name__ == "__main__":
    main()
