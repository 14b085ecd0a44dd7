#include "fleet.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct s_pool {
    const fleet_cfg_t *cfg;
    atomic_size_t next;
    pthread_mutex_t lock;
    size_t counts[3];
};

void
fleet_phone_name(size_t i, char name[16])
{
    /* A made-up vendor prefix, then the phone's number. */
    snprintf(name, 16, "SEP%012llX", 0x0011AA000000ULL + (unsigned long long)i);
}

static void
s_boot_one(struct s_pool *p, size_t i)
{
    const fleet_cfg_t *cfg = p->cfg;
    const fleet_server_t *srv = &cfg->servers[i % cfg->nservers];
    char name[16], state[4096];
    phone_cfg_t pc;
    phone_result_t res;

    fleet_phone_name(i, name);
    snprintf(state, sizeof(state), "%s/%s", cfg->state_root, name);
    pc.name = name;
    pc.state = state;
    pc.host = srv->host;
    pc.port = srv->port;
    pc.timeout_ms = cfg->timeout_ms;
    phone_boot(&pc, &res);

    pthread_mutex_lock(&p->lock);
    p->counts[res.status]++;
    if (cfg->verbose || res.status == PHONE_FAILED)
        fprintf(cfg->verbose ? stdout : stderr, "%s\n", res.line);
    pthread_mutex_unlock(&p->lock);
}

static void *
s_worker(void *arg)
{
    struct s_pool *p = arg;
    size_t i;

    while ((i = atomic_fetch_add(&p->next, 1)) < p->cfg->count)
        s_boot_one(p, i);
    return NULL;
}

int
fleet_run(const fleet_cfg_t *cfg, fleet_summary_t *sum)
{
    struct s_pool p = {.cfg = cfg};
    size_t nthreads = cfg->parallel < cfg->count ? cfg->parallel : cfg->count;
    pthread_t *th;
    struct timespec t0, t1;
    size_t started = 0;
    int rc = ERR_OK;

    if (cfg->count == 0 || cfg->nservers == 0 || cfg->parallel == 0)
        return err_set(ERR_ARG, "fleet: need phones, servers and threads");
    th = calloc(nthreads, sizeof(*th));
    if (th == NULL)
        return err_set(ERR_NOMEM, "fleet: out of memory");
    atomic_init(&p.next, 0);
    pthread_mutex_init(&p.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; started < nthreads; started++) {
        if (pthread_create(&th[started], NULL, s_worker, &p) != 0) {
            rc = err_set(ERR_NOMEM, "fleet: cannot start thread %zu", started);
            break;
        }
    }
    /* With fewer threads than asked the pool still boots every phone. */
    if (started == 0)
        s_worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_destroy(&p.lock);
    free(th);

    sum->count = cfg->count;
    sum->accepted = p.counts[PHONE_ACCEPTED];
    sum->refused = p.counts[PHONE_REFUSED];
    sum->failed = p.counts[PHONE_FAILED];
    sum->seconds = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return started > 0 ? ERR_OK : rc;
}
