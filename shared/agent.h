/*
 * agent: what both agents do the same way at start: command-line options,
 * configuration, node initialisation, keys and the signal flag.
 */
#ifndef ITL_AGENT_H
#define ITL_AGENT_H

#include <signal.h>

#include "config.h"
#include "transport.h"

typedef struct {
    const char *config_path;
    const char *command; /* run, init, show-key, check-config */
    int foreground;      /* logs to stderr, not syslog */
    int password_stdin;
} agent_opts_t;

/* Set by SIGTERM and SIGINT; the event loops stop when it is set. */
extern volatile sig_atomic_t agent_stop;

/*
 * Parses argv of prog ("itl-publisher"). Prints usage and returns -1 on
 * bad arguments, 1 after printing help, 0 to go on.
 */
int agent_parse_args(const char *prog, int argc, char **argv, agent_opts_t *o);

/* Loads and validates the configuration; prints the error and returns -1. */
int agent_load_config(const agent_opts_t *o, int role, config_t *c);

/*
 * "init": creates the node's keys and secrets from the passwords asked on
 * the terminal (or read from stdin), then its CURVE key pair, and prints
 * what to do next. Returns the exit status.
 */
int agent_init(const agent_opts_t *o, const config_t *c);

/*
 * Loads the node's CURVE key pair (STATE/curve.key), making one when there
 * is none; *created (may be NULL) says whether it did.
 */
int agent_curve_keys(const config_t *c, curve_keys_t *k, int *created) WUR;

/*
 * Takes the state folder for this process (a lock on STATE/agent.lock), so
 * that two agents never share keys, sockets and TFTP files. ERR_EXISTS
 * names the pid that holds it.
 */
int agent_lock_state(const config_t *c) WUR;

/* The admin socket's path: admin_socket, or STATE/admin.sock. */
void agent_admin_path(const config_t *c, char *buf, size_t len);

/* Loads the 32-byte enrolment key (STATE/secrets/enrol.key). */
int agent_enrol_key(const config_t *c, uint8_t key[32]) WUR;

/* Installs the SIGTERM/SIGINT handlers and ignores SIGPIPE. */
void agent_signals(void);

/* Writes "tcp://HOST:PORT+delta" for a host:port setting. */
int agent_endpoint(const char *hostport, int delta, char *buf, size_t len) WUR;

#endif
