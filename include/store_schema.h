/*
 * store_schema.h - the text of schema/tracking.sql, compiled in by CMake.
 */
#ifndef WSA_STORE_SCHEMA_H
#define WSA_STORE_SCHEMA_H

extern const char store_schema_sql[];

#endif
