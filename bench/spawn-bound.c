/* bench/spawn-bound.c: what a pass of N `zmx history NAME --html` calls costs on this machine
 * when nothing but a small C program makes them, as pici-stage does: J calls at a time, each
 * with its stdout on a pipe, its exit on a pidfd, one poll(2) for all, and WORK microseconds
 * of busy work for each history read (pici-stage parses it and writes two files). Run by
 * bench/spawn-bound, which sets PATH and ZMX_DIR for the canned zmx; prints the wall ms.
 *
 *   spawn-bound N J WORK [pipes|exits] [inline|thread]
 *
 * pipes: the poll also watches each child's pipe, as pici-stage's does (a child's write
 * wakes the caller); exits: only its pidfd, and the pipe is read once it has exited (an
 * output under the pipe's 64 KiB only). inline: the work is done between polls, before the
 * next call starts; thread: a second thread does it, so the next call starts at once. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int work_us;

static void work(void) {
    double until = now_ms() + work_us / 1000.0;
    while (now_ms() < until) {}
}

struct call { pid_t pid; int pidfd, out, live; size_t len; char *buf; };

static char *argv_history[] = {"zmx", "history", "ci.bench0.00000000.runner", "--html", NULL};

static int start(struct call *c) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawnp(&c->pid, "zmx", &fa, &at, argv_history, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) { close(p[0]); return -1; }
    c->out = p[0];
    fcntl(c->out, F_SETFL, O_NONBLOCK);
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    c->len = 0;
    c->live = 1;
    return 0;
}

static void drain(struct call *c) {
    ssize_t n;
    while ((n = read(c->out, c->buf + c->len, 65536)) > 0) c->len += (size_t)n;
}

/* The worker thread's queue: how many histories wait for their work. */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, done_queueing;

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mutex);
        while (waiting == 0 && !done_queueing) pthread_cond_wait(&cond, &mutex);
        if (waiting == 0) { pthread_mutex_unlock(&mutex); return NULL; }
        waiting--;
        pthread_mutex_unlock(&mutex);
        work();
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fputs("usage: spawn-bound N J WORK [pipes|exits] [inline|thread]\n", stderr);
        return 64;
    }
    int n = atoi(argv[1]), j = atoi(argv[2]);
    work_us = atoi(argv[3]);
    int watch_pipes = argc < 5 || strcmp(argv[4], "exits") != 0;
    int threaded = argc >= 6 && strcmp(argv[5], "thread") == 0;
    if (j < 1 || j > 64 || n < 1) return 64;
    struct call calls[64];
    for (int i = 0; i < j; i++) { calls[i].buf = malloc(1 << 22); calls[i].live = 0; }
    pthread_t thread;
    if (threaded && pthread_create(&thread, NULL, worker, NULL) != 0) return 71;

    double t0 = now_ms();
    int started = 0, ended = 0;
    for (int i = 0; i < j && started < n; i++, started++)
        if (start(&calls[i]) != 0) return 71;
    while (ended < n) {
        struct pollfd fds[128];
        int owner[128], k = 0;
        for (int i = 0; i < j; i++) {
            if (!calls[i].live) continue;
            fds[k] = (struct pollfd){.fd = calls[i].pidfd, .events = POLLIN};
            owner[k++] = i;
            if (watch_pipes) {
                fds[k] = (struct pollfd){.fd = calls[i].out, .events = POLLIN};
                owner[k++] = i;
            }
        }
        if (poll(fds, (nfds_t)k, -1) < 0) continue;
        int exited[64], m = 0;
        for (int f = 0; f < k; f++) {
            struct call *c = &calls[owner[f]];
            if (!fds[f].revents || !c->live) continue;
            drain(c);
            if (fds[f].fd != c->pidfd) continue;
            int status;
            waitpid(c->pid, &status, 0);
            drain(c);
            close(c->out);
            close(c->pidfd);
            c->live = 0;
            exited[m++] = owner[f];
        }
        if (threaded) {
            pthread_mutex_lock(&mutex);
            waiting += m;
            pthread_cond_signal(&cond);
            pthread_mutex_unlock(&mutex);
        } else {
            for (int e = 0; e < m; e++) work();
        }
        ended += m;
        for (int e = 0; e < m && started < n; e++, started++)
            if (start(&calls[exited[e]]) != 0) return 71;
    }
    if (threaded) {
        pthread_mutex_lock(&mutex);
        done_queueing = 1;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&mutex);
        pthread_join(thread, NULL);
    }
    printf("%.0f\n", now_ms() - t0);
    return 0;
}
