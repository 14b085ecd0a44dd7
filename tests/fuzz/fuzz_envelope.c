/*
 * libFuzzer target of the agents' message decoding: whatever the bytes, the
 * envelope either fails to decode or passes through the same checks the
 * agents run before any handler, without crashing or leaking.
 */
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "protocheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Itl__Envelope *env = itl__envelope__unpack(NULL, size, data);

    if (env == NULL)
        return 0;
    (void)protocheck_envelope(env);
    itl__envelope__free_unpacked(env, NULL);
    return 0;
}
