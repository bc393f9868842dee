/* A job that sends marks as any program may (docs/phases.md, "Sending a
 * mark"): one datagram each to $MEMSAMPLE_CONTROL, on one socket kept
 * open, paced at RATE a second for SECONDS to absolute deadlines
 * t0 + k / RATE (never a burst). Each sendto() is timed alone.
 *
 *   mark-flood RATE SECONDS PREFIX OUT [self]
 *
 * With `self`, the floor: it sends to a socket of its own, bound in a
 * private directory, and reads each datagram back between sends (untimed),
 * so that no other thread is woken: what sendto() costs without memsample.
 * Marks are named PREFIX0, PREFIX1, ... OUT gets one line per mark:
 * `k sched_us sent_us send_us`, the deadline and the instant sendto()
 * was called (CLOCK_MONOTONIC, microseconds from the first deadline) and
 * how long it took. Exits 1 if a send failed. Used by
 * scripts/bench-marks.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double us_between(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

int main(int argc, char **argv) {
    int self = argc == 6 && strcmp(argv[5], "self") == 0;
    if (argc != 5 && !self) {
        fprintf(stderr, "usage: mark-flood RATE SECONDS PREFIX OUT [self]\n");
        return 2;
    }
    long rate = atol(argv[1]);
    double seconds = atof(argv[2]);
    const char *prefix = argv[3];
    const char *path = getenv("MEMSAMPLE_CONTROL");
    char dir[] = "/tmp/mark-flood-XXXXXX", own[64] = "";
    int reader = -1;
    if (self) {
        if (!mkdtemp(dir)) {
            perror("mark-flood: mkdtemp");
            return 2;
        }
        snprintf(own, sizeof own, "%s/control", dir);
        struct sockaddr_un at = {.sun_family = AF_UNIX};
        strcpy(at.sun_path, own);
        reader = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (reader < 0 || bind(reader, (struct sockaddr *)&at, sizeof at) != 0) {
            perror("mark-flood: bind");
            return 2;
        }
        path = own;
    }
    if (rate <= 0 || seconds <= 0 || !path) {
        fprintf(stderr, "mark-flood: needs RATE > 0, SECONDS > 0 and MEMSAMPLE_CONTROL\n");
        return 2;
    }
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof to.sun_path) {
        fprintf(stderr, "mark-flood: socket path too long\n");
        return 2;
    }
    strcpy(to.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    FILE *out = fopen(argv[4], "w");
    if (fd < 0 || !out) {
        perror("mark-flood");
        return 2;
    }
    long count = (long)(rate * seconds);
    double *sched = malloc(sizeof(double) * count), *sent = malloc(sizeof(double) * count),
           *took = malloc(sizeof(double) * count);
    if (!sched || !sent || !took) return 2;
    long period_ns = 1000000000L / rate;
    struct timespec t0, deadline, before, after;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int failed = 0;
    for (long k = 0; k < count; k++) {
        long long ns = (long long)t0.tv_nsec + (long long)k * period_ns;
        deadline.tv_sec = t0.tv_sec + (time_t)(ns / 1000000000LL);
        deadline.tv_nsec = (long)(ns % 1000000000LL);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
        }
        char name[64];
        int len = snprintf(name, sizeof name, "%s%ld", prefix, k);
        clock_gettime(CLOCK_MONOTONIC, &before);
        ssize_t done = sendto(fd, name, (size_t)len, 0, (struct sockaddr *)&to, sizeof to);
        clock_gettime(CLOCK_MONOTONIC, &after);
        if (done != len) {
            fprintf(stderr, "mark-flood: send %ld: %s\n", k, strerror(errno));
            failed = 1;
        }
        if (reader >= 0) {
            char back[64];
            (void)recv(reader, back, sizeof back, 0);
        }
        sched[k] = us_between(&t0, &deadline);
        sent[k] = us_between(&t0, &before);
        took[k] = us_between(&before, &after);
    }
    for (long k = 0; k < count; k++) {
        fprintf(out, "%ld %.1f %.1f %.2f\n", k, sched[k], sent[k], took[k]);
    }
    fclose(out);
    close(fd);
    if (reader >= 0) {
        close(reader);
        unlink(own);
        rmdir(dir);
    }
    return failed;
}
