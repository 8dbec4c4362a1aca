/* `disco daemon`: owns a libdisco host and serves the control protocol of
 * docs/FLEET.md on a unix stream socket. */
#ifndef DISCO_DAEMON_H
#define DISCO_DAEMON_H

/* argv[0] is the first argument after "daemon". Returns the exit status. */
int daemon_main(int argc, char **argv);

/* "EINVAL" for -EINVAL or EINVAL; "EIO" for codes it does not know. */
const char *daemon_errno_name(int code);

#endif
