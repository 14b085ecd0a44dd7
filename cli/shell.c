/*
 * The admin: shell of itl-admin. On a terminal it edits lines with libedit,
 * keeps a history in ~/.itl_admin_history and completes the words of the
 * commands of commands.def (and their --options) with TAB. From a pipe it
 * reads one command per line, without prompt or editing, so that a script
 * can drive it. Every line is split like a shell would (quotes, backslash)
 * and run through cmd_run, the same path as a command line.
 */
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "commands.h"

#define SHELL_MAX_WORDS      64
#define SHELL_MAX_CANDIDATES 64
#define SHELL_HISTORY_SIZE   1000

/* The shell's own words, completed like the first word of a command. */
static const char *const s_builtins[] = {"help", "quit", "exit", NULL};

static const char *
s_prompt(EditLine *el)
{
    (void)el;
    return "admin:";
}

/* ---- help ---- */

/* Non-zero when the words of the table start with the n words of v. */
static int
s_words_start_with(const char *words, int n, char **v)
{
    const char *p = words;

    for (int i = 0; i < n; i++) {
        size_t len = strcspn(p, " ");

        if (len == 0 || strlen(v[i]) != len || strncmp(p, v[i], len) != 0)
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return 1;
}

/*
 * help: every command; help WORDS...: the commands that start with those
 * words, with their options. Returns the exit status.
 */
static int
s_help(int n, char **v)
{
    const char *words, *args, *help;
    int found = 0;

    if (n == 0) {
        printf("Commands (help COMMAND for one; TAB completes; quit or "
               "exit leaves):\n");
        for (size_t i = 0; (words = cmd_table(i, NULL, &help)); i++)
            printf("  %-28s %s\n", words, help);
        return CMD_EXIT_OK;
    }
    for (size_t i = 0; (words = cmd_table(i, &args, &help)); i++) {
        if (!s_words_start_with(words, n, v))
            continue;
        printf("%s%s %s\n    %s\n", found ? "\n" : "", words, args, help);
        found++;
    }
    if (found == 0) {
        fprintf(stderr, "No command starts with \"");
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%s%s", i ? " " : "", v[i]);
        fprintf(stderr, "\"; type help for the list\n");
        return CMD_EXIT_ERROR;
    }
    return CMD_EXIT_OK;
}

/* ---- running one line ---- */

/* Sets *quit for quit and exit. Returns the exit status of the line. */
static int
s_run_words(int argc, const char **argv, int *quit)
{
    char *v[SHELL_MAX_WORDS + 2];
    int rc, n = 0;

    if (argc == 0)
        return CMD_EXIT_OK;
    if (argc > SHELL_MAX_WORDS) {
        fprintf(stderr, "itl-admin: more than %d words on the line\n",
                SHELL_MAX_WORDS);
        return CMD_EXIT_ERROR;
    }
    if (argc == 1 &&
        (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0)) {
        *quit = 1;
        return CMD_EXIT_OK;
    }
    /* The handlers' getopt may reorder argv: give them copies. */
    v[n++] = strdup("itl-admin");
    for (int i = 0; i < argc; i++)
        v[n++] = strdup(argv[i]);
    v[n] = NULL;
    for (int i = 0; i < n; i++) {
        if (v[i] == NULL) {
            fprintf(stderr, "itl-admin: out of memory\n");
            rc = CMD_EXIT_ERROR;
            goto out;
        }
    }
    if (strcmp(v[1], "help") == 0 || strcmp(v[1], "?") == 0)
        rc = s_help(n - 2, v + 2);
    else if (cmd_find(n, v, NULL) < 0) {
        fprintf(stderr, "Unknown command \"%s\"; type help for the list\n",
                v[1]);
        rc = CMD_EXIT_ERROR;
    } else {
        rc = cmd_run(n, v);
    }
out:
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < n; i++)
        free(v[i]);
    return rc;
}

/* Splits line into words and runs them. */
static int
s_run_line(Tokenizer *tok, const char *line, int *quit)
{
    const char **argv;
    int argc, rc;

    tok_reset(tok);
    rc = tok_str(tok, line, &argc, &argv);
    if (rc != 0) {
        fprintf(stderr, "itl-admin: %s\n",
                rc > 0 ? "unmatched quote or trailing backslash"
                       : "cannot split the line into words");
        return CMD_EXIT_ERROR;
    }
    if (argc > 0 && argv[0][0] == '#')
        return CMD_EXIT_OK;
    return s_run_words(argc, argv, quit);
}

/* ---- completion ---- */

typedef struct {
    const char *word[SHELL_MAX_CANDIDATES];
    size_t len[SHELL_MAX_CANDIDATES];
    int n;
} s_cands_t;

static void
s_cand_add(s_cands_t *c, const char *w, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);

    if (len < plen || strncmp(w, prefix, plen) != 0)
        return;
    for (int i = 0; i < c->n; i++) {
        if (c->len[i] == len && strncmp(c->word[i], w, len) == 0)
            return;
    }
    if (c->n == SHELL_MAX_CANDIDATES)
        return;
    c->word[c->n] = w;
    c->len[c->n] = len;
    c->n++;
}

/* The word after the first n words of words, or NULL at its end. */
static const char *
s_word_after(const char *words, int n, size_t *len)
{
    const char *p = words;

    for (int i = 0; i < n; i++) {
        p += strcspn(p, " ");
        p += strspn(p, " ");
    }
    if (*p == '\0')
        return NULL;
    *len = strcspn(p, " ");
    return p;
}

/* Adds every --option named in a command's argument summary. */
static void
s_cand_options(s_cands_t *c, const char *args, const char *prefix)
{
    for (const char *p = strstr(args, "--"); p; p = strstr(p + 2, "--")) {
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

        if (len > 2)
            s_cand_add(c, p, len, prefix);
    }
}

/*
 * The candidates for the word being typed (prefix), after the n complete
 * words of v.
 */
static void
s_candidates(int n, char **v, const char *prefix, s_cands_t *c)
{
    const char *words, *args, *w;
    size_t len;
    int skip = 0;

    memset(c, 0, sizeof(*c));
    if (n > 0 && (strcmp(v[0], "help") == 0 || strcmp(v[0], "?") == 0))
        skip = 1;
    if (n == 0) {
        for (int i = 0; s_builtins[i]; i++)
            s_cand_add(c, s_builtins[i], strlen(s_builtins[i]), prefix);
    }
    for (size_t i = 0; (words = cmd_table(i, &args, NULL)); i++) {
        if (!s_words_start_with(words, n - skip, v + skip))
            continue;
        w = s_word_after(words, n - skip, &len);
        if (w != NULL)
            s_cand_add(c, w, len, prefix);
        else if (!skip && prefix[0] == '-')
            s_cand_options(c, args, prefix);
    }
}

static unsigned char
s_complete(EditLine *el, int ch)
{
    const LineInfo *li = el_line(el);
    char line[1024], *v[SHELL_MAX_WORDS], *save = NULL, *prefix;
    size_t len = (size_t)(li->cursor - li->buffer), common;
    s_cands_t c;
    int n = 0;

    (void)ch;
    if (len >= sizeof(line))
        return CC_REFRESH_BEEP;
    memcpy(line, li->buffer, len);
    line[len] = '\0';
    /* The word under the cursor is the prefix; the ones before are done. */
    prefix = strrchr(line, ' ');
    if (prefix == NULL) {
        prefix = line;
    } else {
        *prefix++ = '\0';
        for (char *w = strtok_r(line, " \t", &save); w && n < SHELL_MAX_WORDS;
             w = strtok_r(NULL, " \t", &save))
            v[n++] = w;
    }
    s_candidates(n, v, prefix, &c);
    if (c.n == 0)
        return CC_REFRESH_BEEP;
    if (c.n == 1) {
        char add[256];
        size_t plen = strlen(prefix);

        snprintf(add, sizeof(add), "%.*s ", (int)(c.len[0] - plen),
                 c.word[0] + plen);
        return el_insertstr(el, add) == 0 ? CC_REFRESH : CC_ERROR;
    }
    /* Several: extend to their common prefix, else list them. */
    common = c.len[0];
    for (int i = 1; i < c.n; i++) {
        size_t k = 0;

        while (k < common && k < c.len[i] && c.word[i][k] == c.word[0][k])
            k++;
        common = k;
    }
    if (common > strlen(prefix)) {
        char add[256];
        size_t plen = strlen(prefix);

        snprintf(add, sizeof(add), "%.*s", (int)(common - plen),
                 c.word[0] + plen);
        return el_insertstr(el, add) == 0 ? CC_REFRESH : CC_ERROR;
    }
    printf("\n");
    for (int i = 0; i < c.n; i++)
        printf("%.*s%s", (int)c.len[i], c.word[i], i + 1 < c.n ? "  " : "");
    printf("\n");
    fflush(stdout);
    return CC_REDISPLAY;
}

/* ---- the two modes ---- */

static void
s_history_path(char *buf, size_t len)
{
    const char *home = getenv("HOME");

    buf[0] = '\0';
    if (home != NULL && home[0] != '\0')
        snprintf(buf, len, "%s/.itl_admin_history", home);
}

static int
s_interactive(Tokenizer *tok)
{
    EditLine *el;
    History *h;
    HistEvent ev;
    char hpath[1024];
    const char *line;
    int count, quit = 0, rc = CMD_EXIT_OK;

    h = history_init();
    el = el_init("itl-admin", stdin, stdout, stderr);
    if (h == NULL || el == NULL) {
        fprintf(stderr, "itl-admin: cannot start the line editor\n");
        if (h != NULL)
            history_end(h);
        return CMD_EXIT_ERROR;
    }
    history(h, &ev, H_SETSIZE, SHELL_HISTORY_SIZE);
    history(h, &ev, H_SETUNIQUE, 1);
    s_history_path(hpath, sizeof(hpath));
    if (hpath[0] != '\0')
        history(h, &ev, H_LOAD, hpath); /* none yet is fine */
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_SIGNAL, 1);
    el_set(el, EL_PROMPT, s_prompt);
    el_set(el, EL_HIST, history, h);
    /* The wide form: the narrow EL_ADDFN copies both names and leaks them
     * (libedit 3.1). */
    el_wset(el, EL_ADDFN, L"itl-complete", L"complete a command word",
            s_complete);
    el_set(el, EL_BIND, "^I", "itl-complete", NULL);
    el_source(el, NULL); /* the operator's ~/.editrc, if any */
    while (!quit && (line = el_gets(el, &count)) != NULL) {
        if (count <= 0)
            continue;
        if (strspn(line, " \t\r\n") != strlen(line)) {
            char *copy = strdup(line);
            size_t n = copy ? strlen(copy) : 0;

            while (n > 0 && strchr(" \t\r\n", copy[n - 1]))
                copy[--n] = '\0';
            history(h, &ev, H_ENTER, copy ? copy : line);
            free(copy);
            if (hpath[0] != '\0') {
                mode_t old = umask(077);
                history(h, &ev, H_SAVE, hpath);
                umask(old);
            }
        }
        int r = s_run_line(tok, line, &quit);
        if (!quit)
            rc = r; /* quit and exit keep the last command's status */
    }
    if (!quit)
        printf("\n"); /* end of input: leave the cursor on a new line */
    el_end(el);
    history_end(h);
    return rc;
}

static int
s_piped(Tokenizer *tok)
{
    char *line = NULL;
    size_t cap = 0;
    int quit = 0, first_failure = CMD_EXIT_OK;

    /* getline on stdin, as --password-stdin reads the next line of it. */
    while (!quit && getline(&line, &cap, stdin) >= 0) {
        int rc = s_run_line(tok, line, &quit);

        if (rc != CMD_EXIT_OK && first_failure == CMD_EXIT_OK)
            first_failure = rc;
    }
    free(line);
    return first_failure;
}

int
cmd_shell(void)
{
    Tokenizer *tok = tok_init(NULL);
    int rc;

    if (tok == NULL) {
        fprintf(stderr, "itl-admin: out of memory\n");
        return CMD_EXIT_ERROR;
    }
    rc = isatty(STDIN_FILENO) ? s_interactive(tok) : s_piped(tok);
    tok_end(tok);
    return rc;
}
