/*
 * itl-phone: a simulated IP phone (and a fleet of them) that downloads
 * ITLFile.tlv by TFTP and applies the phones' trust rules.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "log.h"
#include "phone.h"

#define S_MAX_SERVERS        64
#define S_DEFAULT_TIMEOUT_MS 5000
#define S_DEFAULT_PARALLEL   64

static void
s_usage(FILE *f)
{
    fputs("usage:\n"
          "  itl-phone boot --name SEPxxxxxxxxxxxx --state DIR\n"
          "                 --server HOST[:PORT] [--tvs HOST[:PORT]]\n"
          "                 [--timeout MS] [--json]\n"
          "  itl-phone fleet --count N --state-root DIR --server HOST[:PORT]\n"
          "                 [--server ...] [--timeout MS] [--parallel N]\n"
          "                 [--verbose]\n"
          "  itl-phone status --state DIR [--json]\n"
          "exit status: 0 accepted, 1 refused (Trust List Update Failed),\n"
          "2 download failed or bad arguments\n"
          "The TVS (asked about signers the held ITL does not list) is the\n"
          "TFTP server's host, port 2445, unless --tvs says otherwise.\n",
          f);
}

/* Parses a decimal integer in [min, max]; -1 when it is not one. */
static long
s_number(const char *s, long min, long max)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return -1;
    v = strtol(s, &end, 10);
    return (*end != '\0' || v < min || v > max) ? -1 : v;
}

/*
 * Splits HOST[:PORT] or [V6]:PORT in place (spec is modified). Port 69
 * when absent. Returns ERR_OK or ERR_ARG; the message quotes the whole
 * argument as given.
 */
static int
s_parse_server(char *spec, fleet_server_t *out)
{
    char given[128], *colon, *close;
    long port = 69;

    snprintf(given, sizeof(given), "%.100s", spec);
    if (spec[0] == '[') {
        close = strchr(spec, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return err_set(ERR_ARG,
                           "bad server \"%s\": expected HOST, "
                           "HOST:PORT or [IPV6]:PORT",
                           given);
        *close = '\0';
        out->host = spec + 1;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(spec, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            colon = NULL; /* a bare IPv6 address */
        out->host = spec;
    }
    if (colon != NULL) {
        *colon = '\0';
        port = s_number(colon + 1, 1, 65535);
        if (port < 0 && colon[1] != '\0' &&
            strspn(colon + 1, "0123456789") == strlen(colon + 1))
            return err_set(ERR_ARG,
                           "bad server \"%s\": port %.20s is out "
                           "of range (1 to 65535)",
                           given, colon + 1);
        if (port < 0)
            return err_set(ERR_ARG,
                           "bad server \"%s\": port \"%.20s\" is "
                           "not a number from 1 to 65535",
                           given, colon + 1);
    }
    if (out->host[0] == '\0')
        return err_set(ERR_ARG, "bad server \"%s\": no host", given);
    out->port = (int)port;
    return ERR_OK;
}

static int
s_cmd_boot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"state", required_argument, NULL, 's'},
        {"server", required_argument, NULL, 'S'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"tvs", required_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    phone_cfg_t cfg = {.timeout_ms = S_DEFAULT_TIMEOUT_MS};
    fleet_server_t srv = {0}, tvs = {0};
    phone_result_t res;
    const char *colon;
    int c, json = 0;
    long v;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            cfg.name = optarg;
            break;
        case 's':
            cfg.state = optarg;
            break;
        case 'S':
            if (s_parse_server(optarg, &srv) != ERR_OK) {
                fprintf(stderr, "itl-phone: %s\n", err_detail());
                return PHONE_FAILED;
            }
            break;
        case 't':
            v = s_number(optarg, 1, INT_MAX);
            if (v < 0) {
                fprintf(stderr,
                        "itl-phone: --timeout wants milliseconds, "
                        "not \"%.40s\"\n",
                        optarg);
                return PHONE_FAILED;
            }
            cfg.timeout_ms = (int)v;
            break;
        case 'j':
            json = 1;
            break;
        case 'V':
            /* Without a port, s_parse_server says TFTP's 69: use 2445. */
            colon = strrchr(optarg, ':');
            v = optarg[0] == '['
                    ? strstr(optarg, "]:") != NULL
                    : colon != NULL && colon == strchr(optarg, ':');
            if (s_parse_server(optarg, &tvs) != ERR_OK) {
                fprintf(stderr, "itl-phone: --tvs: %s\n", err_detail());
                return PHONE_FAILED;
            }
            if (!v)
                tvs.port = 0;
            break;
        default:
            s_usage(stderr);
            return PHONE_FAILED;
        }
    }
    if (!phone_name_valid(cfg.name) || cfg.state == NULL || srv.host == NULL) {
        fprintf(stderr, "itl-phone boot: --name SEP and 12 hex digits, "
                        "--state and --server are required\n");
        return PHONE_FAILED;
    }
    cfg.host = srv.host;
    cfg.port = srv.port;
    cfg.tvs_host = tvs.host;
    cfg.tvs_port = tvs.port;
    phone_boot(&cfg, &res);
    if (json)
        phone_print_json(&res, cfg.name, stdout);
    else
        printf("%s\n", res.line);
    return res.status;
}

static int
s_fleet_args(int argc, char **argv, fleet_cfg_t *cfg, fleet_server_t *srv)
{
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'c'},
        {"state-root", required_argument, NULL, 'r'},
        {"server", required_argument, NULL, 'S'},
        {"timeout", required_argument, NULL, 't'},
        {"parallel", required_argument, NULL, 'p'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0}};
    int c;
    long v;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        v = optarg ? s_number(optarg, 1, INT_MAX) : 0;
        switch (c) {
        case 'c':
            cfg->count = v > 0 ? (size_t)v : 0;
            break;
        case 'r':
            cfg->state_root = optarg;
            break;
        case 't':
            cfg->timeout_ms = v > 0 ? (int)v : 0;
            break;
        case 'p':
            cfg->parallel = v > 0 ? (size_t)v : 0;
            break;
        case 'v':
            cfg->verbose = 1;
            break;
        case 'S':
            if (cfg->nservers == S_MAX_SERVERS)
                return err_set(ERR_ARG, "at most %d servers", S_MAX_SERVERS);
            if (s_parse_server(optarg, &srv[cfg->nservers]) != ERR_OK)
                return ERR_ARG;
            cfg->nservers++;
            break;
        default:
            return err_set(ERR_ARG, "unknown option");
        }
    }
    if (cfg->count == 0 || cfg->state_root == NULL || cfg->nservers == 0 ||
        cfg->timeout_ms == 0 || cfg->parallel == 0)
        return err_set(ERR_ARG, "--count N (positive), --state-root and at "
                                "least one --server are required; "
                                "--timeout and --parallel are positive");
    return ERR_OK;
}

static int
s_cmd_fleet(int argc, char **argv)
{
    fleet_server_t srv[S_MAX_SERVERS];
    fleet_cfg_t cfg = {.servers = srv,
                       .timeout_ms = S_DEFAULT_TIMEOUT_MS,
                       .parallel = S_DEFAULT_PARALLEL};
    fleet_summary_t sum;

    if (s_fleet_args(argc, argv, &cfg, srv) != ERR_OK) {
        fprintf(stderr, "itl-phone fleet: %s\n", err_detail());
        return PHONE_FAILED;
    }
    if (fleet_run(&cfg, &sum) != ERR_OK) {
        fprintf(stderr, "itl-phone fleet: %s\n", err_detail());
        return PHONE_FAILED;
    }
    printf("%zu phones: %zu accepted, %zu refused, %zu failed in %.3f s\n",
           sum.count, sum.accepted, sum.refused, sum.failed, sum.seconds);
    return sum.failed == 0 ? 0 : PHONE_FAILED;
}

static int
s_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    const char *state = NULL;
    char sha1[41], signer[256];
    int c, json = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            state = optarg;
        else if (c == 'j')
            json = 1;
        else
            return PHONE_FAILED;
    }
    if (state == NULL) {
        fprintf(stderr, "itl-phone status: --state DIR is required\n");
        return PHONE_FAILED;
    }
    if (phone_held(state, sha1, signer, sizeof(signer)) != ERR_OK) {
        fprintf(stderr, "itl-phone status: %s\n", err_detail());
        return PHONE_FAILED;
    }
    if (json) {
        fputc('{', stdout);
        phone_json_field(stdout, "held_sha1", sha1, 0);
        phone_json_field(stdout, "signer", signer, 1);
    } else if (sha1[0] == '\0')
        printf("holds no ITL\n");
    else
        printf("holds %s signed by %s\n", sha1, signer);
    return 0;
}

int
main(int argc, char **argv)
{
    log_init("itl-phone", 0, LOG_LEVEL_WARNING);
    if (argc < 2) {
        s_usage(stderr);
        return PHONE_FAILED;
    }
    /* Each command parses the arguments after its name. */
    if (strcmp(argv[1], "boot") == 0)
        return s_cmd_boot(argc - 1, argv + 1);
    if (strcmp(argv[1], "fleet") == 0)
        return s_cmd_fleet(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return s_cmd_status(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return 0;
    }
    fprintf(stderr, "itl-phone: unknown command \"%.40s\"\n", argv[1]);
    s_usage(stderr);
    return PHONE_FAILED;
}
