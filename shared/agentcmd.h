/*
 * agentcmd: admin commands that every agent answers the same way, whether
 * publisher or subscriber.
 */
#ifndef ITL_AGENTCMD_H
#define ITL_AGENTCMD_H

#include "adminsock.h"
#include "config.h"
#include "tftpnode.h"

/* Non-zero when the request's words start with words (NULL-terminated). */
int agentcmd_is(const Itl__AdminRequest *req, const char *const *words);

/*
 * Answers the common commands: "itl-path" (where the served ITL is),
 * "role" (publisher or subscriber), "state-dir" (the node's state
 * folder), "utils service restart tftp" (a normal restart that rebuilds
 * the node's own ITL) and "status". Returns 1 when it answered, 0 when the
 * command is not one of them.
 */
int agentcmd_common(void *admin, const adminsock_req_t *r, tftpnode_t *node,
                    const config_t *cfg);

/*
 * "set cert regen NAME [--now UNIXTIME]" for the node's agent: runs
 * node_regen on the node's state folder (at --now when given: the test
 * clock of the hold timer) and sends its lines (errors and hold refusals
 * to stderr, prefixed "error: "). Does not send the final event: the
 * caller acts on the new certificate, may add lines, then sends the
 * returned exit status (0 done, 1 refused by the hold timer, 2 bad request
 * or failure). *name is the certificate as asked when it was regenerated,
 * NULL otherwise.
 */
int agentcmd_regen(void *admin, const adminsock_req_t *r, const config_t *cfg,
                   const char **name);

#endif
