#include "tftpd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Poll period while waiting for a child to bind or exit. */
#define S_POLL_MS 10

struct tftpd {
    int mode;
    char *binary;
    char *address; /* "" for every address */
    int port;
    char **folders;
    size_t nfolders;
    char *user;
    char *command;
    int command_ok;
    int ready_ms, stop_ms, command_ms;
    pid_t *pids; /* one per folder, 0 when not running */
};

static int64_t
s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* "ADDR:PORT", with brackets around an IPv6 address. */
static void
s_endpoint(const tftpd_t *t, int port, char *buf, size_t size)
{
    if (t->address[0] == '\0')
        snprintf(buf, size, "*:%d", port);
    else if (strchr(t->address, ':') != NULL)
        snprintf(buf, size, "[%s]:%d", t->address, port);
    else
        snprintf(buf, size, "%s:%d", t->address, port);
}

static int
s_valid_address(const char *address)
{
    unsigned char tmp[16];

    return inet_pton(AF_INET, address, tmp) == 1 ||
           inet_pton(AF_INET6, address, tmp) == 1;
}

static int
s_check_args(const char *address, int port, const char *const *folders,
             size_t nfolders)
{
    if (address != NULL && address[0] != '\0' && !s_valid_address(address))
        return err_set(ERR_ARG,
                       "tftpd: address \"%.64s\" is not a numeric "
                       "IPv4 or IPv6 address",
                       address);
    if (folders == NULL || nfolders == 0)
        return err_set(ERR_ARG, "tftpd: no folder to serve");
    if (port < 1 || port > 65535 || (size_t)port + nfolders - 1 > 65535)
        return err_set(ERR_ARG, "tftpd: port %d does not fit %zu folder(s)",
                       port, nfolders);
    for (size_t i = 0; i < nfolders; i++) {
        if (folders[i] == NULL || folders[i][0] != '/')
            return err_set(ERR_ARG,
                           "tftpd: folder %zu (\"%.200s\") is not "
                           "an absolute path",
                           i, folders[i] ? folders[i] : "");
    }
    return ERR_OK;
}

tftpd_t *
tftpd_new(const char *binary, const char *address, int port,
          const char *const *folders, size_t nfolders, const char *user)
{
    tftpd_t *t;

    if (s_check_args(address, port, folders, nfolders) != ERR_OK)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->port = port;
    t->nfolders = nfolders;
    t->ready_ms = TFTPD_DEFAULT_READY_MS;
    t->stop_ms = TFTPD_DEFAULT_STOP_MS;
    t->command_ms = TFTPD_DEFAULT_COMMAND_MS;
    t->binary = strdup(binary ? binary : TFTPD_DEFAULT_BINARY);
    t->address = strdup(address ? address : "");
    t->user = strdup(user ? user : "nobody");
    t->folders = calloc(nfolders, sizeof(char *));
    t->pids = calloc(nfolders, sizeof(pid_t));
    if (!t->binary || !t->address || !t->user || !t->folders || !t->pids)
        goto fail;
    for (size_t i = 0; i < nfolders; i++) {
        t->folders[i] = strdup(folders[i]);
        if (t->folders[i] == NULL)
            goto fail;
    }
    return t;
fail:
    err_set(ERR_NOMEM, "tftpd: out of memory");
    tftpd_destroy(&t);
    return NULL;
}

int
tftpd_set_restart_command(tftpd_t *t, const char *cmd)
{
    char *copy;

    if (cmd == NULL || cmd[0] == '\0')
        return err_set(ERR_ARG, "tftpd: empty restart command");
    copy = strdup(cmd);
    if (copy == NULL)
        return err_set(ERR_NOMEM, "tftpd: out of memory");
    free(t->command);
    t->command = copy;
    t->mode = TFTPD_MODE_COMMAND;
    return ERR_OK;
}

void
tftpd_set_noop(tftpd_t *t)
{
    t->mode = TFTPD_MODE_NONE;
}

void
tftpd_set_deadlines(tftpd_t *t, int ready_ms, int stop_ms, int command_ms)
{
    if (ready_ms > 0)
        t->ready_ms = ready_ms;
    if (stop_ms > 0)
        t->stop_ms = stop_ms;
    if (command_ms > 0)
        t->command_ms = command_ms;
}

int
tftpd_mode(const tftpd_t *t)
{
    return t->mode;
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. The
 * child gets default signal handling, no inherited descriptors but 0-2
 * (and keep, closed by exec), stdin and stdout on /dev/null, and dies with
 * its supervisor.
 */
static void
s_child_exec(const char *path, char *const argv[], pid_t parent, int keep)
{
    sigset_t none;
    int nul;
    static const int sigs[] = {SIGTERM, SIGINT,  SIGHUP,  SIGPIPE,
                               SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(126);
    nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
    }
    /* keep is the close-on-exec pipe that tells the parent exec is done. */
    if (keep < 3) {
        close_range(3, ~0U, 0);
    } else {
        if (keep > 3)
            close_range(3, (unsigned)keep - 1, 0);
        close_range((unsigned)keep + 1, ~0U, 0);
    }
    execv(path, argv);
    _exit(127);
}

/*
 * Non-zero when in.tftpd can change to another user: as root, or with
 * CAP_SETUID in the effective set (an agent run by systemd as its own user
 * with ambient capabilities, see deploy/systemd).
 */
static int
s_can_setuid(void)
{
    char line[256];
    unsigned long long eff;
    int can = geteuid() == 0;
    FILE *f = can ? NULL : fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            can = (eff >> 7) & 1; /* CAP_SETUID is capability 7 */
    }
    if (f != NULL)
        fclose(f);
    return can;
}

/* Builds the argument list of the child for folder i into argv. */
static void
s_build_argv(const tftpd_t *t, size_t i, char *listen, size_t size,
             const char *argv[12])
{
    int n = 0;

    if (strchr(t->address, ':') != NULL)
        snprintf(listen, size, "[%s]:%d", t->address, t->port + (int)i);
    else
        snprintf(listen, size, "%s:%d", t->address, t->port + (int)i);
    argv[n++] = t->binary;
    argv[n++] = "--foreground";
    argv[n++] = "--address";
    argv[n++] = listen;
    argv[n++] = "--secure";
    if (s_can_setuid()) {
        argv[n++] = "--user";
        argv[n++] = t->user;
    }
    argv[n++] = t->folders[i];
    argv[n] = NULL;
}

/* Non-zero when pid has an open socket whose inode is inode. */
static int
s_pid_has_socket(pid_t pid, unsigned long inode)
{
    char dir[64], link[PATH_MAX], want[64], target[64];
    DIR *d;
    struct dirent *e;
    int found = 0;
    ssize_t n;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        found = strcmp(target, want) == 0;
    }
    closedir(d);
    return found;
}

/* Non-zero when pid holds a UDP socket bound to port (per table). */
static int
s_bound_in(const char *table, pid_t pid, int port)
{
    FILE *f = fopen(table, "r");
    char line[512];
    unsigned lport;
    unsigned long inode;
    int found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line,
                   " %*u: %*[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %*s "
                   "%*s %lu",
                   &lport, &inode) != 2)
            continue;
        if ((int)lport == port && inode != 0)
            found = s_pid_has_socket(pid, inode);
    }
    fclose(f);
    return found;
}

static int
s_bound(pid_t pid, int port)
{
    return s_bound_in("/proc/net/udp", pid, port) ||
           s_bound_in("/proc/net/udp6", pid, port);
}

/*
 * Says why a child could not listen on ADDR:PORT by trying to bind the
 * same address ourselves. Returns the error code to report.
 */
static int
s_explain_exit(const tftpd_t *t, size_t i, int status)
{
    char ep[128], portstr[8], why[160];
    struct addrinfo hints = {0}, *ai = NULL;
    int fd, rc = ERR_IO, port = t->port + (int)i;

    s_endpoint(t, port, ep, sizeof(ep));
    if (WIFEXITED(status))
        snprintf(why, sizeof(why), "exited at once with status %d",
                 WEXITSTATUS(status));
    else
        snprintf(why, sizeof(why), "was killed at once by signal %d",
                 WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return err_set(ERR_NOTFOUND, "tftpd: cannot execute %s to serve %s",
                       t->binary, ep);

    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(t->address[0] ? t->address : NULL, portstr, &hints, &ai) ==
        0) {
        fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            rc = err_set(ERR_NET,
                         "tftpd: in.tftpd for %s cannot listen on "
                         "%s: %s",
                         t->folders[i], ep,
                         errno == EADDRINUSE ? "the port is already in use"
                                             : strerror(errno));
        }
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        if (rc == ERR_NET)
            return rc;
    }
    return err_set(ERR_IO, "tftpd: in.tftpd for %s on %s %s (see syslog)",
                   t->folders[i], ep, why);
}

/* Waits for a child to exit for up to ms; returns 1 when reaped. */
static int
s_wait_exit(pid_t pid, int ms, int *status)
{
    int64_t end = s_now_ms() + ms;
    pid_t r;

    for (;;) {
        r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (s_now_ms() >= end)
            return 0;
        s_sleep_ms(S_POLL_MS);
    }
}

static void
s_kill_child(const tftpd_t *t, pid_t pid)
{
    int status;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    if (s_wait_exit(pid, t->stop_ms, &status))
        return;
    log_warning("tftpd: in.tftpd pid %d ignored SIGTERM for %d ms; killing",
                (int)pid, t->stop_ms);
    kill(pid, SIGKILL);
    s_wait_exit(pid, 5000, &status);
}

/* Waits until child i binds its port, exits or misses the deadline. */
static int
s_wait_ready(tftpd_t *t, size_t i)
{
    int64_t end = s_now_ms() + t->ready_ms;
    int status, port = t->port + (int)i;
    pid_t pid = t->pids[i];
    char ep[128];

    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            t->pids[i] = 0;
            return s_explain_exit(t, i, status);
        }
        if (s_bound(pid, port))
            return ERR_OK;
        if (s_now_ms() >= end)
            break;
        s_sleep_ms(S_POLL_MS);
    }
    s_kill_child(t, pid);
    t->pids[i] = 0;
    s_endpoint(t, port, ep, sizeof(ep));
    return err_set(ERR_TIMEOUT,
                   "tftpd: in.tftpd for %s did not bind %s "
                   "within %d ms",
                   t->folders[i], ep, t->ready_ms);
}

static int
s_check_folder(const char *folder)
{
    struct stat st;

    if (stat(folder, &st) < 0)
        return err_set(ERR_NOTFOUND, "tftpd: TFTP folder %s: %s", folder,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(ERR_ARG, "tftpd: TFTP folder %s is not a folder",
                       folder);
    return ERR_OK;
}

static int
s_start_one(tftpd_t *t, size_t i)
{
    char listen[128];
    const char *argv[12];
    pid_t parent = getpid(), pid;
    int rc, sync[2];
    char c;

    rc = s_check_folder(t->folders[i]);
    if (rc != ERR_OK)
        return rc;
    s_build_argv(t, i, listen, sizeof(listen), argv);
    if (pipe2(sync, O_CLOEXEC) < 0)
        return err_set(ERR_IO, "tftpd: pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(sync[0]);
        close(sync[1]);
        return err_set(ERR_IO, "tftpd: fork: %s", strerror(errno));
    }
    if (pid == 0)
        s_child_exec(t->binary, (char *const *)argv, parent, sync[1]);
    t->pids[i] = pid;

    /*
     * Until exec the child holds copies of our descriptors, sockets
     * included: wait for exec (end of file on the pipe) before looking for
     * its socket, or one of ours would pass for it.
     */
    close(sync[1]);
    while (read(sync[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(sync[0]);
    rc = s_wait_ready(t, i);
    if (rc == ERR_OK)
        log_info("tftpd: in.tftpd pid %d serves %s on %s", (int)pid,
                 t->folders[i], listen);
    return rc;
}

/* Runs the restart command within the command deadline. */
static int
s_run_command(tftpd_t *t)
{
    const char *argv[] = {"/bin/sh", "-c", t->command, NULL};
    pid_t parent = getpid(), pid;
    int status;

    t->command_ok = 0;
    pid = fork();
    if (pid < 0)
        return err_set(ERR_IO, "tftpd: fork: %s", strerror(errno));
    if (pid == 0) {
        /* Own process group, so a timeout kills what the shell started. */
        setpgid(0, 0);
        s_child_exec(argv[0], (char *const *)argv, parent, -1);
    }
    setpgid(pid, pid);
    if (!s_wait_exit(pid, t->command_ms, &status)) {
        kill(-pid, SIGKILL);
        s_wait_exit(pid, 5000, &status);
        return err_set(ERR_TIMEOUT,
                       "tftpd: restart command \"%.200s\" did "
                       "not finish within %d ms",
                       t->command, t->command_ms);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_set(ERR_IO,
                       "tftpd: restart command \"%.200s\" failed "
                       "(%s %d)",
                       t->command, WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status)
                                         : WTERMSIG(status));
    t->command_ok = 1;
    return ERR_OK;
}

int
tftpd_start(tftpd_t *t)
{
    int rc;

    if (t->mode == TFTPD_MODE_NONE)
        return ERR_OK;
    if (t->mode == TFTPD_MODE_COMMAND)
        return s_run_command(t);
    if (access(t->binary, X_OK) < 0)
        return err_set(ERR_NOTFOUND, "tftpd: cannot execute %s: %s", t->binary,
                       strerror(errno));
    for (size_t i = 0; i < t->nfolders; i++) {
        if (t->pids[i] > 0)
            return err_set(ERR_ARG, "tftpd: already running (pid %d)",
                           (int)t->pids[i]);
    }
    for (size_t i = 0; i < t->nfolders; i++) {
        rc = s_start_one(t, i);
        if (rc != ERR_OK) {
            /* All or nothing: a half-served node would confuse phones. */
            for (size_t j = 0; j < i; j++) {
                s_kill_child(t, t->pids[j]);
                t->pids[j] = 0;
            }
            return rc;
        }
    }
    return ERR_OK;
}

int
tftpd_stop(tftpd_t *t)
{
    if (t->mode != TFTPD_MODE_SUPERVISE)
        return ERR_OK;
    for (size_t i = 0; i < t->nfolders; i++) {
        if (t->pids[i] > 0)
            log_info("tftpd: stopping in.tftpd pid %d (%s)", (int)t->pids[i],
                     t->folders[i]);
        s_kill_child(t, t->pids[i]);
        t->pids[i] = 0;
    }
    return ERR_OK;
}

int
tftpd_restart(tftpd_t *t)
{
    int rc;

    if (t->mode != TFTPD_MODE_SUPERVISE)
        return tftpd_start(t);
    rc = tftpd_stop(t);
    if (rc != ERR_OK)
        return rc;
    return tftpd_start(t);
}

int
tftpd_check(tftpd_t *t)
{
    int status, died = 0;
    pid_t r;
    char ep[128];

    if (t->mode != TFTPD_MODE_SUPERVISE)
        return 0;
    for (size_t i = 0; i < t->nfolders && !died; i++) {
        if (t->pids[i] <= 0)
            continue;
        r = waitpid(t->pids[i], &status, WNOHANG);
        if (r == 0 || (r < 0 && errno != ECHILD))
            continue;
        s_endpoint(t, t->port + (int)i, ep, sizeof(ep));
        if (r < 0)
            err_set(ERR_IO,
                    "tftpd: in.tftpd pid %d for %s on %s is gone "
                    "(reaped elsewhere)",
                    (int)t->pids[i], t->folders[i], ep);
        else if (WIFEXITED(status))
            err_set(ERR_IO,
                    "tftpd: in.tftpd pid %d for %s on %s exited "
                    "with status %d",
                    (int)t->pids[i], t->folders[i], ep, WEXITSTATUS(status));
        else
            err_set(ERR_IO,
                    "tftpd: in.tftpd pid %d for %s on %s was killed "
                    "by signal %d",
                    (int)t->pids[i], t->folders[i], ep, WTERMSIG(status));
        t->pids[i] = 0;
        died = 1;
    }
    return died;
}

int
tftpd_running(tftpd_t *t)
{
    if (t->mode == TFTPD_MODE_NONE)
        return 1;
    if (t->mode == TFTPD_MODE_COMMAND)
        return t->command_ok;
    while (tftpd_check(t))
        ;
    for (size_t i = 0; i < t->nfolders; i++) {
        if (t->pids[i] <= 0)
            return 0;
    }
    return 1;
}

pid_t
tftpd_pid(const tftpd_t *t)
{
    return t->mode == TFTPD_MODE_SUPERVISE ? t->pids[0] : 0;
}

size_t
tftpd_count(const tftpd_t *t)
{
    return t->nfolders;
}

pid_t
tftpd_pid_of(const tftpd_t *t, size_t i)
{
    if (i >= t->nfolders || t->mode != TFTPD_MODE_SUPERVISE)
        return 0;
    return t->pids[i];
}

int
tftpd_port_of(const tftpd_t *t, size_t i)
{
    return i < t->nfolders ? t->port + (int)i : -1;
}

void
tftpd_destroy(tftpd_t **tp)
{
    tftpd_t *t;

    if (tp == NULL || *tp == NULL)
        return;
    t = *tp;
    if (t->pids != NULL && tftpd_stop(t) != ERR_OK)
        log_warning("%s", err_detail());
    for (size_t i = 0; t->folders != NULL && i < t->nfolders; i++)
        free(t->folders[i]);
    free(t->folders);
    free(t->pids);
    free(t->binary);
    free(t->address);
    free(t->user);
    free(t->command);
    free(t);
    *tp = NULL;
}
