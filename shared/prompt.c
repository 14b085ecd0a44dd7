#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int
s_read_line(FILE *in, char *buf, size_t len)
{
    size_t n;

    if (fgets(buf, (int)len, in) == NULL)
        return err_set(ERR_IO, "no password given on standard input");
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == len - 1)
        return err_set(ERR_ARG, "password longer than %zu characters", len - 2);
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0)
        return err_set(ERR_ARG, "empty password");
    return ERR_OK;
}

/*
 * While echo is off, a signal that ends or stops the process must give the
 * terminal back first: the handler restores the saved settings and raises
 * the signal again with its default action. After a stop (SIGTSTP) the
 * prompt carries on where it was, echo off again.
 */
static const int s_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGTSTP, SIGHUP};
#define S_NSIG (sizeof(s_signals) / sizeof(s_signals[0]))

static volatile sig_atomic_t s_tty_fd = -1;
static struct termios s_saved, s_quiet;
static struct sigaction s_old_actions[S_NSIG];

static void
s_on_signal(int sig)
{
    int saved_errno = errno, fd = s_tty_fd;
    struct sigaction dfl, mine;

    if (fd >= 0)
        tcsetattr(fd, TCSANOW, &s_saved);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, &mine);
    raise(sig);
    /* Only a stop comes back here, once the process is continued. */
    sigaction(sig, &mine, NULL);
    if (fd >= 0 && s_tty_fd == fd)
        tcsetattr(fd, TCSANOW, &s_quiet);
    errno = saved_errno;
}

static void
s_guard_on(int fd)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    /* The raised signal is delivered at once, inside the handler; a read
     * cut by a stop goes on after the continue. */
    sa.sa_flags = SA_NODEFER | SA_RESTART;
    s_tty_fd = fd;
    for (size_t i = 0; i < S_NSIG; i++)
        sigaction(s_signals[i], &sa, &s_old_actions[i]);
}

static void
s_guard_off(void)
{
    for (size_t i = 0; i < S_NSIG; i++)
        sigaction(s_signals[i], &s_old_actions[i], NULL);
    s_tty_fd = -1;
}

int
prompt_password(const char *prompt, int from_stdin, char *buf, size_t len)
{
    FILE *tty;
    int rc, fd, quiet = 0;

    if (from_stdin)
        return s_read_line(stdin, buf, len);
    tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return err_set(ERR_IO, "no terminal to ask for the password; use "
                               "--password-stdin");
    fd = fileno(tty);
    fprintf(tty, "%s", prompt);
    fflush(tty);
    if (tcgetattr(fd, &s_saved) == 0) {
        s_quiet = s_saved;
        s_quiet.c_lflag &= ~(tcflag_t)ECHO;
        s_quiet.c_lflag |= ECHONL;
        s_guard_on(fd);
        quiet = tcsetattr(fd, TCSAFLUSH, &s_quiet) == 0;
        if (!quiet)
            s_guard_off();
    }
    rc = s_read_line(tty, buf, len);
    if (quiet) {
        tcsetattr(fd, TCSAFLUSH, &s_saved);
        s_guard_off();
    }
    fclose(tty);
    return rc;
}

int
prompt_yes(const char *question)
{
    char line[16];
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *in = tty ? tty : stdin, *out = tty ? tty : stderr;
    int yes = 0;

    fprintf(out, "%s", question);
    fflush(out);
    if (fgets(line, sizeof(line), in) != NULL)
        yes = strncmp(line, "yes", 3) == 0 || strncmp(line, "y\n", 2) == 0;
    if (tty)
        fclose(tty);
    return yes;
}

long long
time_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
