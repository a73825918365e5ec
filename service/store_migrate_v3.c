/*
 * store_migrate_v3.c - schema version 3: hosts found by what they end in.
 *
 * A domain observable matches its host and the host's subdomains. Up to version 2 this was
 * a walk over every row of the registered domain, filtered on the host: exact for the
 * registered domain itself, but for a deeper name (evil.s3.amazonaws.com) a read of all of
 * amazonaws.com's traffic to find a few rows. Version 3 keeps each host with its labels
 * reversed (host_rev, "com.amazonaws.s3.evil"), indexed, so that the hosts ending in
 * ".s3.amazonaws.com" are one range, "com.amazonaws.s3." up to "com.amazonaws.s3/" ('/'
 * follows '.'), and each is then read newest first through tx_host (store_query.c).
 *
 * host_rev is set only where the host is a strict subdomain of its registered domain: only
 * such a host can be a strict subdomain of a name deeper than its registered domain (the
 * registered domain is taken from the last labels, which the two share), and the rows of
 * bare registered domains and IP literals (no registered domain) cost no index entry. The
 * same rule makes the range give exactly the rows the registered domain's walk would.
 *
 * Existing rows were filled here in SQL: the reversal written as a recursive split at the
 * dots. The version after this one (store_migrate_keys.c) replaced host_rev's index and the
 * column indexes with tx_keys; the column itself stays, unread and NULL in new rows. This
 * step stays so that a version 2 database passes through the same states as every other.
 */
#include "store_schema.h"

const char store_migration_v3_sql[] =
    "ALTER TABLE transactions ADD COLUMN host_rev TEXT;\n"
    /*
     * Each distinct host once (from tx_host alone), split from the left: a step moves the
     * first label of what is left to the front of the reversed text; the last step, with
     * no dot left, completes it.
     */
    "CREATE TEMP TABLE host_rev_map (host TEXT PRIMARY KEY, rev TEXT NOT NULL) WITHOUT ROWID;\n"
    "WITH RECURSIVE split (host, rest, rev) AS ("
    " SELECT DISTINCT host, host, NULL FROM transactions WHERE host IS NOT NULL"
    " UNION ALL"
    " SELECT host,"
    " CASE WHEN instr(rest, '.') > 0 THEN substr(rest, instr(rest, '.') + 1) END,"
    " CASE WHEN instr(rest, '.') > 0 THEN substr(rest, 1, instr(rest, '.') - 1) ELSE rest END"
    " || coalesce('.' || rev, '')"
    " FROM split WHERE rest IS NOT NULL)"
    " INSERT INTO temp.host_rev_map (host, rev) SELECT host, rev FROM split WHERE rest IS NULL;\n"
    "UPDATE transactions SET host_rev = (SELECT m.rev FROM temp.host_rev_map AS m"
    " WHERE m.host = transactions.host)"
    " WHERE reg_domain IS NOT NULL AND host <> reg_domain;\n"
    "DROP TABLE temp.host_rev_map;\n"
    /* after the fill, so that the index is built once in order rather than row by row */
    "CREATE INDEX tx_host_rev ON transactions (host_rev) WHERE host_rev IS NOT NULL;\n"
    "PRAGMA user_version = 3;\n";
