/* audit: the phones' report file and its classification (see audit.h). */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    audit_report_t *r;
    size_t cap_phones;
} s_parser_t;

static int
s_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static int PRINTF_LIKE(3, 4)
    s_bad(audit_report_t *r, size_t line, const char *fmt, ...)
{
    va_list ap;

    r->nskip++;
    if (r->nbad == AUDIT_MAX_BAD)
        return ERR_OK;
    if (r->bad == NULL) {
        r->bad = calloc(AUDIT_MAX_BAD, sizeof(*r->bad));
        if (r->bad == NULL)
            return err_set(ERR_NOMEM, "out of memory for the report");
    }
    audit_bad_t *b = &r->bad[r->nbad++];
    b->line = line;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof(b->why), fmt, ap);
    va_end(ap);
    return ERR_OK;
}

/* A field of n bytes for a message: at most 48 of them, then "...". */
static const char *
s_clip(char buf[56], const char *f, size_t n)
{
    snprintf(buf, 56, "%.*s%s", (int)(n > 48 ? 48 : n), f, n > 48 ? "..." : "");
    return buf;
}

/* A printable field for messages: controls and bytes >= 0x7f as '?'. */
static int
s_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] >= 0x7f)
            return 0;
    }
    return 1;
}

static int
s_add(s_parser_t *p, size_t line, const char *name, size_t nlen,
      const char *sha, size_t slen)
{
    audit_report_t *r = p->r;
    char c[56];
    size_t i;

    if (nlen > AUDIT_NAME_MAX)
        return s_bad(r, line,
                     "phone name '%s' is longer than %d "
                     "characters",
                     s_clip(c, name, nlen), AUDIT_NAME_MAX);
    for (i = 0; i < slen && s_hex((unsigned char)sha[i]); i++)
        ;
    if (slen != 40 || i != 40)
        return s_bad(r, line, "'%s' is not a SHA-1 (40 hex digits)",
                     s_clip(c, sha, slen));
    if (r->nphones == AUDIT_MAX_PHONES)
        return err_set(ERR_TOOBIG, "more than %d phones in the report",
                       AUDIT_MAX_PHONES);
    if (r->nphones == p->cap_phones) {
        size_t cap = p->cap_phones ? p->cap_phones * 2 : 64;
        audit_phone_t *v = realloc(r->phones, cap * sizeof(*v));
        if (v == NULL)
            return err_set(ERR_NOMEM, "out of memory for the report");
        r->phones = v;
        p->cap_phones = cap;
    }
    audit_phone_t *ph = &r->phones[r->nphones++];
    ph->line = line;
    memcpy(ph->name, name, nlen);
    ph->name[nlen] = '\0';
    for (size_t i = 0; i < 40; i++)
        ph->sha1[i] = (char)(sha[i] | 0x20); /* hex digits: lower case */
    ph->sha1[40] = '\0';
    return ERR_OK;
}

/* One line without its newline (and a trailing CR). */
static int
s_line(s_parser_t *p, size_t line, const char *s, size_t n)
{
    const char *f[3];
    size_t fl[3], nf = 0, i = 0;
    char c[56];

    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n > AUDIT_LINE_MAX)
        return s_bad(p->r, line, "line longer than %d bytes", AUDIT_LINE_MAX);
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '#') {
            n = k;
            break;
        }
    }
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        if (nf < 3) {
            f[nf] = s + start;
            fl[nf] = i - start;
        }
        nf++;
    }
    if (nf == 0)
        return ERR_OK;
    for (size_t k = 0; k < nf && k < 3; k++) {
        if (!s_printable(f[k], fl[k]))
            return s_bad(p->r, line, "not printable text");
    }
    if (nf == 1)
        return s_bad(p->r, line, "'%s' has no SHA-1 after it",
                     s_clip(c, f[0], fl[0]));
    if (nf > 2)
        return s_bad(p->r, line,
                     "expected a phone name and a SHA-1, "
                     "found %zu fields",
                     nf);
    return s_add(p, line, f[0], fl[0], f[1], fl[1]);
}

static int
s_by_name(const void *a, const void *b)
{
    const audit_phone_t *x = *(audit_phone_t *const *)a;
    const audit_phone_t *y = *(audit_phone_t *const *)b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int
s_bad_by_line(const void *a, const void *b)
{
    const audit_bad_t *x = a, *y = b;

    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * A phone named on two or more lines: the first line counts, the later
 * ones are skipped as bad lines.
 */
static int
s_dedupe(audit_report_t *r)
{
    audit_phone_t **v;
    size_t o = 0, g = 0;
    int rc = ERR_OK;

    if (r->nphones < 2)
        return ERR_OK;
    v = malloc(r->nphones * sizeof(*v));
    if (v == NULL)
        return err_set(ERR_NOMEM, "out of memory for the report");
    for (size_t i = 0; i < r->nphones; i++)
        v[i] = &r->phones[i];
    qsort(v, r->nphones, sizeof(*v), s_by_name);
    for (size_t i = 1; i < r->nphones && rc == ERR_OK; i++) {
        if (strcmp(v[i]->name, v[g]->name) != 0) {
            g = i;
            continue;
        }
        rc = s_bad(r, v[i]->line, "phone %s is already on line %zu", v[i]->name,
                   v[g]->line);
        v[i]->line = 0; /* removed below */
    }
    free(v);
    for (size_t i = 0; i < r->nphones; i++) {
        if (r->phones[i].line != 0)
            r->phones[o++] = r->phones[i];
    }
    r->nphones = o;
    if (r->nbad > 1)
        qsort(r->bad, r->nbad, sizeof(*r->bad), s_bad_by_line);
    return rc;
}

int
audit_parse(const uint8_t *buf, size_t len, audit_report_t *out)
{
    s_parser_t p = {out, 0};
    const char *s = (const char *)buf;
    size_t line = 0, start = 0;
    int rc = ERR_OK;

    memset(out, 0, sizeof(*out));
    if (len > AUDIT_MAX_BYTES)
        return err_set(ERR_TOOBIG,
                       "the report is %zu bytes; the limit is "
                       "%d",
                       len, AUDIT_MAX_BYTES);
    while (start < len && rc == ERR_OK) {
        const char *nl = memchr(s + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - s) : len;
        rc = s_line(&p, ++line, s + start, end - start);
        start = end + 1;
    }
    if (rc == ERR_OK)
        rc = s_dedupe(out);
    if (rc != ERR_OK)
        audit_report_clear(out);
    return rc;
}

void
audit_report_clear(audit_report_t *r)
{
    free(r->phones);
    free(r->bad);
    memset(r, 0, sizeof(*r));
}

int
audit_itl_parse(const char *line, audit_itl_t *out)
{
    char rec[8];
    int off = 0;

    memset(out, 0, sizeof(*out));
    if (sscanf(line, "%40[0-9a-f]\t%63[^\t]\t%7[a-z]\t%lld\t%lld\t%n",
               out->sha1, out->node, rec, &out->first, &out->last, &off) != 5 ||
        off == 0 || strlen(out->sha1) != 40)
        return err_set(ERR_FORMAT,
                       "bad ITL history line from the "
                       "publisher: '%.80s'",
                       line);
    if (strcmp(rec, "yes") == 0)
        out->recovery = AUDIT_REC_YES;
    else if (strcmp(rec, "old") == 0)
        out->recovery = AUDIT_REC_OLD;
    else if (strcmp(rec, "no") == 0)
        out->recovery = AUDIT_REC_NO;
    else
        return err_set(ERR_FORMAT,
                       "bad recovery state '%s' in the ITL "
                       "history",
                       rec);
    snprintf(out->signer, sizeof(out->signer), "%s", line + off);
    return ERR_OK;
}

int
audit_classify(const audit_itl_t *known, size_t n, const char *sha1,
               const audit_itl_t **match)
{
    const audit_itl_t *found = NULL;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(known[i].sha1, sha1) != 0)
            continue;
        if (found == NULL || (known[i].recovery == AUDIT_REC_YES &&
                              found->recovery != AUDIT_REC_YES))
            found = &known[i];
    }
    if (match != NULL)
        *match = found;
    if (found == NULL)
        return AUDIT_UNKNOWN;
    return found->recovery == AUDIT_REC_YES ? AUDIT_RECOVERABLE
                                            : AUDIT_NO_RECOVERY;
}
