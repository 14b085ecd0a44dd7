#include "prompt.h"

#include <fcntl.h>
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
        return err_set(ERR_ARG, "password longer than %zu characters",
                       len - 2);
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0)
        return err_set(ERR_ARG, "empty password");
    return ERR_OK;
}

int
prompt_password(const char *prompt, int from_stdin, char *buf, size_t len)
{
    struct termios old, quiet;
    FILE *tty;
    int rc;

    if (from_stdin)
        return s_read_line(stdin, buf, len);
    tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return err_set(ERR_IO, "no terminal to ask for the password; use "
                       "--password-stdin");
    fprintf(tty, "%s", prompt);
    fflush(tty);
    tcgetattr(fileno(tty), &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    rc = s_read_line(tty, buf, len);
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
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
