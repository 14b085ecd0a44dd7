/*
 * libFuzzer target of the phones' report parser (shared/audit.h): any
 * bytes parse or are refused cleanly, and what is returned keeps the
 * parser's promises (lines in order and in range, SHA-1 values of 40
 * lower-case hex digits, names unique, bad lines counted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

static size_t
s_lines(const uint8_t *data, size_t size)
{
    size_t n = size > 0 && data[size - 1] != '\n';

    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    audit_report_t r;
    size_t lines = s_lines(data, size);

    if (audit_parse(data, size, &r) != ERR_OK)
        return 0;
    if (r.nphones + r.nskip > lines || r.nbad > r.nskip ||
        r.nbad > AUDIT_MAX_BAD)
        abort();
    for (size_t i = 0; i < r.nphones; i++) {
        const audit_phone_t *p = &r.phones[i];
        if (p->line == 0 || p->line > lines ||
            (i > 0 && p->line <= r.phones[i - 1].line))
            abort();
        if (strlen(p->sha1) != 40 || strspn(p->sha1, "0123456789abcdef") != 40)
            abort();
        if (p->name[0] == '\0' || strlen(p->name) > AUDIT_NAME_MAX)
            abort();
        for (size_t j = 0; j < i && r.nphones < 200; j++) {
            if (strcmp(r.phones[j].name, p->name) == 0)
                abort();
        }
    }
    for (size_t i = 0; i < r.nbad; i++) {
        if (r.bad[i].line == 0 || r.bad[i].line > lines ||
            r.bad[i].why[0] == '\0')
            abort();
    }
    (void)audit_classify(NULL, 0, r.nphones ? r.phones[0].sha1 : "", NULL);
    audit_report_clear(&r);
    return 0;
}
