/*
 * test_ops.c - what an operator meets around the database and the logs: first starts racing
 * each other, databases that cannot be opened and why, and the server's request log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

extern char **environ;

#define SHAPES TEST_DATA_DIR "/own-shapes.log"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    len = (long)fread(buf, 1, (size_t)len, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/*
 * Forks `n` `wsa-relay ingest --db <db> <own-shapes.log>` processes that all wait on one
 * pipe and exec together once it closes, so that their first opens of a database that does
 * not exist yet overlap as closely as processes can. Each one's output goes to
 * <dir>/race-<i>.out and its exit status to rc[i].
 */
static void ingest_together(const char *dir, const char *db, int n, int rc[])
{
    pid_t pids[16];
    int gate[2];

    assert_true(n <= 16);
    assert_int_equal(pipe(gate), 0);
    for (int i = 0; i < n; i++) {
        char out[320];

        snprintf(out, sizeof(out), "%s/race-%d.out", dir, i);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char go;
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

            close(gate[1]);
            if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(127);
            /* the parent's close of the write end wakes every child at once */
            if (read(gate[0], &go, 1) != 0)
                _exit(126);
            execl(WSA_RELAY_BIN, WSA_RELAY_BIN, "ingest", "--db", db, SHAPES, (char *)NULL);
            _exit(127);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < n; i++) {
        int status = 0;

        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        rc[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

/*
 * Several first-time starts on the same new path (a service and its ingest timer on first
 * boot): each must find the database either missing or complete, never half-made, and none
 * may call it foreign. Contention at the end of a load is not an operator's problem: no WARN.
 */
static void test_first_opens_race(void **state)
{
    h_server_t s;
    int rounds = 25, procs = 6;

    h_setup(&s);
    for (int r = 0; r < rounds; r++) {
        char db[320];
        int rc[16];

        snprintf(db, sizeof(db), "%s/race-%d.db", s.dir, r);
        ingest_together(s.dir, db, procs, rc);
        for (int i = 0; i < procs; i++) {
            char out[320];
            char *text;

            snprintf(out, sizeof(out), "%s/race-%d.out", s.dir, i);
            text = slurp(out);
            if (rc[i] != 0 || strstr(text, "WARN") != NULL)
                fail_msg("round %d, process %d of %d, exit %d: %s", r, i, procs, rc[i], text);
            free(text);
        }
    }
    h_teardown(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_opens_race),
    };

    /* the children run with this environment: no setting of the caller's may leak in */
    for (size_t i = 0; environ[i] != NULL;) {
        if (strncmp(environ[i], "WSA_RELAY_", 10) == 0) {
            char name[128];
            size_t len = strcspn(environ[i], "=");

            snprintf(name, sizeof(name), "%.*s", (int)len, environ[i]);
            unsetenv(name);
            continue;
        }
        i++;
    }
    if (getenv("LSAN_OPTIONS") == NULL)
        setenv("LSAN_OPTIONS", "suppressions=" TEST_DATA_DIR "/../lsan.supp", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
