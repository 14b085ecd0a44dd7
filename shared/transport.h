/*
 * transport: ZeroMQ sockets with CURVE on every one, a ZAP handler that
 * admits only enrolled keys, and protobuf envelopes with size caps.
 */
#ifndef ITL_TRANSPORT_H
#define ITL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "err.h"

#define TRANSPORT_PROTOCOL_VERSION 1
/*
 * The largest message any agent accepts. The certificate set is the largest
 * one: two certificates per node, about 2 MiB for 1000 nodes of 2048 bits.
 */
#define TRANSPORT_MAX_MSG (4 * 1024 * 1024)
/* The answer a busy publisher gives to an enrolment: try again later. */
#define ENROL_BUSY "too many enrolments at once; retry"
/* ZAP domains: enrolled nodes only, or anyone (enrolment socket). */
#define TRANSPORT_DOMAIN_CLUSTER "cluster"
#define TRANSPORT_DOMAIN_ENROL   "enrol"

typedef struct {
    char pub[41]; /* Z85 */
    char sec[41];
} curve_keys_t;

/*
 * Loads the node's CURVE key pair from path (0600, "public = Z85" and
 * "secret = Z85" lines), creating it when absent. ERR_PERM when the file
 * is readable by others, ERR_FORMAT when damaged.
 */
int curve_keys_load_or_create(const char *path, curve_keys_t *k) WUR;

/* The allow-list of enrolled keys: hostname and Z85 public key. */
typedef struct zap zap_t;

/*
 * Starts the ZAP handler thread of ctx. The list starts empty; keys are
 * added with zap_allow. Returns NULL on failure (detail in err_detail()).
 */
zap_t *zap_start(void *ctx);

/* Admits key (Z85) as hostname on the cluster domain; replaces its key. */
void zap_allow(zap_t *z, const char *hostname, const char *key);

/* Copies into host the hostname of key, or returns -1 when not enrolled. */
int zap_lookup(zap_t *z, const char *key, char *host, size_t len);

/* Stops the thread and frees z; *z set to NULL. */
void zap_stop(zap_t **z);

/*
 * A CURVE server socket of type (ZMQ_ROUTER) bound to endpoint, checked by
 * ZAP under domain. Returns the socket or NULL.
 */
void *transport_server(void *ctx, int type, const char *endpoint,
                       const curve_keys_t *keys, const char *domain);

/*
 * A CURVE client socket of type (ZMQ_DEALER) connecting to endpoint with
 * the server's pinned public key. Returns the socket or NULL.
 */
void *transport_client(void *ctx, int type, const char *endpoint,
                       const curve_keys_t *keys, const char *server_pub);

/*
 * Sends env (version and cluster_id filled in here) on sock, prefixed by a
 * routing id frame when rid is not NULL. ERR_OK or ERR_NET.
 */
int transport_send(void *sock, const uint8_t *rid, size_t ridlen,
                   const char *cluster_id, Itl__Envelope *env) WUR;

/* A received envelope with who sent it. */
typedef struct {
    uint8_t rid[256];
    size_t ridlen;
    char user[64]; /* ZAP user id: the enrolled host name, or "" */
    char peer[64]; /* peer address as libzmq saw it */
    Itl__Envelope *env;
} transport_msg_t;

/*
 * Receives one message without blocking. Returns ERR_OK with m->env set,
 * ERR_NOTFOUND when nothing is waiting, ERR_PROTO when a message was
 * dropped (undecodable, wrong version or cluster; it is logged).
 */
int transport_recv(void *sock, int has_rid, const char *cluster_id,
                   transport_msg_t *m) WUR;

/* Frees m->env. */
void transport_msg_clear(transport_msg_t *m);

/*
 * The enrolment proof: HMAC-SHA256 under the key derived from the cluster
 * security password, over the publisher's nonce, the Z85 key to enrol and
 * the host name. ERR_OK or ERR_ARG/ERR_CRYPTO.
 */
int transport_enrol_mac(const uint8_t key[32], const uint8_t nonce[32],
                        const char *z85, const char *host, uint8_t out[32]) WUR;

#endif
