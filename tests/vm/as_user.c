/* as_user UID PROGRAM [ARGS...]: runs PROGRAM as user and group UID with no
 * supplementary groups. busybox's setpriv cannot change the user; the VM
 * checks need a non-root memsample (tests/vm/init.sh). */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: as_user UID PROGRAM [ARGS...]\n");
        return 2;
    }
    uid_t id = (uid_t)strtoul(argv[1], NULL, 10);
    if (setgroups(0, NULL) != 0 || setgid(id) != 0 || setuid(id) != 0) {
        perror("as_user");
        return 1;
    }
    execv(argv[2], argv + 2);
    perror("as_user: execv");
    return 127;
}
