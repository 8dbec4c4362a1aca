/* The error object of libdisco, shared by the public API (disco.h) and the
 * engine (src/util/err.h): a negative errno-style code and a message that
 * names what failed. */
#ifndef DISCO_ERR_H
#define DISCO_ERR_H

struct disco_err {
    int code;          /* negative errno-style code, 0 when clear */
    char msg[512];
};

#endif
