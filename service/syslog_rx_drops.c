/*
 * syslog_rx_drops.c - a UDP socket's drop count from /proc/net/udp{,6}.
 *
 * SO_RXQ_OVFL tells the count only with a datagram that does arrive, so drops after the
 * last one of a burst would wait for the next datagram, perhaps forever. The kernel also
 * shows the same counter in the socket's line of /proc/net/udp (the "drops" column, found
 * by the socket's inode), which the receiver reads each second and at the end of a run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "syslog_rx_priv.h"

/* columns of a /proc/net/udp line, counted from 0 */
#define COL_INODE 9
#define COL_DROPS 12

int syslog_rx__proc_drops(int fd, int v6, uint32_t *total)
{
    FILE *f = fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "r");
    char line[512];
    struct stat sb;
    int found = -1;

    if (f == NULL)
        return -1;
    if (fstat(fd, &sb) != 0) {
        fclose(f);
        return -1;
    }
    while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long inode = 0, drops = 0;
        char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
        int col = 0;

        for (; tok != NULL; tok = strtok_r(NULL, " \t\n", &save), col++) {
            if (col == COL_INODE)
                inode = strtoull(tok, NULL, 10);
            else if (col == COL_DROPS)
                drops = strtoull(tok, NULL, 10);
        }
        if (col > COL_DROPS && inode == (unsigned long long)sb.st_ino) {
            *total = (uint32_t)drops;
            found = 0;
        }
    }
    fclose(f);
    return found;
}
