/*
 * tftpd: the TFTP service of a node.
 *
 * By default an agent supervises tftpd-hpa's in.tftpd as its own child
 * processes. in.tftpd serves one root folder when run with --secure (the
 * chroot the phones rely on: they ask for "ITLFile.tlv", not a path), so a
 * node with several folders runs one in.tftpd per folder: folder 0 on PORT,
 * folder 1 on PORT + 1, and so on. Every child runs
 *
 *   in.tftpd --foreground --address ADDR:PORT --secure --user USER FOLDER
 *
 * (--user only when the agent runs as root; without it in.tftpd would drop
 * to "nobody", with it a non-root agent would fail to change user). Only
 * world-readable files are served (no --permissive): ITL files are public,
 * and a private file put in a TFTP folder by mistake stays private. When
 * in.tftpd drops to another user, the folder must be searchable by that
 * user (mode 0755 is usual).
 *
 * Two other modes are configuration choices:
 *   - command: a shell command (e.g. "systemctl restart tftpd-hpa") is run
 *     by tftpd_start and tftpd_restart, and must exit 0 within the command
 *     deadline; tftpd_stop does nothing (the service is not ours);
 *   - none: every call succeeds and does nothing (benchmarks, or a node whose
 *     TFTP server is managed entirely outside the product).
 *
 * A tftpd_t is not thread-safe: one thread (the agent's main loop) uses it.
 * Children are started with PR_SET_PDEATHSIG so that they end when the
 * thread that started them ends; start them from the agent's main thread.
 * The agent must not set SIGCHLD to SIG_IGN (children would be reaped by
 * the kernel and their exit status lost) nor reap with waitpid(-1).
 */
#ifndef ITL_TFTPD_H
#define ITL_TFTPD_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define TFTPD_DEFAULT_BINARY "/usr/sbin/in.tftpd"

/* How long tftpd_start waits for in.tftpd to bind its port. */
#define TFTPD_DEFAULT_READY_MS 3000
/* How long tftpd_stop waits after SIGTERM before SIGKILL. */
#define TFTPD_DEFAULT_STOP_MS 2000
/* How long a restart command may run. */
#define TFTPD_DEFAULT_COMMAND_MS 30000

enum tftpd_mode {
    TFTPD_MODE_SUPERVISE = 0, /* in.tftpd children of this process */
    TFTPD_MODE_COMMAND = 1,   /* a shell command restarts the service */
    TFTPD_MODE_NONE = 2       /* nothing is done */
};

typedef struct tftpd tftpd_t;

/*
 * Describes a supervised service: binary (NULL for TFTPD_DEFAULT_BINARY),
 * address to listen on (numeric IPv4 or IPv6; NULL or "" for every
 * address), the first port (1..65535, port + nfolders - 1 must fit too),
 * nfolders folders (at least one, each an absolute path) and the user
 * in.tftpd runs as when the agent is root (NULL for "nobody"). Starts
 * nothing. Returns NULL on bad arguments (err_detail() says which) or no
 * memory. The caller owns the result and frees it with tftpd_destroy.
 */
tftpd_t *tftpd_new(const char *binary, const char *address, int port,
                   const char *const *folders, size_t nfolders,
                   const char *user);

/*
 * Switches to command mode: tftpd_start and tftpd_restart run cmd with
 * /bin/sh -c. Returns ERR_OK, or ERR_ARG for an empty command, or ERR_NOMEM.
 */
int tftpd_set_restart_command(tftpd_t *t, const char *cmd) WUR;

/* Switches to the mode where every call does nothing and succeeds. */
void tftpd_set_noop(tftpd_t *t);

/*
 * Changes the deadlines (milliseconds; 0 keeps the current value): ready_ms
 * for in.tftpd to bind its port, stop_ms between SIGTERM and SIGKILL,
 * command_ms for a restart command to finish.
 */
void tftpd_set_deadlines(tftpd_t *t, int ready_ms, int stop_ms, int command_ms);

/* The mode (enum tftpd_mode). */
int tftpd_mode(const tftpd_t *t);

/*
 * Starts the service. Supervised: one in.tftpd per folder, and returns
 * only once each has bound its UDP port (seen in /proc/net/udp as a socket
 * of that child). A child that exits at once, or does not bind in time, is
 * an error naming the folder and ADDR:PORT and saying why when it can be
 * found out (port in use, no permission, address not local); children
 * already started are stopped again. Returns ERR_OK, ERR_ARG (already
 * running), ERR_NOTFOUND (binary or folder missing), ERR_NET (could not
 * bind), ERR_TIMEOUT, ERR_IO (fork failed, or a command failed).
 */
int tftpd_start(tftpd_t *t) WUR;

/*
 * Stops the service: SIGTERM to each child, SIGKILL after the stop
 * deadline, each child reaped. Stopping a stopped service is ERR_OK.
 * Does nothing in command and none modes. Returns ERR_OK.
 */
int tftpd_stop(tftpd_t *t) WUR;

/* tftpd_stop then tftpd_start (command mode: runs the command once). */
int tftpd_restart(tftpd_t *t) WUR;

/*
 * Non-zero when every child runs (supervised), when the last command
 * succeeded (command mode), always in none mode. Reaps a child that died.
 */
int tftpd_running(tftpd_t *t);

/* Process id of the child serving folder 0, 0 when not running. */
pid_t tftpd_pid(const tftpd_t *t);

/* Number of folders, and the pid and port of folder i. */
size_t tftpd_count(const tftpd_t *t);
pid_t tftpd_pid_of(const tftpd_t *t, size_t i);
int tftpd_port_of(const tftpd_t *t, size_t i);

/*
 * For an agent's SIGCHLD handling (call it from the main loop, not from the
 * signal handler): reaps without blocking any child that died. Returns 1
 * when one did (err_detail() names its folder, ADDR:PORT and exit status or
 * signal; the caller decides whether to restart), 0 otherwise.
 */
int tftpd_check(tftpd_t *t);

/* Stops the service (as tftpd_stop), frees *t and sets it to NULL. */
void tftpd_destroy(tftpd_t **t);

#endif
