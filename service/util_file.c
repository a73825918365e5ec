/*
 * util_file.c - opening a configured file for reading without being held up by what the path
 * turns out to be.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

int util_open_regular(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd, flags;

    /* without O_NONBLOCK, opening a FIFO waits for a writer, for ever */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        goto fail;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}
