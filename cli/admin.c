/*
 * itl-admin: the operator's command line. main() matches the words of the
 * command line against the table of commands.def and runs the handler;
 * without a command it opens the shell of shell.c, which runs each line
 * through the same table.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"

typedef struct {
    const char *words;
    const char *args;
    const char *help;
    int (*fn)(int argc, char **argv);
} s_cmd_t;

static const s_cmd_t s_cmds[] = {
#define CMD(words, args, help, fn) {words, args, help, fn},
#include "commands.def"
#undef CMD
};

#define S_NCMDS (sizeof(s_cmds) / sizeof(s_cmds[0]))

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: itl-admin COMMAND [OPTIONS]\n"
                 "       itl-admin          (the admin: shell; commands one "
                 "per line)\n\ncommands:\n");
    for (size_t i = 0; i < S_NCMDS; i++)
        fprintf(out, "  %s %s\n      %s\n", s_cmds[i].words, s_cmds[i].args,
                s_cmds[i].help);
}

int
cmd_usage(const char *words)
{
    for (size_t i = 0; i < S_NCMDS; i++) {
        if (strcmp(s_cmds[i].words, words) == 0) {
            fprintf(stderr, "usage: itl-admin %s %s\n", s_cmds[i].words,
                    s_cmds[i].args);
            return CMD_EXIT_ERROR;
        }
    }
    s_usage(stderr);
    return CMD_EXIT_ERROR;
}

/*
 * Number of argv words (from argv[1]) that spell all of words, or 0 when
 * they do not.
 */
static int
s_match(const char *words, int argc, char **argv)
{
    const char *p = words;
    int n = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, " ");

        if (1 + n >= argc || strlen(argv[1 + n]) != len ||
            strncmp(argv[1 + n], p, len) != 0)
            return 0;
        n++;
        p += len;
        p += strspn(p, " ");
    }
    return n;
}

const char *
cmd_table(size_t i, const char **args, const char **help)
{
    if (i >= S_NCMDS)
        return NULL;
    if (args != NULL)
        *args = s_cmds[i].args;
    if (help != NULL)
        *help = s_cmds[i].help;
    return s_cmds[i].words;
}

int
cmd_find(int argc, char **argv, int *nwords)
{
    int best = -1, best_n = 0;

    /* The longest command whose words all match wins. */
    for (size_t i = 0; i < S_NCMDS; i++) {
        int n = s_match(s_cmds[i].words, argc, argv);

        if (n > best_n) {
            best = (int)i;
            best_n = n;
        }
    }
    if (nwords != NULL)
        *nwords = best_n;
    return best;
}

int
cmd_run(int argc, char **argv)
{
    int n, i = cmd_find(argc, argv, &n);

    if (i < 0) {
        fprintf(stderr, "itl-admin: unknown command \"");
        for (int k = 1; k < argc && argv[k][0] != '-'; k++)
            fprintf(stderr, "%s%s", k > 1 ? " " : "", argv[k]);
        fprintf(stderr, "\"\n");
        s_usage(stderr);
        return CMD_EXIT_ERROR;
    }
    return s_cmds[i].fn(argc - n, argv + n);
}

int
main(int argc, char **argv)
{
    log_init("itl-admin", 0, LOG_LEVEL_WARNING);
    if (argc == 1)
        return cmd_shell();
    if (argc == 2 && strcmp(argv[1], "--commands") == 0) {
        /* For the bash completion: "words<TAB>arguments" per command. */
        for (size_t i = 0; i < S_NCMDS; i++)
            printf("%s\t%s\n", s_cmds[i].words, s_cmds[i].args);
        return CMD_EXIT_OK;
    }
    if (argc == 2 &&
        (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
         strcmp(argv[1], "-h") == 0)) {
        s_usage(stdout);
        return CMD_EXIT_OK;
    }
    return cmd_run(argc, argv);
}
