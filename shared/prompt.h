/*
 * prompt: asking the operator for passwords and confirmations.
 */
#ifndef ITL_PROMPT_H
#define ITL_PROMPT_H

#include <stddef.h>

#include "err.h"

/*
 * Reads a password into buf: from the terminal without echo after showing
 * prompt on stderr, or, when from_stdin is non-zero, one line of standard
 * input (for scripts). The newline is removed. ERR_OK, ERR_ARG when empty
 * or too long, ERR_IO when there is no terminal and no input.
 */
int prompt_password(const char *prompt, int from_stdin, char *buf,
                    size_t len) WUR;

/* Asks a yes/no question on the terminal; returns 1 for yes, else 0. */
int prompt_yes(const char *question);

/* Monotonic milliseconds, for deadlines. */
long long time_mono_ms(void);

#endif
