/*
 * journal: the publisher's record of reset jobs, so that a publisher killed
 * in the middle of a reset knows, when it starts again, which nodes
 * confirmed the job, and a rerun sends the same ITL (nodes that already
 * serve it report success without installing anything).
 *
 * STATE/jobs/current.log holds the last job, started anew by each job and
 * appended to as it goes:
 *   job ID TIMESTAMP SHA1        a job starts (fsynced with its ITL)
 *   node HOST                    one line per node of the job
 *   step HOST restarted|failed   a node's final report
 *   done complete|incomplete     the job ended (fsynced)
 * STATE/jobs/ID.tlv is the job's ITL. Step lines are not fsynced one by
 * one: a step lost in a crash only makes a rerun ask that node again.
 */
#ifndef ITL_JOURNAL_H
#define ITL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define JOURNAL_MAX_NODES 4096

typedef struct {
    uint64_t id;
    uint32_t timestamp;
    char sha1[41];
    int ended; /* a done line was written */
    int complete;
    size_t nnodes;
    struct {
        char host[64];
        int state; /* enum job_node_state of publisher.h, JN_SENT if no
                      final step was recorded */
    } * nodes;
} journal_job_t;

/*
 * Reads the last job of STATE/jobs/current.log into *job (nnodes 0 and id
 * 0 when there is none). The caller frees job->nodes. ERR_OK, ERR_IO, or
 * ERR_FORMAT for a damaged journal (the detail names file and line).
 */
int journal_last(const char *state, journal_job_t *job) WUR;

/*
 * Starts a job: writes its ITL to STATE/jobs/ID.tlv and its job and node
 * lines, both fsynced. Older .tlv files are removed.
 */
int journal_start(const char *state, uint64_t id, uint32_t ts, const char *sha1,
                  const uint8_t *itl, size_t len, const char *const *hosts,
                  size_t nhosts) WUR;

/* Records a node's final step (1 restarted, 0 failed). */
void journal_step(const char *state, const char *host, int restarted);

/* Records the end of the job, fsynced. */
void journal_done(const char *state, int complete);

/* Reads STATE/jobs/ID.tlv. The caller frees *buf. */
int journal_itl(const char *state, uint64_t id, uint8_t **buf, size_t *len) WUR;

#endif
