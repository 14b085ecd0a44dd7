/*
 * utils itl audit --reports FILE: which phones a bulk ITL reset can
 * recover. The report file is read and checked here (shared/audit.h); the
 * publisher's agent answers with its ITL history (one line per ITL a node
 * served), and the phones are sorted against it here, so a report of any
 * size costs the agent one short answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adminsock.h"
#include "audit.h"
#include "commands.h"
#include "fsutil.h"

#define AUDIT_TIMEOUT_MS 30000

typedef struct {
    audit_itl_t *v;
    size_t n, cap;
    int bad;
} s_known_t;

typedef struct {
    const char *reports, *socket, *config;
    int json;
} s_opts_t;

static void
s_collect(void *arg, const char *line)
{
    s_known_t *k = arg;
    audit_itl_t e;

    if (audit_itl_parse(line, &e) != ERR_OK) {
        k->bad = 1;
        return;
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        audit_itl_t *v = realloc(k->v, cap * sizeof(*v));
        if (v == NULL) {
            k->bad = 1;
            return;
        }
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = e;
}

static int
s_parse_opts(int argc, char **argv, s_opts_t *o)
{
    static const struct option longs[] = {
        {"reports", required_argument, NULL, 'r'},
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->reports = optarg;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        default:
            return -1;
        }
    }
    return optind < argc || o->reports == NULL ? -1 : 0;
}

/* The nodes that served sha1, comma-separated. */
static void
s_nodes(const s_known_t *k, const char *sha1, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < k->n && used + 1 < size; i++) {
        if (strcmp(k->v[i].sha1, sha1) == 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                     used ? "," : "", k->v[i].node);
    }
}

static void
s_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static const char *const s_titles[] = {
    "Recoverable by a reset: the ITL they hold has the cluster's "
    "ITLRecovery certificate",
    "Not recoverable by a reset: the ITL they hold has no ITLRecovery "
    "certificate of this cluster",
    "Not recoverable by a reset: no node of this cluster served the ITL "
    "they hold"};

static const char *const s_keys[] = {"recoverable", "no_recovery", "unknown"};

static void
s_print_text(const audit_report_t *r, const s_known_t *k, const int *cls,
             const size_t *count)
{
    char nodes[512];
    const audit_itl_t *m;

    for (int c = 0; c < 3; c++) {
        printf("%s (%zu):\n", s_titles[c], count[c]);
        for (size_t i = 0; i < r->nphones; i++) {
            const audit_phone_t *p = &r->phones[i];
            if (cls[i] != c)
                continue;
            if (c == AUDIT_UNKNOWN) {
                printf("  %-16s %s\n", p->name, p->sha1);
                continue;
            }
            (void)audit_classify(k->v, k->n, p->sha1, &m);
            s_nodes(k, p->sha1, nodes, sizeof(nodes));
            printf("  %-16s %s  served by %s%s\n", p->name, p->sha1, nodes,
                   m->recovery == AUDIT_REC_OLD
                       ? " (holds an older ITLRecovery certificate)"
                       : "");
        }
    }
    printf("%zu phones: %zu recoverable by a reset, %zu without the "
           "ITLRecovery certificate, %zu with an unknown ITL; %zu lines "
           "skipped\n",
           r->nphones, count[0], count[1], count[2], r->nskip);
}

static void
s_print_json(const audit_report_t *r, const s_known_t *k, const int *cls,
             int all)
{
    printf("{");
    for (int c = 0; c < 3; c++) {
        int first = 1;
        printf("\"%s\": [", s_keys[c]);
        for (size_t i = 0; i < r->nphones; i++) {
            const audit_phone_t *p = &r->phones[i];
            if (cls[i] != c)
                continue;
            printf("%s{\"name\": ", first ? "" : ", ");
            s_json_str(stdout, p->name);
            printf(", \"sha1\": \"%s\", \"line\": %zu, \"nodes\": [", p->sha1,
                   p->line);
            for (size_t j = 0, n = 0; j < k->n; j++) {
                if (strcmp(k->v[j].sha1, p->sha1) != 0)
                    continue;
                printf("%s", n++ ? ", " : "");
                s_json_str(stdout, k->v[j].node);
            }
            printf("]}");
            first = 0;
        }
        printf("], ");
    }
    printf("\"skipped\": [");
    for (size_t i = 0; i < r->nbad; i++) {
        printf("%s{\"line\": %zu, \"reason\": ", i ? ", " : "", r->bad[i].line);
        s_json_str(stdout, r->bad[i].why);
        printf("}");
    }
    printf("], \"skipped_count\": %zu, \"all_recoverable\": %s}\n", r->nskip,
           all ? "true" : "false");
}

static int
s_history(const s_opts_t *o, s_known_t *k)
{
    char sock[300];
    char *q[] = {"itl-history"};
    int rc;

    if (cmd_agent_socket(o->socket, o->config, sock, sizeof(sock)) < 0)
        return CMD_EXIT_ERROR;
    rc = adminsock_query_lines(sock, 1, q, AUDIT_TIMEOUT_MS, s_collect, k);
    if (rc != 0)
        return CMD_EXIT_ERROR; /* the agent said why (not a publisher) */
    if (k->bad) {
        fprintf(stderr,
                "itl-admin: the agent's ITL history could not be "
                "read (%s)\n",
                err_detail());
        return CMD_EXIT_ERROR;
    }
    return 0;
}

int
cmd_itl_audit(int argc, char **argv)
{
    s_opts_t o;
    s_known_t k = {NULL, 0, 0, 0};
    audit_report_t r = {0};
    uint8_t *buf = NULL;
    size_t len, count[3] = {0, 0, 0};
    int *cls = NULL, rc, all;

    if (s_parse_opts(argc, argv, &o) < 0)
        return cmd_usage("utils itl audit");
    rc = fs_read_file(o.reports, AUDIT_MAX_BYTES, &buf, &len);
    if (rc == ERR_OK)
        rc = audit_parse(buf, len, &r);
    free(buf);
    if (rc != ERR_OK) {
        fprintf(stderr, "itl-admin: %s: %s\n", o.reports, err_detail());
        return CMD_EXIT_ERROR;
    }
    for (size_t i = 0; i < r.nbad; i++)
        fprintf(stderr, "itl-admin: %s line %zu: %s; line skipped\n", o.reports,
                r.bad[i].line, r.bad[i].why);
    if (r.nskip > r.nbad)
        fprintf(stderr, "itl-admin: %s: %zu more bad lines skipped\n",
                o.reports, r.nskip - r.nbad);
    if (r.nphones == 0) {
        /* An empty export must not read as "every phone is fine". */
        fprintf(stderr,
                "itl-admin: %s lists no phone (one line per phone: "
                "NAME SHA1); nothing was checked\n",
                o.reports);
        rc = CMD_EXIT_ERROR;
        goto out;
    }
    rc = s_history(&o, &k);
    if (rc == 0 &&
        (cls = calloc(r.nphones ? r.nphones : 1, sizeof(*cls))) == NULL) {
        fprintf(stderr, "itl-admin: out of memory\n");
        rc = CMD_EXIT_ERROR;
    }
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < r.nphones; i++) {
        cls[i] = audit_classify(k.v, k.n, r.phones[i].sha1, NULL);
        count[cls[i]]++;
    }
    /* A skipped line is a phone nobody checked: not known to be safe. */
    all = count[1] == 0 && count[2] == 0 && r.nskip == 0;
    if (o.json)
        s_print_json(&r, &k, cls, all);
    else
        s_print_text(&r, &k, cls, count);
    rc = all ? CMD_EXIT_OK : CMD_EXIT_NO;
out:
    free(cls);
    free(k.v);
    audit_report_clear(&r);
    return rc;
}
