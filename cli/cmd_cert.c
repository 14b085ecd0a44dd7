#include "cmd_cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "node.h"

#define LINE_MAX_LEN 1024

/* Skips the command words a dispatcher may have left in argv. */
static int
s_skip(int argc, char **argv, const char *const *words)
{
    int i = 0;

    while (words[i] != NULL && i < argc && strcmp(argv[i], words[i]) == 0)
        i++;
    /* A program name in argv[0] is skipped as well. */
    if (i == 0 && argc > 0 && strstr(argv[0], "itl-") != NULL)
        return 1 + s_skip(argc - 1, argv + 1, words);
    return i;
}

/* Reads one line without its newline; echo off when asked on a terminal. */
static int
s_read_line(const char *prompt, int noecho, char *buf, size_t size)
{
    struct termios old, raw;
    int tty = isatty(STDIN_FILENO), hidden = 0;
    size_t n;

    if (prompt != NULL && tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    if (noecho && tty && tcgetattr(STDIN_FILENO, &old) == 0) {
        raw = old;
        raw.c_lflag &= ~(tcflag_t)ECHO;
        hidden = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    }
    char *got = fgets(buf, (int)size, stdin);
    if (hidden) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stdout);
    }
    if (got == NULL)
        return -1;
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n + 1 == size)
        return -1; /* longer than the buffer */
    buf[n] = '\0';
    return 0;
}

static int
s_confirm(void)
{
    char line[64];

    fputs("Proceed with regeneration (yes|no)? ", stdout);
    fflush(stdout);
    if (s_read_line(NULL, 0, line, sizeof(line)) < 0)
        line[0] = '\0';
    /* A terminal echoed the answer and its newline; a pipe did not. */
    if (!isatty(STDIN_FILENO))
        fputc('\n', stdout);
    return strcmp(line, "yes") == 0;
}

static int
s_regen_usage(void)
{
    fputs("usage: set cert regen CallManager|TVS|CAPF|ITLRecovery "
          "[--state DIR] [--yes] [--now UNIXTIME]\n",
          stderr);
    return 2;
}

int
cmd_cert_regen(int argc, char **argv)
{
    static const char *const words[] = {"set", "cert", "regen", NULL};
    const char *state = CMD_DEFAULT_STATE, *name = NULL;
    time_t now = time(NULL);
    int yes = 0, rc;
    char msg[2048], *end;

    for (int i = s_skip(argc, argv, words); i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0) {
            yes = 1;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            errno = 0;
            now = (time_t)strtoll(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || argv[i][0] == '\0') {
                fprintf(stderr, "error: --now '%s' is not a unix time\n",
                        argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && name == NULL) {
            name = argv[i];
        } else {
            return s_regen_usage();
        }
    }
    if (name == NULL)
        return s_regen_usage();

    printf("Regenerating the %s certificate of the node in %s.\n", name, state);
    if (!yes && !s_confirm()) {
        printf("Regeneration cancelled; nothing was changed.\n");
        return 1;
    }
    rc = node_regen(state, name, now, msg, sizeof(msg));
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return 1;
    }
    fputs(msg, stdout);
    return 0;
}

static int
s_init_usage(void)
{
    fputs("usage: node init --state DIR --host NAME "
          "(--publisher|--subscriber) [--ou X] [--o X] [--l X] [--st X] "
          "[--c XX] [--bits N] [--password-stdin]\n",
          stderr);
    return 2;
}

/* Asks for a password; on a terminal twice, to catch a typing mistake. */
static int
s_password(const char *what, int from_stdin, char *buf, size_t size)
{
    char again[LINE_MAX_LEN], prompt[128];
    int rc = 0;

    snprintf(prompt, sizeof(prompt), "%s: ", what);
    if (s_read_line(from_stdin ? NULL : prompt, !from_stdin, buf, size) < 0) {
        fprintf(stderr, "error: no %s given\n", what);
        return -1;
    }
    if (from_stdin || !isatty(STDIN_FILENO))
        return 0;
    snprintf(prompt, sizeof(prompt), "%s (again): ", what);
    if (s_read_line(prompt, 1, again, sizeof(again)) < 0 ||
        strcmp(again, buf) != 0) {
        fprintf(stderr, "error: the two %s entries differ\n", what);
        rc = -1;
    }
    OPENSSL_cleanse(again, sizeof(again));
    return rc;
}

static int
s_init_args(int argc, char **argv, int i, node_params_t *p, const char **state,
            int *from_stdin)
{
    int role = -1;

    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--publisher") == 0 || strcmp(a, "--subscriber") == 0) {
            role = strcmp(a, "--publisher") == 0;
            continue;
        }
        if (strcmp(a, "--password-stdin") == 0) {
            *from_stdin = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--state") == 0)
            *state = v;
        else if (strcmp(a, "--host") == 0)
            p->hostname = v;
        else if (strcmp(a, "--ou") == 0)
            p->org.ou = v;
        else if (strcmp(a, "--o") == 0)
            p->org.o = v;
        else if (strcmp(a, "--l") == 0)
            p->org.l = v;
        else if (strcmp(a, "--st") == 0)
            p->org.st = v;
        else if (strcmp(a, "--c") == 0)
            p->org.c = v;
        else if (strcmp(a, "--bits") == 0)
            p->key_bits = atoi(v) != 0 ? atoi(v) : -1;
        else
            return -1;
    }
    if (role < 0 || p->hostname == NULL)
        return -1;
    p->publisher = role;
    return 0;
}

int
cmd_node_init(int argc, char **argv)
{
    static const char *const words[] = {"node", "init", NULL};
    node_params_t p = {0};
    const char *state = CMD_DEFAULT_STATE;
    char cluster[LINE_MAX_LEN] = "", admin[LINE_MAX_LEN] = "";
    int from_stdin = 0, status = 1, rc;

    if (s_init_args(argc, argv, s_skip(argc, argv, words), &p, &state,
                    &from_stdin) < 0)
        return s_init_usage();
    if (s_password("Cluster security password", from_stdin, cluster,
                   sizeof(cluster)) < 0)
        goto out;
    if (p.publisher && s_password("Administrator password", from_stdin, admin,
                                  sizeof(admin)) < 0)
        goto out;

    rc = node_init(state, &p, cluster, p.publisher ? admin : NULL);
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", err_detail());
        goto out;
    }
    printf("Initialised %s %s in %s.\n",
           p.publisher ? "publisher" : "subscriber", p.hostname, state);
    if (p.publisher)
        printf("Back up the recovery key file: file get tftp "
               "ITLRecovery.p12\n");
    status = 0;
out:
    OPENSSL_cleanse(cluster, sizeof(cluster));
    OPENSSL_cleanse(admin, sizeof(admin));
    return status;
}
