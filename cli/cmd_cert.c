#include "cmd_cert.h"
#include "commands.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "adminsock.h"
#include "err.h"
#include "fsutil.h"
#include "itl.h"
#include "node.h"
#include "prompt.h"

#define LINE_MAX_LEN 1024

/* Reads one line of standard input without its newline. */
static int
s_read_line(char *buf, size_t size)
{
    size_t n;

    if (fgets(buf, (int)size, stdin) == NULL)
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
    if (s_read_line(line, sizeof(line)) < 0)
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
          "[--state DIR | --config FILE] [--yes] [--now UNIXTIME]\n",
          stderr);
    return CMD_EXIT_ERROR;
}

/*
 * Without --state: the node's agent regenerates, so that it can hand the
 * new certificate to the cluster at once (the test clock goes with it).
 */
static int
s_regen_agent(const char *name, const char *config, const char *now, int yes)
{
    char sock[300];
    char *v[] = {"set", "cert", "regen", (char *)name, "--now", (char *)now};
    char *check[] = {"set",          "cert",  "regen",    (char *)name,
                     "--check-only", "--now", (char *)now};
    int rc;

    if (cmd_agent_socket(NULL, config, sock, sizeof(sock)) < 0)
        return CMD_EXIT_ERROR;
    /* The agent checks the name and the hold timer before anyone is asked
     * to confirm. */
    rc = adminsock_call(sock, now ? 7 : 5, check, NULL, 0, 15000);
    if (rc != 0)
        return rc;
    printf("Regenerating the %s certificate of this node (through its "
           "agent).\n",
           name);
    if (!yes && !s_confirm()) {
        printf("Regeneration cancelled; nothing was changed.\n");
        return CMD_EXIT_NO;
    }
    fflush(stdout);
    return adminsock_call(sock, now ? 6 : 4, v, NULL, 0, 60000);
}

int
cmd_cert_regen(int argc, char **argv)
{
    const char *state = NULL, *name = NULL, *config = NULL;
    const char *now_arg = NULL;
    time_t now = time(NULL);
    int yes = 0, rc;
    char msg[2048], *end;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0) {
            yes = 1;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            now_arg = argv[++i];
            errno = 0;
            now = (time_t)strtoll(now_arg, &end, 10);
            /* Digits only: no sign, no space, nothing before 1970. */
            if (errno != 0 || *end != '\0' ||
                strspn(now_arg, "0123456789") != strlen(now_arg) ||
                now_arg[0] == '\0') {
                fprintf(stderr,
                        "error: --now '%s' is not a unix time (whole "
                        "seconds since 1970, 0 or more)\n",
                        now_arg);
                return CMD_EXIT_ERROR;
            }
        } else if (argv[i][0] != '-' && name == NULL) {
            name = argv[i];
        } else {
            return s_regen_usage();
        }
    }
    if (name == NULL || (state != NULL && config != NULL))
        return s_regen_usage();
    /* Refused before the question: a bad name, a role without that
     * certificate, or the hold timer (the agent checks those it knows). */
    rc = node_regen_check(state, name, now, msg, sizeof(msg));
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return rc == ERR_HOLD ? CMD_EXIT_NO : CMD_EXIT_ERROR;
    }
    if (state == NULL)
        return s_regen_agent(name, config, now_arg, yes);

    printf("Regenerating the %s certificate of the node in %s.\n", name, state);
    if (!yes && !s_confirm()) {
        printf("Regeneration cancelled; nothing was changed.\n");
        return CMD_EXIT_NO;
    }
    rc = node_regen(state, name, now, msg, sizeof(msg));
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return rc == ERR_HOLD ? CMD_EXIT_NO : CMD_EXIT_ERROR;
    }
    fputs(msg, stdout);
    return CMD_EXIT_OK;
}

static int
s_init_usage(void)
{
    fputs("usage: node init --state DIR --host NAME "
          "(--publisher|--subscriber) [--ou X] [--o X] [--l X] [--st X] "
          "[--c XX] [--bits N] [--password-stdin]\n",
          stderr);
    return CMD_EXIT_ERROR;
}

/*
 * Asks for a password; on a terminal twice, to catch a typing mistake, with
 * echo off (prompt_password gives the terminal back on ^C). A pipe on
 * standard input is read as with --password-stdin.
 */
static int
s_password(const char *what, int from_stdin, char *buf, size_t size)
{
    char again[LINE_MAX_LEN], prompt[128];
    int piped = from_stdin || !isatty(STDIN_FILENO), rc = 0;

    snprintf(prompt, sizeof(prompt), "%s: ", what);
    if (prompt_password(prompt, piped, buf, size) != ERR_OK) {
        fprintf(stderr, "error: %s: %s\n", what, err_detail());
        return -1;
    }
    if (piped)
        return 0;
    snprintf(prompt, sizeof(prompt), "%s (again): ", what);
    if (prompt_password(prompt, 0, again, sizeof(again)) != ERR_OK ||
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
    node_params_t p = {0};
    const char *state = CMD_DEFAULT_STATE;
    char cluster[LINE_MAX_LEN] = "", admin[LINE_MAX_LEN] = "";
    int from_stdin = 0, status = CMD_EXIT_ERROR, rc;

    if (s_init_args(argc, argv, 1, &p, &state, &from_stdin) < 0)
        return s_init_usage();
    /* Refused before the passwords are asked for, and again by node_init. */
    if (node_init_check(state) != ERR_OK) {
        fprintf(stderr, "error: %s\n", err_detail());
        goto out;
    }
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
    status = CMD_EXIT_OK;
out:
    OPENSSL_cleanse(cluster, sizeof(cluster));
    OPENSSL_cleanse(admin, sizeof(admin));
    return status;
}

static int
s_itl_args(int argc, char **argv, const char **state, const char **out,
           int *digest, uint32_t *ts)
{
    char *end;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--state") == 0) {
            *state = v;
        } else if (strcmp(a, "--out") == 0) {
            *out = v;
        } else if (strcmp(a, "--digest") == 0) {
            if (strcmp(v, "sha1") == 0)
                *digest = ITL_DIGEST_SHA1;
            else if (strcmp(v, "sha512") == 0)
                *digest = ITL_DIGEST_SHA512;
            else
                return -1;
        } else if (strcmp(a, "--timestamp") == 0) {
            errno = 0;
            unsigned long long t = strtoull(v, &end, 10);
            if (errno != 0 || *end != '\0' || v[0] == '\0' || t > UINT32_MAX)
                return -1;
            *ts = (uint32_t)t;
        } else {
            return -1;
        }
    }
    return *out != NULL ? 0 : -1;
}

int
cmd_node_itl(int argc, char **argv)
{
    const char *state = CMD_DEFAULT_STATE, *out = NULL;
    int digest = ITL_DIGEST_SHA1, rc;
    uint32_t ts = (uint32_t)time(NULL);
    itl_file_t *f = NULL;
    const uint8_t *bytes;
    size_t len;

    if (s_itl_args(argc, argv, &state, &out, &digest, &ts) < 0)
        return cmd_usage("node itl");
    rc = node_build_itl(state, NULL, digest, ts, &f);
    if (rc == ERR_OK) {
        bytes = itl_file_bytes(f, &len);
        rc = fs_write_durable(out, bytes, len, 0644, 1);
    }
    itl_file_destroy(&f);
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", err_detail());
        return CMD_EXIT_ERROR;
    }
    printf("Wrote %s (%zu bytes).\n", out, len);
    return CMD_EXIT_OK;
}
