/* bench/canned-zmx.c: a canned zmx for bench/monitor, compiled at bench time. It answers
 * `zmx list` with $ZMX_DIR/canned-list and `zmx history NAME [--html]` with
 * $ZMX_DIR/canned-history[.html], logging each call to $ZMX_DIR/calls.log, at the cost of a
 * small C program (about a millisecond), like the real zmx, not of a bash start.
 * `zmx tail NAME` behaves as the real one does (ZMX.md): it blocks and streams what the
 * session prints from the moment it connects (here: what is appended to
 * $ZMX_DIR/canned-feed, CR LF line ends), and once canned-list shows NAME ended it prints the
 * marker and exits 0; on a session that has already ended it waits (for a next task that
 * never comes). It also ends when $ZMX_DIR is removed, as when a session vanishes. It polls
 * (every 200 ms: inotify instances are too few for a follower per session). While it is
 * connected the session's `clients` in `zmx list` is one more, as with the real zmx
 * ($ZMX_DIR/clients/NAME.PID, counted while PID lives).
 * A call made by a follower (`pici-stage --follow`, its parent) is logged as "follower ...".
 * Called as `canned-zmx --floor N ARGS...`, it runs `canned-zmx ARGS...` N times one after
 * another and prints the wall milliseconds: the floor a pass of N calls cannot go below. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
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

/* NAME's line in canned-list: 0 absent, 1 running, 2 ended (its exit code in *code). A list
 * read while the bench rewrites it may lack the line: the caller reads it again later. */
static int state(const char *dir, const char *name, int *code) {
    char path[4096];
    snprintf(path, sizeof path, "%s/canned-list", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0, nlen = strlen(name);
    int found = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "  name=", 7) != 0 || strncmp(line + 7, name, nlen) != 0 || line[7 + nlen] != '\t') continue;
        char *e = strstr(line, "\texit_code=");
        found = (strstr(line, "\tended=") && e) ? 2 : 1;
        if (found == 2) *code = atoi(e + 11);
        break;
    }
    free(line);
    fclose(f);
    return found;
}

/* The sessions with a tail connected, sorted, one entry per live tail. */
static char **tails;
static size_t ntails;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void load_tails(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/clients", dir);
    DIR *d = opendir(path);
    if (!d) return;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *dot = strrchr(e->d_name, '.');
        if (!dot || e->d_name[0] == '.') continue;
        if (kill(atoi(dot + 1), 0) != 0) continue;  /* that tail is gone */
        if (ntails == cap) tails = realloc(tails, (cap = cap ? 2 * cap : 64) * sizeof *tails);
        tails[ntails++] = strndup(e->d_name, (size_t)(dot - e->d_name));
    }
    closedir(d);
    qsort(tails, ntails, sizeof *tails, cmp);
}

/* How many tails follow NAME (the entries are sorted: the run of equal names). */
static int clients(const char *name) {
    char **hit = bsearch(&name, tails, ntails, sizeof *tails, cmp);
    if (!hit) return 0;
    char **a = hit, **b = hit;
    while (a > tails && strcmp(a[-1], name) == 0) a--;
    while (b + 1 < tails + ntails && strcmp(b[1], name) == 0) b++;
    return (int)(b - a + 1);
}

/* canned-list with each session's clients raised by its live tails. */
static int list(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/canned-list", dir);
    load_tails(dir);
    if (ntails == 0) return cat(path);
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 1; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        char *name = strstr(line, "name="), *tab = name ? strchr(name, '\t') : NULL;
        char *c = tab ? strstr(tab, "\tclients=") : NULL;
        int extra = 0;
        if (c) {
            *tab = 0;
            extra = clients(name + 5);
            *tab = '\t';
        }
        if (!extra) { fwrite(line, 1, (size_t)n, stdout); continue; }
        char *end = c + 9;
        int was = (int)strtol(end, &end, 10);
        fwrite(line, 1, (size_t)(c + 9 - line), stdout);
        printf("%d", was + extra);
        fputs(end, stdout);
    }
    free(line);
    fclose(f);
    return 0;
}

static int tail(const char *dir, const char *name) {
    int code = 0, st = state(dir, name, &code);
    if (st == 0) {
        fprintf(stderr, "error: session \"%s\" does not exist\n", name);
        return 1;
    }
    char path[4096];
    /* Connected: one more client while this process lives. */
    snprintf(path, sizeof path, "%s/clients", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/clients/%s.%d", dir, name, (int)getpid());
    close(open(path, O_WRONLY | O_CREAT, 0644));
    snprintf(path, sizeof path, "%s/canned-feed", dir);
    int feed = open(path, O_RDONLY | O_CREAT, 0644);
    off_t off = feed >= 0 ? lseek(feed, 0, SEEK_END) : 0;  /* only what comes after connecting */
    snprintf(path, sizeof path, "%s/canned-list", dir);
    struct stat list0, s;
    if (stat(path, &list0) != 0) memset(&list0, 0, sizeof list0);
    char buf[65536], out[2 * 65536];
    for (;;) {
        struct stat d;
        if (stat(dir, &d) != 0) return 0;  /* the sessions are gone */
        ssize_t n;
        while (feed >= 0 && (n = pread(feed, buf, sizeof buf, off)) > 0) {
            off += n;
            size_t m = 0;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n') out[m++] = '\r';
                out[m++] = buf[i];
            }
            for (size_t o = 0; o < m;) {
                ssize_t w = write(1, out + o, m - o);
                if (w < 0) return 1;
                o += (size_t)w;
            }
        }
        if (st == 1 && stat(path, &s) == 0 && (s.st_mtim.tv_sec != list0.st_mtim.tv_sec ||
                                             s.st_mtim.tv_nsec != list0.st_mtim.tv_nsec || s.st_size != list0.st_size)) {
            list0 = s;
            if (state(dir, name, &code) == 2) {
                printf("ZMX_TASK_COMPLETED:0000:%d\r\n", code);
                snprintf(path, sizeof path, "%s/clients/%s.%d", dir, name, (int)getpid());
                unlink(path);
                return 0;
            }
        }
        usleep(200000);
    }
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
    /* Whose call: a follower's (its parent is `pici-stage --follow ...`) or the pass's. */
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)getppid());
    int pc = open(path, O_RDONLY);
    if (pc >= 0) {
        char cmd[512];
        ssize_t k = read(pc, cmd, sizeof cmd - 1);
        close(pc);
        for (ssize_t i = 0; k > 0 && i + 8 <= k; i++)
            if (memcmp(cmd + i, "--follow", 8) == 0 && (i + 8 == k || cmd[i + 8] == 0)) { len = (size_t)snprintf(line, sizeof line, "follower "); break; }
    }
    for (int i = 1; i < argc && len < sizeof line - 2; i++) {
        int k = snprintf(line + len, sizeof line - 1 - len, "%s%s", i > 1 ? " " : "", argv[i]);
        if (k > 0) len += (size_t)k;
        if (len > sizeof line - 2) len = sizeof line - 2;
    }
    line[len++] = '\n';
    snprintf(path, sizeof path, "%s/calls.log", dir);
    int log = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (log >= 0) { if (write(log, line, len) < 0) {} close(log); }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) return list(dir);
    if (argc >= 3 && strcmp(argv[1], "history") == 0) {
        int html = argc >= 4 && strcmp(argv[3], "--html") == 0;
        snprintf(path, sizeof path, "%s/%s", dir, html ? "canned-history.html" : "canned-history");
        return cat(path);
    }
    if (argc == 3 && strcmp(argv[1], "tail") == 0) return tail(dir, argv[2]);
    fprintf(stderr, "canned-zmx: not canned: %.*s", (int)len, line);
    return 1;
}
