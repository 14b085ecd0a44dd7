/*
 * adminsock: the local socket between itl-admin and its node's agent.
 *
 * A ZeroMQ ROUTER on ipc://PATH. Only the agent's user (and the configured
 * group) can open it: the socket file is made 0600 (0660 with a group).
 * A request is one AdminRequest; the agent answers with AdminEvent lines as
 * work happens, then one final event carrying the exit status.
 */
#ifndef ITL_ADMINSOCK_H
#define ITL_ADMINSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "err.h"

/* Binds the agent's admin socket at path. NULL on failure (detail set). */
void *adminsock_bind(void *ctx, const char *path, int gid);

/* One request received by the agent, with the client's routing id. */
typedef struct {
    uint8_t rid[256];
    size_t ridlen;
    Itl__AdminRequest *req;
} adminsock_req_t;

/* Receives a waiting request: ERR_OK, ERR_NOTFOUND or ERR_PROTO. */
int adminsock_recv(void *sock, adminsock_req_t *r) WUR;

/* Frees r->req. */
void adminsock_req_clear(adminsock_req_t *r);

/* Sends one line (to stdout, or stderr when is_err) to the client. */
void adminsock_line(void *sock, const uint8_t *rid, size_t ridlen, int is_err,
                    const char *fmt, ...) PRINTF_LIKE(5, 6);

/* Sends an event carrying len bytes of a file to the client. */
void adminsock_data(void *sock, const uint8_t *rid, size_t ridlen,
                    const uint8_t *data, size_t len);

/* Sends the final event with the exit status. */
void adminsock_done(void *sock, const uint8_t *rid, size_t ridlen, int status);

/*
 * Client side: sends argv (and password when not NULL) to the agent at
 * path, prints each line as it arrives, and returns the final status; 2
 * when the agent cannot be reached within timeout_ms of silence.
 */
int adminsock_call(const char *path, int argc, char **argv,
                   const char *password, int json, int timeout_ms);

/*
 * Like adminsock_call, but the agent's standard-output lines are not
 * printed: the last one is copied into capture (stderr lines still are).
 */
int adminsock_query(const char *path, int argc, char **argv,
                    const char *password, int json, int timeout_ms,
                    char *capture, size_t caplen);

/*
 * Like adminsock_call, with len bytes of data attached to the request
 * (data may be NULL), and, when got is not NULL, the data of the agent's
 * last data event copied into a new buffer *got of *gotlen bytes (the
 * caller frees it; NULL when the status is not 0 or no data came).
 */
int adminsock_exchange(const char *path, int argc, char **argv,
                       const char *password, const uint8_t *data, size_t len,
                       uint8_t **got, size_t *gotlen, int timeout_ms);
/* Called with each standard-output line of an answer. */
typedef void(adminsock_line_fn)(void *arg, const char *line);

/*
 * Like adminsock_query, but every standard-output line goes to fn (stderr
 * lines are printed). Returns the final status as adminsock_call does.
 */
int adminsock_query_lines(const char *path, int argc, char **argv,
                          int timeout_ms, adminsock_line_fn *fn, void *arg);

#endif
