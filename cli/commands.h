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
