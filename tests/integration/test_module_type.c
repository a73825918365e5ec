/*
 * test_module_type.c - deploy/module_type.json, what an operator registers with Threat
 * Response, against the server it describes: the properties the platform needs to sign tokens
 * for it, and supported-apis naming exactly the token-checked routes the server answers
 * (the platform calls what is listed, and a route the server has but the list lacks is
 * never called).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "harness.h"

#define MODULE_TYPE TEST_DATA_DIR "/../../deploy/module_type.json"

static json_t *module;
static h_server_t server;

static int setup(void **state)
{
    const char *const env[] = {"WSA_RELAY_SECRET=" H_SECRET, NULL};
    json_error_t error;

    module = json_load_file(MODULE_TYPE, JSON_REJECT_DUPLICATES, &error);
    if (module == NULL)
        fail_msg("%s: line %d: %s", MODULE_TYPE, error.line, error.text);
    h_clean_env();
    h_setup(&server);
    h_start(&server, env);
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(h_stop(&server), 0);
    h_teardown(&server);
    json_decref(module);
    return 0;
}

static const char *text_of(const json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));

    if (value == NULL || value[0] == '\0')
        fail_msg("\"%s\" is not a non-empty string", key);
    return value;
}

static json_t *apis(void)
{
    json_t *list = json_object_get(json_object_get(module, "properties"), "supported-apis");

    assert_true(json_is_array(list));
    return list;
}

static int listed(const char *api)
{
    size_t i;
    json_t *v;

    json_array_foreach(apis(), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), api) == 0)
            return 1;
    }
    return 0;
}

static void test_descriptions(void **state)
{
    json_t *refs = json_object_get(module, "external_references"), *ref;
    size_t i;

    assert_true(json_is_object(module));
    text_of(module, "title");
    text_of(module, "default_name");
    text_of(module, "short_description");
    text_of(module, "description");
    text_of(module, "tips");
    assert_true(json_is_array(refs));
    assert_true(json_array_size(refs) >= 1);
    json_array_foreach(refs, i, ref)
    {
        text_of(ref, "label");
        assert_int_equal(strncmp(text_of(ref, "link"), "https://", 8), 0);
    }
    assert_true(json_is_array(json_object_get(module, "flags")));
}

static void test_configuration_spec(void **state)
{
    json_t *spec = json_object_get(module, "configuration_spec"), *field, *limit = NULL;
    size_t i;

    assert_true(json_is_array(spec));
    json_array_foreach(spec, i, field)
    {
        const char *key = text_of(field, "key");
        /* the platform strips custom_ to make the claim the relay reads */
        assert_int_equal(strncmp(key, "custom_", 7), 0);
        text_of(field, "type");
        text_of(field, "label");
        assert_true(json_is_boolean(json_object_get(field, "required")));
        if (strcmp(key, "custom_CTR_ENTITIES_LIMIT") == 0)
            limit = field;
    }
    assert_non_null(limit);
    assert_string_equal(text_of(limit, "type"), "integer");
    assert_true(json_is_false(json_object_get(limit, "required")));
    assert_non_null(strstr(text_of(limit, "tooltip"), "1000"));
}

static void test_properties(void **state)
{
    json_t *props = json_object_get(module, "properties");

    assert_true(json_is_object(props));
    assert_int_equal(strncmp(text_of(props, "url"), "https://", 8), 0);
    assert_string_equal(text_of(props, "auth-type"), "configuration-token");
    assert_string_equal(text_of(props, "configuration-token-alg"), "RS256");
    /* one of the hosts WSA_RELAY_JWKS_HOSTS allows by default */
    assert_string_equal(text_of(props, "custom_jwks_host"), "visibility.amp.cisco.com");
}

static void test_capabilities_match_apis(void **state)
{
    json_t *caps = json_object_get(module, "capabilities"), *cap, *api;
    size_t i, j;

    assert_true(json_is_array(caps));
    assert_int_equal(json_array_size(caps), 4);
    json_array_foreach(caps, i, cap)
    {
        const char *id = text_of(cap, "id");
        size_t n = strlen(id);
        int found = 0;
        text_of(cap, "description");
        json_array_foreach(apis(), j, api)
        {
            const char *a = json_string_value(api);
            if (strncmp(a, id, n) == 0 && (a[n] == '\0' || a[n] == '/'))
                found = 1;
        }
        if (!found)
            fail_msg("capability %s has no supported api", id);
    }
}

/* POST /<api> without a token: 404 when the server has no such route. */
static long probe(const char *api, h_reply_t *r)
{
    char path[128];
    h_client_t c;

    snprintf(path, sizeof(path), "/%s", api);
    h_client_init(&c, 0);
    h_request(&c, &server, "POST", path, NULL, "[]", 2, r);
    h_client_free(&c);
    return r->status;
}

static void test_routes_listed_exactly(void **state)
{
    /* every route the contract knows that checks a token */
    static const char *const known[] = {
        "health",
        "observe/observables",
        "deliberate/observables",
        "refer/observables",
        "respond/observables",
        "respond/trigger",
        "tiles",
        "tiles/tile",
        "tiles/tile-data",
        "assets/resolve-latest",
        "assets/resolve",
        "assets/describe",
        "assets/locate",
    };
    size_t i, n = sizeof(known) / sizeof(known[0]);
    json_t *api;

    for (i = 0; i < n; i++) {
        h_reply_t r;
        long status = probe(known[i], &r);
        if (listed(known[i])) {
            /* listed: the route is there and wants a token */
            h_assert_error(&r, 200, "authorization error",
                           "Authorization failed: Authorization header is missing");
        } else if (status != 404) {
            fail_msg("/%s answers HTTP %ld but supported-apis does not list it", known[i], status);
        }
        h_reply_free(&r);
    }
    /* nothing listed that the contract does not know */
    json_array_foreach(apis(), i, api)
    {
        size_t k;
        assert_true(json_is_string(api));
        for (k = 0; k < n && strcmp(known[k], json_string_value(api)) != 0; k++)
            ;
        if (k == n)
            fail_msg("supported-apis lists %s, which is no contract route", json_string_value(api));
    }
    /* today's four, exactly */
    assert_int_equal(json_array_size(apis()), 4);
    assert_true(listed("health"));
    assert_true(listed("observe/observables"));
    assert_true(listed("deliberate/observables"));
    assert_true(listed("refer/observables"));
}

static void test_listed_apis_answer_with_token(void **state)
{
    char *line = h_bearer("{}");
    const char *const headers[] = {line, NULL};
    size_t i;
    json_t *api;

    json_array_foreach(apis(), i, api)
    {
        char path[128];
        h_client_t c;
        h_reply_t r;
        snprintf(path, sizeof(path), "/%s", json_string_value(api));
        h_client_init(&c, 0);
        h_request(&c, &server, "POST", path, headers, "[]", 2, &r);
        h_assert_json(&r);
        assert_int_equal(r.status, 200);
        if (json_object_get(r.json, "data") == NULL)
            fail_msg("%s: %s", path, r.body);
        h_reply_free(&r);
        h_client_free(&c);
    }
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptions),
        cmocka_unit_test(test_configuration_spec),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_capabilities_match_apis),
        cmocka_unit_test(test_routes_listed_exactly),
        cmocka_unit_test(test_listed_apis_answer_with_token),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
