/*
 * store_migrate_v2.c - schema version 2: how a file source is recognised.
 *
 * Version 1 kept only the SHA-256 of a source's first bytes, and replaced it with the hash
 * of a longer prefix when the file had grown: an early copy of the file was then no longer
 * recognised and its lines were stored again; and two files that merely began alike were
 * one source, so the second one's first `offset` bytes were skipped without being stored.
 * Version 2 keeps the head bytes themselves, so that a file matches when the shorter head
 * is a prefix of the longer, and a fingerprint of the bytes before the committed offset,
 * so that a file whose bytes there differ is another source.
 *
 * Sources of version 1 keep their identity (hash) and are still found through it; the first
 * read of such a file records its head and fingerprint and clears the old identity. New
 * file sources have no identity; stdin sources have neither identity nor head.
 */
#include "store_schema.h"

const char store_migration_v2_sql[] =
    /* the first min(size, 1024) bytes of the file, the longest seen; prefix_len is its length */
    "ALTER TABLE sources ADD COLUMN head BLOB;\n"
    /* the SHA-256 of the min(tail_at, 1024) bytes ending at tail_at (the committed offset) */
    "ALTER TABLE sources ADD COLUMN tail_at INTEGER;\n"
    "ALTER TABLE sources ADD COLUMN tail_sha BLOB;\n"
    /*
     * The head itself is the key: a range on it finds every head that begins with a short
     * file's bytes, and an equality finds a full 1024-byte head. A shorter key (64 bytes)
     * would lump together files whose W3C header lines agree, which share far more than
     * that, and each candidate costs a comparison of its head.
     */
    "CREATE INDEX sources_head ON sources (head) WHERE head IS NOT NULL;\n"
    /* heads of files that were shorter than 1024 bytes: few, and each looked up by length */
    "CREATE INDEX sources_short_head ON sources (length(head)) WHERE length(head) < 1024;\n"
    "PRAGMA user_version = 2;\n";
