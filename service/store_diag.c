/*
 * store_diag.c - why a database cannot be opened. SQLite says only "unable to open database
 * file" or "disk I/O error" for a folder, a read-only file system or a permission; the path
 * itself tells which, and what the operator has to change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "store_priv.h"

/* The folder part of a path: "var" for "var/t.db", "." for "t.db", "/" for "/t.db". */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    dir = strndup(path, (size_t)(slash - path));
    return dir;
}

/* "the folder var", or "the current folder" for "." */
static void name_folder(const char *dir, char *out, size_t outlen)
{
    if (strcmp(dir, ".") == 0)
        snprintf(out, outlen, "the current folder");
    else
        snprintf(out, outlen, "the folder %s", dir);
}

/* 0 when this user may create files in `dir`, else the errno that says why not. */
static int folder_unwritable(const char *dir)
{
    struct statvfs vfs;

    if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0)
        return EROFS;
    if (access(dir, W_OK | X_OK) != 0)
        return errno;
    return 0;
}

/* 0 when `path` is missing or writable by this user, else the errno that says why not. */
static int file_unwritable(const char *path)
{
    if (access(path, W_OK) == 0 || errno == ENOENT)
        return 0;
    return errno;
}

/* The file is there: can this connection read it, and write what it needs next to it? */
static int explain_existing(store_t *st, const char *dir)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    /* STORE_ERR_LEN is short: the path comes first, and the advice must fit after it */
    const char *need = st->mode == STORE_READ_ONLY
                           ? "; even to be read, the tracking database needs a writable folder "
                             "for its -wal and -shm files"
                           : "; the tracking database needs a writable folder for its -wal and "
                             "-shm files";
    char where[4096];
    int e;

    name_folder(dir, where, sizeof(where));
    if (access(st->path, R_OK) != 0)
        return store__failf(st, "this user may not read the database file (%s)", strerror(errno));
    if (st->mode == STORE_READ_WRITE && (e = file_unwritable(st->path)) != 0 && e != EROFS)
        return store__failf(st, "this user may not write the database file (%s)", strerror(e));
    if ((e = folder_unwritable(dir)) == EROFS)
        return store__failf(st, "%s is on a read-only file system%s", where, need);
    if (e != 0)
        return store__failf(st, "this user may not create files in %s (%s)%s", where, strerror(e),
                            need);
    if (st->mode == STORE_READ_WRITE && (e = file_unwritable(st->path)) != 0)
        return store__failf(st, "the database file is on a read-only file system");
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char side[4096];

        snprintf(side, sizeof(side), "%s%s", st->path, suffixes[i]);
        if ((e = file_unwritable(side)) != 0)
            return store__failf(st, "this user may not write the database's %s file (%s)",
                                suffixes[i], strerror(e));
    }
    return 0;
}

/* The file is not there (stat failed with `err`). */
static int explain_missing(store_t *st, const char *dir, int err)
{
    char where[4096];
    struct stat sb;
    int e;

    name_folder(dir, where, sizeof(where));
    if (err == EACCES)
        return store__failf(st,
                            "this user may not look into a folder on the way to the "
                            "database (%s)",
                            strerror(err));
    if (err == ENOTDIR)
        return store__failf(st, "a part of the path before the file name is not a folder");
    if (err != ENOENT)
        return 0;
    if (stat(dir, &sb) != 0)
        return errno == ENOENT ? store__failf(st, "%s does not exist", where) : 0;
    if (!S_ISDIR(sb.st_mode))
        return store__failf(st, "%s is not a folder", dir);
    if (st->mode == STORE_READ_ONLY)
        return store__failf(st, "the database does not exist (wsa-relay ingest creates it)");
    if ((e = folder_unwritable(dir)) == EROFS)
        return store__failf(st, "cannot create the database: %s is on a read-only file system",
                            where);
    if (e != 0)
        return store__failf(st,
                            "cannot create the database: this user may not create files in %s "
                            "(%s)",
                            where, strerror(e));
    return 0;
}

int store__explain_open(store_t *st)
{
    char *dir = parent_of(st->path);
    struct stat sb;
    int rc = 0;

    if (dir == NULL)
        return 0;
    if (stat(st->path, &sb) != 0)
        rc = explain_missing(st, dir, errno);
    else if (S_ISDIR(sb.st_mode))
        rc = store__failf(st, "this is a folder; the database path must name a file in it");
    else if (!S_ISREG(sb.st_mode))
        rc = store__failf(st, "not a regular file");
    else
        rc = explain_existing(st, dir);
    free(dir);
    return rc == 0 ? 0 : 1;
}
