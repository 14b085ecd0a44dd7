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

#endif
