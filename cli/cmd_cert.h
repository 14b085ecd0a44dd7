/*
 * cmd_cert: the CLI commands that work directly on a node's state folder
 * until the agents exist: `set cert regen NAME` and `node init`.
 *
 * Each handler takes the words after its command words (leading command
 * words "set cert regen" / "node init" are skipped when present, so a
 * table may pass either form) and returns the process exit status:
 * 0 done, 1 refused or failed (one line on stderr says why), 2 usage error.
 */
#ifndef ITL_CMD_CERT_H
#define ITL_CMD_CERT_H

/* Where a node keeps its state unless --state says otherwise. */
#define CMD_DEFAULT_STATE "/var/lib/itl-recovery"

/*
 * itl-admin set cert regen NAME [--state DIR] [--yes] [--now UNIXTIME]
 * NAME: CallManager, TVS, CAPF or ITLRecovery (any case). Asks
 * "Proceed with regeneration (yes|no)? " unless --yes; --now replaces the
 * clock (tests drive the hold timer with it).
 */
int cmd_cert_regen(int argc, char **argv);

/*
 * itl-admin node init --state DIR --host NAME (--publisher|--subscriber)
 *     [--ou X] [--o X] [--l X] [--st X] [--c XX] [--bits N]
 *     [--password-stdin]
 * Reads the cluster security password and, on the publisher, the
 * administrator password: one line each from stdin with --password-stdin,
 * else asked on the terminal without echo (twice, to confirm).
 */
int cmd_node_init(int argc, char **argv);

#endif
