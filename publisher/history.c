/*
 * The publisher's ITL history: every ITL any node has served (SHA-1, node,
 * signer, the ITLRecovery certificate it holds, first and last time seen)
 * and, per node, the ITL it serves now and since when. Fed by the
 * subscribers' registrations and heartbeats and by the publisher's own
 * TFTP node; kept in STATE/history (see docs/AUDIT.md for the format).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "itl.h"
#include "log.h"
#include "prompt.h"
#include "publisher.h"

#define HISTORY_FILE      "history"
#define HISTORY_FLUSH_S   60
#define HISTORY_MAX_BYTES (4 * 1024 * 1024)

struct pub_history {
    hist_entry_t *e;
    size_t n;
    hist_current_t *cur;
    size_t ncur;
    int dirty;
    long long flushed;
    char path[300];
};

/* Keeps printable ASCII; anything else (and space-only) becomes '?'. */
static void
s_clean(char *dst, size_t size, const char *src)
{
    size_t i;

    for (i = 0; src != NULL && src[i] != '\0' && i + 1 < size; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    dst[i] = '\0';
}

static int
s_is_sha1(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return i == 40;
}

static hist_current_t *
s_current(pub_history_t *h, const char *node, int create)
{
    for (size_t i = 0; i < h->ncur; i++) {
        if (strcmp(h->cur[i].node, node) == 0)
            return &h->cur[i];
    }
    if (!create || h->ncur == PUB_MAX_MEMBERS + 1)
        return NULL;
    hist_current_t *c = &h->cur[h->ncur++];
    memset(c, 0, sizeof(*c));
    snprintf(c->node, sizeof(c->node), "%s", node);
    return c;
}

static hist_entry_t *
s_find(pub_history_t *h, const char *sha1, const char *node)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->e[i].sha1, sha1) == 0 && strcmp(h->e[i].node, node) == 0)
            return &h->e[i];
    }
    return NULL;
}

static int
s_is_current(const pub_history_t *h, const hist_entry_t *e)
{
    for (size_t i = 0; i < h->ncur; i++) {
        if (strcmp(h->cur[i].node, e->node) == 0 &&
            strcmp(h->cur[i].sha1, e->sha1) == 0)
            return 1;
    }
    return 0;
}

/*
 * A free slot. When the history is full, the entry served longest ago
 * goes, unless a node still serves it.
 */
static hist_entry_t *
s_slot(pub_history_t *h)
{
    size_t victim = h->n;

    if (h->n < PUB_HISTORY_MAX)
        return &h->e[h->n++];
    for (size_t i = 0; i < h->n; i++) {
        if (s_is_current(h, &h->e[i]))
            continue;
        if (victim == h->n || h->e[i].last < h->e[victim].last)
            victim = i;
    }
    if (victim == h->n)
        victim = 0;
    log_info("ITL history full (%d entries): forgetting %s of %s, last "
             "served %lld",
             PUB_HISTORY_MAX, h->e[victim].sha1, h->e[victim].node,
             h->e[victim].last);
    return &h->e[victim];
}

/* ---- the file ------------------------------------------------------- */

static int
s_parse_line(pub_history_t *h, char *line)
{
    hist_entry_t e;
    char rec[48], node[64], sha1[48];
    long long since;
    int off = 0;

    memset(&e, 0, sizeof(e));
    if (sscanf(line, "itl %40s %63s %42s %lld %lld %n", e.sha1, e.node, rec,
               &e.first, &e.last, &off) == 5 &&
        off > 0 && s_is_sha1(e.sha1) &&
        (strcmp(rec, "-") == 0 || s_is_sha1(rec)) && e.first <= e.last) {
        snprintf(e.recovery, sizeof(e.recovery), "%.40s",
                 strcmp(rec, "-") == 0 ? "" : rec);
        s_clean(e.signer, sizeof(e.signer),
                strcmp(line + off, "-") == 0 ? "" : line + off);
        if (s_find(h, e.sha1, e.node) != NULL)
            return -1;
        *s_slot(h) = e;
        return 0;
    }
    if (sscanf(line, "node %63s %42s %lld", node, sha1, &since) == 3 &&
        s_is_sha1(sha1)) {
        hist_current_t *c = s_current(h, node, 1);
        if (c == NULL)
            return -1;
        snprintf(c->sha1, sizeof(c->sha1), "%.40s", sha1);
        c->since = since;
        return 0;
    }
    return -1;
}

static void
s_load(pub_history_t *h)
{
    uint8_t *buf = NULL;
    size_t len, lineno = 0;
    char *line, *save = NULL;
    int rc;

    rc = fs_read_file(h->path, HISTORY_MAX_BYTES, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return;
    if (rc != ERR_OK) {
        log_warning("cannot read the ITL history: %s; starting an empty "
                    "one",
                    err_detail());
        return;
    }
    /* fs_read_file leaves room for a terminating NUL. */
    buf[len] = '\0';
    for (line = strtok_r((char *)buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (s_parse_line(h, line) < 0)
            log_warning("%s line %zu is damaged or repeated; skipped", h->path,
                        lineno);
    }
    free(buf);
}

static void
s_flush(pub_history_t *h)
{
    size_t cap = 128 + h->n * 320 + h->ncur * 128, used = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        return;
    used += (size_t)snprintf(buf, cap,
                             "# ITL history of the publisher: itl SHA1 "
                             "NODE RECOVERY FIRST LAST SIGNER; node NODE "
                             "SHA1 SINCE\n");
    for (size_t i = 0; i < h->n && used < cap; i++) {
        const hist_entry_t *e = &h->e[i];
        used += (size_t)snprintf(
            buf + used, cap - used, "itl %s %s %s %lld %lld %s\n", e->sha1,
            e->node, e->recovery[0] ? e->recovery : "-", e->first, e->last,
            e->signer[0] ? e->signer : "-");
    }
    for (size_t i = 0; i < h->ncur && used < cap; i++)
        used +=
            (size_t)snprintf(buf + used, cap - used, "node %s %s %lld\n",
                             h->cur[i].node, h->cur[i].sha1, h->cur[i].since);
    if (used >= cap)
        log_err("the ITL history does not fit its buffer; not saved");
    else if (fs_write_durable(h->path, buf, used, 0600, 0) != ERR_OK)
        log_warning("cannot save the ITL history: %s", err_detail());
    else
        h->dirty = 0;
    h->flushed = time_mono_ms();
    free(buf);
}

/* ---- public ------------------------------------------------------------- */

int
pub_history_load(pub_t *p)
{
    pub_history_t *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return err_set(ERR_NOMEM, "out of memory for the ITL history");
    h->e = calloc(PUB_HISTORY_MAX, sizeof(*h->e));
    h->cur = calloc(PUB_MAX_MEMBERS + 1, sizeof(*h->cur));
    if (h->e == NULL || h->cur == NULL) {
        free(h->e);
        free(h->cur);
        free(h);
        return err_set(ERR_NOMEM, "out of memory for the ITL history");
    }
    config_state_path(&p->cfg, HISTORY_FILE, h->path, sizeof(h->path));
    s_load(h);
    h->flushed = time_mono_ms();
    p->history = h;
    log_info("ITL history: %zu ITLs of %zu nodes from %s", h->n, h->ncur,
             h->path);
    return ERR_OK;
}

void
pub_history_seen(pub_t *p, const char *node, const char *sha1,
                 const char *signer, const char *recovery)
{
    pub_history_t *h = p->history;
    long long now = (long long)time(NULL);
    hist_current_t *c;
    hist_entry_t *e;
    int urgent = 0;

    if (h == NULL || sha1 == NULL || !s_is_sha1(sha1))
        return;
    if (recovery != NULL && recovery[0] != '\0' && !s_is_sha1(recovery))
        recovery = NULL;
    c = s_current(h, node, 1);
    if (c != NULL && strcmp(c->sha1, sha1) != 0) {
        snprintf(c->sha1, sizeof(c->sha1), "%s", sha1);
        c->since = now;
        urgent = 1;
    }
    e = s_find(h, sha1, node);
    if (e == NULL) {
        e = s_slot(h);
        memset(e, 0, sizeof(*e));
        snprintf(e->sha1, sizeof(e->sha1), "%s", sha1);
        snprintf(e->node, sizeof(e->node), "%s", node);
        e->first = now;
        urgent = 1;
        log_info("ITL history: %s serves %s (ITLRecovery %s)", node, sha1,
                 recovery && recovery[0] ? recovery : "none");
    }
    e->last = now;
    if (signer != NULL && e->signer[0] == '\0')
        s_clean(e->signer, sizeof(e->signer), signer);
    if (recovery != NULL && strcmp(e->recovery, recovery) != 0) {
        snprintf(e->recovery, sizeof(e->recovery), "%s", recovery);
        urgent = 1;
    }
    h->dirty = 1;
    if (urgent || time_mono_ms() - h->flushed >= HISTORY_FLUSH_S * 1000)
        s_flush(h);
}

void
pub_history_free(pub_t *p)
{
    pub_history_t *h = p->history;

    if (h == NULL)
        return;
    if (h->dirty)
        s_flush(h);
    free(h->e);
    free(h->cur);
    free(h);
    p->history = NULL;
}

size_t
pub_history_count(const pub_t *p)
{
    return p->history ? p->history->n : 0;
}

const hist_entry_t *
pub_history_entry(const pub_t *p, size_t i)
{
    return p->history && i < p->history->n ? &p->history->e[i] : NULL;
}

const hist_entry_t *
pub_history_find(const pub_t *p, const char *sha1, const char *node)
{
    if (p->history == NULL)
        return NULL;
    return s_find(p->history, sha1, node);
}

long long
pub_history_since(const pub_t *p, const char *node)
{
    const hist_current_t *c =
        p->history ? s_current(p->history, node, 0) : NULL;

    return c ? c->since : 0;
}

void
pub_recovery_sha1(const pub_t *p, char out[41])
{
    char md5[33];

    out[0] = '\0';
    if (p->certset != NULL && p->certset->recovery_der.len > 0)
        itl_checksums(p->certset->recovery_der.data,
                      p->certset->recovery_der.len, md5, out);
}

const char *
pub_recovery_state(const pub_t *p, const char *recovery)
{
    char cur[41];

    if (recovery == NULL || recovery[0] == '\0')
        return "no";
    pub_recovery_sha1(p, cur);
    return strcmp(cur, recovery) == 0 ? "yes" : "old";
}
