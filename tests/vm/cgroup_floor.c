/* The floor of `memsample --no-procs` (tests/vm/attach_bench.sh): the least
 * that recording an attached cgroup's figures costs. Every INTERVAL_MS, at
 * absolute deadlines, it reads memory.current, memory.peak and memory.stat
 * of CGROUP through files kept open (pread at offset 0) and writes one line
 * to OUT, ROWS times. Its CPU time is measured from outside. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static const char *names[3] = {"memory.current", "memory.peak", "memory.stat"};
    char path[4096], buf[16384], line[256];
    int fds[3];
    if (argc != 5) {
        fprintf(stderr, "usage: cgroup_floor CGROUP INTERVAL_MS ROWS OUT\n");
        return 2;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            perror(path);
            return 1;
        }
    }
    int out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        perror(argv[4]);
        return 1;
    }
    long interval_ns = atol(argv[2]) * 1000000L, rows = atol(argv[3]);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long row = 0; row < rows; row++) {
        unsigned long long value[2];
        for (int i = 0; i < 2; i++) {
            ssize_t n = pread(fds[i], buf, sizeof buf - 1, 0);
            buf[n > 0 ? n : 0] = 0;
            value[i] = strtoull(buf, NULL, 10);
        }
        ssize_t stat = pread(fds[2], buf, sizeof buf, 0);
        int len = snprintf(line, sizeof line, "%ld,%llu,%llu,%zd\n", row, value[0], value[1], stat);
        if (write(out, line, len) != len) {
            perror(argv[4]);
            return 1;
        }
        next.tv_nsec += interval_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return 0;
}
