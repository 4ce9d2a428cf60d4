/* bench/canned-zmx.c: a canned zmx for bench/monitor, compiled at bench time. It answers
 * `zmx list` with $ZMX_DIR/canned-list and `zmx history NAME [--html]` with
 * $ZMX_DIR/canned-history[.html], logging each call to $ZMX_DIR/calls.log, at the cost of a
 * small C program (about a millisecond), like the real zmx, not of a bash start.
 * Called as `canned-zmx --floor N ARGS...`, it runs `canned-zmx ARGS...` N times one after
 * another and prints the wall milliseconds: the floor a pass of N calls cannot go below. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cat(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return 1; }
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t o = 0; o < n;) {
            ssize_t w = write(1, buf + o, n - o);
            if (w < 0) return 1;
            o += w;
        }
    }
    close(fd);
    return 0;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--floor") == 0) {
        int n = atoi(argv[2]);
        int devnull = open("/dev/null", O_WRONLY);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, devnull, 1);
        char **args = argv + 2;
        args[0] = argv[0];
        double t0 = now_ms();
        for (int i = 0; i < n; i++) {
            pid_t pid;
            if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ) != 0) return 1;
            int st;
            waitpid(pid, &st, 0);
        }
        printf("%.0f\n", now_ms() - t0);
        return 0;
    }
    const char *dir = getenv("ZMX_DIR");
    if (!dir) { fputs("canned-zmx: ZMX_DIR is not set\n", stderr); return 1; }
    char path[4096], line[8192];
    size_t len = 0;
    for (int i = 1; i < argc && len < sizeof line - 2; i++) {
        int k = snprintf(line + len, sizeof line - 1 - len, "%s%s", i > 1 ? " " : "", argv[i]);
        if (k > 0) len += (size_t)k;
        if (len > sizeof line - 2) len = sizeof line - 2;
    }
    line[len++] = '\n';
    snprintf(path, sizeof path, "%s/calls.log", dir);
    int log = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (log >= 0) { if (write(log, line, len) < 0) {} close(log); }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        snprintf(path, sizeof path, "%s/canned-list", dir);
        return cat(path);
    }
    if (argc >= 3 && strcmp(argv[1], "history") == 0) {
        int html = argc >= 4 && strcmp(argv[3], "--html") == 0;
        snprintf(path, sizeof path, "%s/%s", dir, html ? "canned-history.html" : "canned-history");
        return cat(path);
    }
    fprintf(stderr, "canned-zmx: not canned: %.*s", (int)len, line);
    return 1;
}
