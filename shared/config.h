/*
 * config: an agent's configuration file.
 *
 * One "key = value" per line; '#' starts a comment; blank lines are skipped.
 * tftp_folder may be repeated. Every key is checked when the file is read,
 * and an error names the file, the line and the key. See docs/CONFIG.md.
 */
#ifndef ITL_CONFIG_H
#define ITL_CONFIG_H

#include <stddef.h>

#include "err.h"

#define CONFIG_MAX_FOLDERS 8

/* Room for the line of each key of the table in config.c. */
#define CONFIG_MAX_KEYS 48

enum config_role { CONFIG_PUBLISHER = 1, CONFIG_SUBSCRIBER = 2 };

enum config_restart {
    CONFIG_RESTART_SUPERVISE = 1, /* in.tftpd is our child */
    CONFIG_RESTART_COMMAND = 2,   /* run tftp_restart_command */
    CONFIG_RESTART_NONE = 3       /* nothing to restart (benchmarks) */
};

typedef struct {
    int role;
    char hostname[64];
    char state_dir[256];
    char cluster_id[64];
    char listen[128];       /* publisher: host:port of the cluster socket */
    char publisher[128];    /* subscriber: host:port of the publisher */
    char publisher_key[41]; /* subscriber: publisher's CURVE key (Z85) */
    char admin_socket[256]; /* default STATE/admin.sock */
    int admin_group;        /* gid allowed on the admin socket, -1 none */
    /* TFTP service */
    int tftp; /* this node runs a TFTP service */
    char tftp_address[64];
    int tftp_port;
    char tftp_folders[CONFIG_MAX_FOLDERS][256];
    size_t ntftp_folders;
    char tftpd[256];
    char tftp_user[64];
    int tftp_restart;
    char tftp_restart_command[512];
    /* Trust Verification Service (tvs.h) */
    int tvs_port;         /* 0: no TVS */
    char tvs_address[64]; /* "" means tftp_address */
    int tvs_ttl;          /* seconds phones may cache an answer */
    int tvs_max_clients;
    /* node identity for certificates */
    char org_ou[64], org_o[64], org_l[64], org_st[64], org_c[8];
    int key_bits;
    int digest; /* enum itl_digest */
    /* timers, in milliseconds */
    int heartbeat_ms;
    int heartbeat_timeout_ms;
    int reset_timeout_ms;
    int connect_timeout_ms;
    int log_level;
    /* The line where each key was set (the last one for tftp_folder), 0
     * for a default; indexed like the key table of config.c. Read by
     * config_validate for its messages. */
    int key_line[CONFIG_MAX_KEYS];
} config_t;

/* Fills c with the defaults of role. */
void config_defaults(config_t *c, int role);

/*
 * Reads path over the defaults of its role (the "role" key, or role when
 * the file has none). Returns ERR_OK, ERR_NOTFOUND, ERR_IO or ERR_ARG, the
 * detail naming "path:line: key: what is wrong".
 */
int config_load(const char *path, int role, config_t *c) WUR;

/*
 * config_load for an agent of role: a file whose role key names the other
 * role is refused first, before any other check, with
 * "path:LINE: role: this file configures a subscriber, not a publisher"
 * (or the reverse). Same returns as config_load.
 */
int config_load_role(const char *path, int role, config_t *c) WUR;

/*
 * Checks a whole configuration (after defaults and overrides): the role,
 * host name, state folder, endpoints (listen: a numeric IPv4 address or
 * '*'; publisher: a host name or numeric IPv4 address), tftp_address and
 * tvs_address (numeric IPv4/IPv6 or empty), tftpd (an executable when
 * this node supervises its TFTP server), tftp_user (an existing user),
 * admin_socket (its folder must exist: the agent does not create it), the
 * restart command and the timers. Errors are ERR_ARG with
 * "path:LINE: key: what is wrong", or "path: key: not set; what is wrong"
 * for a key the file does not set.
 */
int config_validate(const config_t *c, const char *path) WUR;

/* Splits "host:port"; ERR_ARG when malformed. */
int config_split_endpoint(const char *s, char *host, size_t hostlen,
                          int *port) WUR;

/* Writes path of name under the state folder into buf. */
void config_state_path(const config_t *c, const char *name, char *buf,
                       size_t len);

#endif
