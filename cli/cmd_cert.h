/*
 * cmd_cert: the CLI commands that work directly on a node's state folder
 * until the agents exist: `set cert regen NAME` and `node init`.
 *
 * The handlers follow commands.h: argv[0] is the last command word
 * ("regen", "init"), the options follow. Exit status: 0 done, 1 declined
 * at the prompt or refused by the hold timer, 2 bad usage or any other
 * failure (one line on stderr says why).
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

/*
 * itl-admin node itl --state DIR --out FILE [--digest sha1|sha512]
 *     [--timestamp UNIXTIME]
 * Builds the node's ITL from its own keys only (node_build_itl with no
 * other node known: on the publisher its CAPF and ITLRecovery certificates,
 * on a subscriber just itself) and writes it to FILE (0644, durable, the
 * old file kept as FILE.prev).
 */
int cmd_node_itl(int argc, char **argv);

#endif
