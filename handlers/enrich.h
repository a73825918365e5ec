/*
 * enrich.h - what observe and deliberate share: verdicts from the appliance's evidence,
 * the reply envelope, and how a failed store query is answered.
 */
#ifndef WSA_HANDLERS_ENRICH_H
#define WSA_HANDLERS_ENRICH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "http.h"

/**
 * Appends to `docs` the verdict on `o` when the store holds evidence still valid at
 * `now_ms`. Returns 0, or -1 when the store query failed (see handle_store_failed).
 */
int handle_verdict(http_call_t *call, const obs_t *o, int64_t now_ms, json_t *docs);

/**
 * The enrich payload: {"sightings": {count, docs}, "verdicts": {count, docs}}, each key
 * only when its array is not empty. Steals both arrays (either may be NULL).
 */
json_t *handle_enrich_data(json_t *sightings, json_t *verdicts);

/**
 * Answers after a failed store query. When the request budget ran out (`timed_out`, read
 * with store_interrupted before the deadline is cleared, which resets it): `data` (stolen)
 * with a warning that says how far it got (`done` of `total` observables). Any other
 * failure is a fatal `internal error`.
 */
void handle_store_failed(http_call_t *call, json_t *data, int timed_out, size_t done, size_t total);

#endif
