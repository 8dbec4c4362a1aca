/* `disco oci`: the OCI runtime command line (stub until written). */
#include <stdio.h>

#include "cli/cli.h"

int oci_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "disco oci: not yet implemented\n");
    return EXIT_RUNTIME;
}
