#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "itl.h"
#include "log.h"
#include "publisher.h"

static void
s_path(const char *state, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/jobs/%s", state, name);
}

static int
s_append(const char *state, const char *text, int sync)
{
    char path[400];
    int fd, rc = ERR_OK;
    size_t len = strlen(text);

    s_path(state, "current.log", path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (write(fd, text, len) != (ssize_t)len || (sync && fsync(fd) < 0))
        rc = err_set(ERR_IO, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static void
s_remove_old_itls(const char *state, uint64_t keep)
{
    char dir[400], path[700], name[64];
    DIR *d;
    struct dirent *e;

    snprintf(name, sizeof(name), "%" PRIu64 ".tlv", keep);
    snprintf(dir, sizeof(dir), "%s/jobs", state);
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tlv") == 0 &&
            strcmp(e->d_name, name) != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int
journal_start(const char *state, uint64_t id, uint32_t ts, const char *sha1,
              const uint8_t *itl, size_t len, const char *const *hosts,
              size_t nhosts)
{
    char path[400], name[64];
    char *text;
    size_t cap = 128 + nhosts * 72, used;
    int rc;

    snprintf(path, sizeof(path), "%s/jobs", state);
    if ((rc = fs_mkdir_p(path, 0700)) != ERR_OK)
        return rc;
    snprintf(name, sizeof(name), "%" PRIu64 ".tlv", id);
    s_path(state, name, path, sizeof(path));
    if ((rc = fs_write_durable(path, itl, len, 0644, 0)) != ERR_OK)
        return rc;
    s_remove_old_itls(state, id);

    text = malloc(cap);
    if (text == NULL)
        return err_set(ERR_NOMEM, "out of memory writing the job journal");
    used = (size_t)snprintf(text, cap, "job %" PRIu64 " %u %s\n", id, ts, sha1);
    for (size_t i = 0; i < nhosts; i++)
        used +=
            (size_t)snprintf(text + used, cap - used, "node %s\n", hosts[i]);
    /* Only the last job matters: each job starts the file anew. */
    s_path(state, "current.log", path, sizeof(path));
    rc = fs_write_durable(path, text, used, 0644, 0);
    free(text);
    return rc;
}

void
journal_step(const char *state, const char *host, int restarted)
{
    char line[128];

    snprintf(line, sizeof(line), "step %s %s\n", host,
             restarted ? "restarted" : "failed");
    if (s_append(state, line, 0) != ERR_OK)
        log_warning("%s", err_detail());
}

void
journal_done(const char *state, int complete)
{
    if (s_append(state, complete ? "done complete\n" : "done incomplete\n",
                 1) != ERR_OK)
        log_warning("%s", err_detail());
}

static int
s_node(journal_job_t *job, const char *host)
{
    for (size_t i = 0; i < job->nnodes; i++) {
        if (strcmp(job->nodes[i].host, host) == 0)
            return (int)i;
    }
    return -1;
}

/* One line of the journal into job; -1 when it is not understood. */
static int
s_line(journal_job_t *job, const char *line)
{
    char host[64], word[16], sha1[41];
    uint64_t id;
    unsigned ts;
    int i;

    if (sscanf(line, "job %" SCNu64 " %u %40s", &id, &ts, sha1) == 3) {
        job->id = id;
        job->timestamp = ts;
        memcpy(job->sha1, sha1, sizeof(sha1));
        job->nnodes = 0;
        job->ended = job->complete = 0;
        return 0;
    }
    if (sscanf(line, "node %63s", host) == 1) {
        if (job->nnodes == JOURNAL_MAX_NODES)
            return -1;
        snprintf(job->nodes[job->nnodes].host, 64, "%s", host);
        job->nodes[job->nnodes++].state = JN_SENT;
        return 0;
    }
    if (sscanf(line, "step %63s %15s", host, word) == 2) {
        if ((i = s_node(job, host)) < 0)
            return -1;
        job->nodes[i].state =
            strcmp(word, "restarted") == 0 ? JN_RESTARTED : JN_FAILED;
        return 0;
    }
    if (sscanf(line, "done %15s", word) == 1) {
        job->ended = 1;
        job->complete = strcmp(word, "complete") == 0;
        return 0;
    }
    return -1;
}

int
journal_last(const char *state, journal_job_t *job)
{
    char path[400], line[256];
    FILE *f;
    int lineno = 0, rc = ERR_OK;

    memset(job, 0, sizeof(*job));
    s_path(state, "current.log", path, sizeof(path));
    f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? ERR_OK
                               : err_set(ERR_IO, "cannot read %s: %s", path,
                                         strerror(errno));
    job->nodes = calloc(JOURNAL_MAX_NODES, sizeof(*job->nodes));
    if (job->nodes == NULL) {
        fclose(f);
        return err_set(ERR_NOMEM, "out of memory reading %s", path);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        /* A torn last line of a crash is not damage, only a lost step. */
        if (strchr(line, '\n') == NULL && feof(f))
            break;
        if (s_line(job, line) < 0) {
            rc = err_set(ERR_FORMAT, "%s:%d: not a journal line", path, lineno);
            break;
        }
    }
    fclose(f);
    return rc;
}

int
journal_itl(const char *state, uint64_t id, uint8_t **buf, size_t *len)
{
    char path[400], name[64];

    snprintf(name, sizeof(name), "%" PRIu64 ".tlv", id);
    s_path(state, name, path, sizeof(path));
    return fs_read_file(path, ITL_MAX_FILE, buf, len);
}
