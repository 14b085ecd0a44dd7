/*
 * libFuzzer target of the configuration parser: any file content either
 * loads into a valid configuration or is refused with an error, never a
 * crash. The bytes are handed over as a memory file, the parser reads it by
 * path as it reads a real one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    config_t c;
    int fd = memfd_create("fuzz.conf", 0);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        (void)config_load(path, CONFIG_SUBSCRIBER, &c);
    }
    close(fd);
    return 0;
}
