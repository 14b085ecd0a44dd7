/*
 * fleet: many simulated phones booting at once (a boot storm).
 */
#ifndef ITL_FLEET_H
#define ITL_FLEET_H

#include <stddef.h>

#include "err.h"
#include "phone.h"

typedef struct {
    const char *host;
    int port; /* 69 when 0 */
} fleet_server_t;

typedef struct {
    size_t count;                  /* phones */
    const char *state_root;        /* phone i keeps its state in ROOT/NAME */
    const fleet_server_t *servers; /* phone i boots from servers[i % n] */
    size_t nservers;
    size_t parallel; /* threads booting at once */
    int timeout_ms;  /* per phone download bound */
    int verbose;     /* print every phone's status line on stdout */
} fleet_cfg_t;

typedef struct {
    size_t count, accepted, refused, failed;
    double seconds;
} fleet_summary_t;

/*
 * The name of phone i: "SEP" and 12 upper-case hex digits, the same for the
 * same i on every run.
 */
void fleet_phone_name(size_t i, char name[16]);

/*
 * Boots cfg->count phones with a pool of cfg->parallel threads. Status
 * lines of failed phones go to stderr (all lines to stdout when verbose).
 * Returns ERR_OK with *sum filled, or ERR_ARG / ERR_NOMEM.
 */
int fleet_run(const fleet_cfg_t *cfg, fleet_summary_t *sum) WUR;

#endif
