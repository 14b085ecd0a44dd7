/*
 * commands: the handlers of itl-admin's commands (see commands.def).
 *
 * Every handler has the form int cmd_xxx(int argc, char **argv): argv[0]
 * is the last word of the command, the options follow, and the return
 * value is the process exit status (0 success, 1 a negative answer such as
 * a signature that does not verify, 2 bad usage or unreadable input).
 */
#ifndef ITL_CLI_COMMANDS_H
#define ITL_CLI_COMMANDS_H

#include <stddef.h>

#define CMD(words, args, help, fn) int fn(int argc, char **argv);
#include "commands.def"
#undef CMD

/* Exit statuses shared by the commands. */
enum cmd_exit { CMD_EXIT_OK = 0, CMD_EXIT_NO = 1, CMD_EXIT_ERROR = 2 };

/* Prints the usage of the command named words to stderr; returns 2. */
int cmd_usage(const char *words);

/*
 * The i-th command of the table (from 0): returns its words and sets *args
 * and *help (either may be NULL); NULL past the last command.
 */
const char *cmd_table(size_t i, const char **args, const char **help);

/*
 * The command of the table whose words argv[1..] spell, the longest match:
 * its index, with *nwords (may be NULL) set to the number of words; -1
 * when no command matches.
 */
int cmd_find(int argc, char **argv, int *nwords);

/*
 * Runs the command line argv (argv[0] the program name) through the table;
 * returns the command's exit status, 2 for an unknown command.
 */
int cmd_run(int argc, char **argv);

/*
 * The admin: shell (shell.c). On a terminal: line editing, history in
 * ~/.itl_admin_history, completion of command words; otherwise one command
 * per line of standard input, without a prompt. Returns the exit status:
 * on a terminal the last command's, from a pipe the first failure's.
 */
int cmd_shell(void);

/*
 * Asks the local agent (found as the agent commands find it) where the ITL
 * it serves is; copies the path into out. Returns an exit status.
 */
int cmd_agent_itl_path(const char *socket, const char *config, char *out,
                       size_t outlen);

/*
 * Finds the local agent's admin socket as the agent commands do (socket,
 * else ITL_ADMIN_SOCKET, else config, else the installed configuration);
 * prints why not and returns -1 when it cannot.
 */
int cmd_agent_socket(const char *socket, const char *config, char *buf,
                     size_t len);

#endif
