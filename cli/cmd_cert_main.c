/*
 * A stand-in entry point for itl-admin while the command table (admin.c)
 * is not on this branch: it is weak, so the real main() of admin.c wins as
 * soon as both are linked, and this file can then be deleted.
 */
#include <stdio.h>
#include <string.h>

#include "cmd_cert.h"

__attribute__((weak)) int
main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "set") == 0 &&
        strcmp(argv[2], "cert") == 0 && strcmp(argv[3], "regen") == 0)
        return cmd_cert_regen(argc - 4, argv + 4);
    if (argc >= 3 && strcmp(argv[1], "node") == 0 &&
        strcmp(argv[2], "init") == 0)
        return cmd_node_init(argc - 3, argv + 3);
    fputs("usage: itl-admin set cert regen NAME ... | itl-admin node init "
          "...\n",
          stderr);
    return 2;
}
