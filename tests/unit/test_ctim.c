/*
 * test_ctim.c - CTIM entities built from hand-filled rows, checked field by field.
 *
 * Expected values were worked out by hand: times from the epoch arithmetic, sighting ids
 * from `printf '%s' <name> | sha256sum` with the version and variant bits set by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ctim.h"
#include "util.h"

#define SHA "fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e"
#define RAW                                                                                        \
    "1585638903.150 77 172.18.32.70 TCP_MISS/200 71217 GET http://my.site.com/ - "                 \
    "DIRECT/my.site.com text/plain DEFAULT_CASE_11-PolicyGroupName-Identity <IW_infr,ns,24> -"

/* The sample's repeated line: allowed, AMP verdict 37 (malicious), no destination address. */
static store_row_t sample_row(void)
{
    store_row_t r = {0};

    r.id = 11;
    r.time_ms = 1585638903150;
    r.elapsed_ms = 77;
    r.appliance = "wsa1.example.com";
    r.client_ip = "172.18.32.70";
    r.method = "GET";
    r.url = "http://my.site.com/";
    r.host = "my.site.com";
    r.result_code = "TCP_MISS";
    r.http_status = 200;
    r.bytes = 71217;
    r.mime = "text/plain";
    r.acl_tag = "DEFAULT_CASE";
    r.action = "allowed";
    r.category = "IW_infr";
    r.wbrs_raw = "ns";
    r.amp_verdict = 37;
    r.sha256 = SHA;
    r.raw = RAW;
    r.malware = 1;
    r.source_name = "access.log";
    r.offset = 1234;
    return r;
}

/* An AMP block of a download, with every relation's ends present. */
static store_row_t download_row(void)
{
    store_row_t r = {0};

    r.time_ms = 1700000001500;
    r.elapsed_ms = 310;
    r.appliance = "wsa2";
    r.client_ip = "198.51.100.23";
    r.user_raw = "EXAMPLE\\asmith@Realm1";
    r.user_domain = "EXAMPLE";
    r.user_name = "asmith";
    r.method = "GET";
    r.url = "http://dl.example.net/f.exe";
    r.host = "dl.example.net";
    r.dest_ip = "203.0.113.9";
    r.result_code = "TCP_DENIED";
    r.http_status = 403;
    r.acl_tag = "BLOCK_AMW_RESP";
    r.action = "blocked";
    r.wbrs_raw = "2.1";
    r.amp_verdict = -1;
    r.sha256 = SHA;
    r.user_agent = "curl/8.0";
    r.raw = "x";
    r.source_name = "b.log";
    r.offset = 0;
    return r;
}

static obs_t ip_obs(const char *value)
{
    obs_t o = {.type = OBS_IP, .value = value, .key = value};
    return o;
}

static const char *str_at(json_t *j, const char *path_key)
{
    return json_string_value(json_object_get(j, path_key));
}

static void assert_observable(json_t *ob, const char *type, const char *value)
{
    assert_non_null(ob);
    assert_string_equal(str_at(ob, "type"), type);
    assert_string_equal(str_at(ob, "value"), value);
    assert_int_equal(json_object_size(ob), 2);
}

static void test_sighting_fields(void **state)
{
    store_row_t r = sample_row();
    obs_t o = ip_obs("172.18.32.70");
    json_t *s = ctim_sighting(&r, &o), *ot, *obs, *t, *rel, *data, *cols, *row;

    (void)state;
    assert_non_null(s);
    assert_string_equal(str_at(s, "id"), "transient:sighting-592e8b4d-5b34-8c70-a2f3-fd2d0e30e17c");
    assert_string_equal(str_at(s, "type"), "sighting");
    assert_string_equal(str_at(s, "schema_version"), "1.0.17");
    assert_int_equal(json_integer_value(json_object_get(s, "count")), 1);
    assert_string_equal(str_at(s, "confidence"), "High");
    assert_true(json_is_true(json_object_get(s, "internal")));
    assert_string_equal(str_at(s, "sensor"), "network.proxy");
    assert_string_equal(str_at(s, "source"), "Secure Web Appliance");
    assert_string_equal(str_at(s, "resolution"), "allowed");
    assert_string_equal(str_at(s, "title"), "Web request allowed: malware detected");
    assert_string_equal(str_at(s, "short_description"),
                        "wsa1.example.com: 172.18.32.70 GET http://my.site.com/ -> 200 "
                        "(DEFAULT_CASE)");
    assert_string_equal(str_at(s, "description"), "```\n" RAW "\n```");

    /* 1585638903 s = 18352 days (2020-03-31) + 26103 s (07:15:03); start is 77 ms earlier */
    ot = json_object_get(s, "observed_time");
    assert_string_equal(str_at(ot, "start_time"), "2020-03-31T07:15:03.073Z");
    assert_string_equal(str_at(ot, "end_time"), "2020-03-31T07:15:03.150Z");

    /* the queried address first; no destination address in this row */
    obs = json_object_get(s, "observables");
    assert_int_equal(json_array_size(obs), 4);
    assert_observable(json_array_get(obs, 0), "ip", "172.18.32.70");
    assert_observable(json_array_get(obs, 1), "url", "http://my.site.com/");
    assert_observable(json_array_get(obs, 2), "domain", "my.site.com");
    assert_observable(json_array_get(obs, 3), "sha256", SHA);

    t = json_object_get(s, "targets");
    assert_int_equal(json_array_size(t), 1);
    assert_string_equal(str_at(json_array_get(t, 0), "type"), "endpoint");
    assert_int_equal(json_array_size(json_object_get(json_array_get(t, 0), "observables")), 1);
    assert_observable(json_array_get(json_object_get(json_array_get(t, 0), "observables"), 0), "ip",
                      "172.18.32.70");
    assert_true(json_equal(json_object_get(json_array_get(t, 0), "observed_time"), ot));

    /* Resolved_To needs a destination address, which this row lacks */
    rel = json_object_get(s, "relations");
    assert_int_equal(json_array_size(rel), 2);
    assert_string_equal(str_at(json_array_get(rel, 0), "origin"), "Secure Web Appliance");
    assert_string_equal(str_at(json_array_get(rel, 0), "relation"), "Connected_To");
    assert_observable(json_object_get(json_array_get(rel, 0), "source"), "ip", "172.18.32.70");
    assert_observable(json_object_get(json_array_get(rel, 0), "related"), "url",
                      "http://my.site.com/");
    assert_string_equal(str_at(json_array_get(rel, 1), "relation"), "Downloaded_From");
    assert_observable(json_object_get(json_array_get(rel, 1), "source"), "sha256", SHA);
    assert_observable(json_object_get(json_array_get(rel, 1), "related"), "url",
                      "http://my.site.com/");

    data = json_object_get(s, "data");
    cols = json_object_get(data, "columns");
    assert_int_equal(json_array_size(json_object_get(data, "rows")), 1);
    row = json_array_get(json_object_get(data, "rows"), 0);
    assert_int_equal(json_array_size(cols), 15);
    assert_int_equal(json_array_size(row), 15);
    assert_string_equal(str_at(json_array_get(cols, 0), "name"), "appliance");
    assert_string_equal(json_string_value(json_array_get(row, 0)), "wsa1.example.com");
    assert_string_equal(str_at(json_array_get(cols, 2), "name"), "user");
    assert_string_equal(json_string_value(json_array_get(row, 2)), "");
    assert_string_equal(str_at(json_array_get(cols, 4), "type"), "url");
    assert_string_equal(json_string_value(json_array_get(row, 4)), "http://my.site.com/");
    assert_string_equal(str_at(json_array_get(cols, 5), "name"), "http_status");
    assert_string_equal(str_at(json_array_get(cols, 5), "type"), "integer");
    assert_int_equal(json_integer_value(json_array_get(row, 5)), 200);
    assert_string_equal(str_at(json_array_get(cols, 10), "name"), "wbrs");
    assert_string_equal(json_string_value(json_array_get(row, 10)), "ns");
    assert_string_equal(str_at(json_array_get(cols, 11), "name"), "amp_verdict");
    assert_string_equal(json_string_value(json_array_get(row, 11)), "37");
    /* no nulls anywhere in the row */
    for (size_t i = 0; i < json_array_size(row); i++)
        assert_false(json_is_null(json_array_get(row, i)));

    json_decref(s);
}

static void test_sighting_id_stable(void **state)
{
    store_row_t a = sample_row(), b = sample_row();
    obs_t o = ip_obs("172.18.32.70");
    json_t *sa, *sb, *sc;

    (void)state;
    sa = ctim_sighting(&a, &o);
    sb = ctim_sighting(&b, &o);
    b.offset = 5678; /* the same line at another offset is another transaction */
    sc = ctim_sighting(&b, &o);
    assert_string_equal(str_at(sa, "id"), str_at(sb, "id"));
    /* without a source name the row's id stands in for it */
    {
        char id[CTIM_SIGHTING_ID_LEN];

        a.source_name = NULL;
        assert_int_equal(ctim_sighting_id(&a, id), 0);
        assert_string_equal(id, "transient:sighting-b40eea87-3153-88b0-b10a-91cd44257c41");
    }
    assert_string_equal(str_at(sc, "id"),
                        "transient:sighting-1aab6024-97c6-8de0-b3c3-a99d89757ddb");
    json_decref(sa);
    json_decref(sb);
    json_decref(sc);
}

static void test_resolution(void **state)
{
    (void)state;
    assert_string_equal(ctim_resolution("allowed"), "allowed");
    assert_string_equal(ctim_resolution("blocked"), "blocked");
    assert_string_equal(ctim_resolution("dropped"), "blocked");
    assert_string_equal(ctim_resolution("monitored"), "detected");
    assert_string_equal(ctim_resolution("warned"), "detected");
    assert_string_equal(ctim_resolution("error"), "detected");
    assert_string_equal(ctim_resolution(NULL), "detected");
}

static void assert_title(const char *action, const char *tag, int malware, const char *want)
{
    store_row_t r = sample_row();
    char title[256];

    r.action = action;
    r.acl_tag = tag;
    r.malware = malware;
    ctim_sighting_title(&r, title, sizeof(title));
    assert_string_equal(title, want);
}

static void test_titles(void **state)
{
    (void)state;
    assert_title("allowed", "DEFAULT_CASE", 0, "Web request allowed");
    assert_title("allowed", "DEFAULT_CASE", 1, "Web request allowed: malware detected");
    assert_title("blocked", "BLOCK_AMW_RESP", 1, "Web request blocked: malware");
    assert_title("blocked", "BLOCK_WEBCAT", 0, "Web request blocked: URL category");
    assert_title("blocked", "BLOCK_WBRS", 0, "Web request blocked: web reputation");
    assert_title("blocked", "BLOCK_ADMIN_DLP", 0, "Web request blocked: data security");
    assert_title("blocked", "BLOCK_AVC", 0, "Web request blocked: application control");
    assert_title("blocked", "NO_PASSWORD", 0, "Web request blocked: authentication");
    assert_title("dropped", "DROP_WBRS", 0, "Web request dropped: web reputation");
    assert_title("monitored", "MONITOR_SUSPECT_USER_AGENT", 0,
                 "Web request monitored: suspect user agent");
    assert_title("warned", "BLOCK_CONTINUE_WEBCAT", 0, "Web request warned: URL category");
    assert_title("error", "OTHER", 0, "Web request failed");
    assert_title("blocked", "BLOCK_SOMETHING_NEW", 0, "Web request blocked");
}

static void test_sighting_resolution_blocked(void **state)
{
    store_row_t r = download_row();
    obs_t o = ip_obs("198.51.100.23");
    json_t *s = ctim_sighting(&r, &o);

    (void)state;
    assert_string_equal(str_at(s, "resolution"), "blocked");
    r.action = "dropped";
    json_decref(s);
    s = ctim_sighting(&r, &o);
    assert_string_equal(str_at(s, "resolution"), "blocked");
    r.action = "monitored";
    json_decref(s);
    s = ctim_sighting(&r, &o);
    assert_string_equal(str_at(s, "resolution"), "detected");
    json_decref(s);
}

static void test_relations_all(void **state)
{
    store_row_t r = download_row();
    obs_t o = {.type = OBS_SHA256, .value = SHA, .key = SHA};
    json_t *s = ctim_sighting(&r, &o), *rel, *obs, *tobs;

    (void)state;
    rel = json_object_get(s, "relations");
    assert_int_equal(json_array_size(rel), 3);
    assert_string_equal(str_at(json_array_get(rel, 0), "relation"), "Connected_To");
    assert_observable(json_object_get(json_array_get(rel, 0), "source"), "ip", "198.51.100.23");
    assert_observable(json_object_get(json_array_get(rel, 0), "related"), "url",
                      "http://dl.example.net/f.exe");
    assert_string_equal(str_at(json_array_get(rel, 1), "relation"), "Resolved_To");
    assert_observable(json_object_get(json_array_get(rel, 1), "source"), "domain",
                      "dl.example.net");
    assert_observable(json_object_get(json_array_get(rel, 1), "related"), "ip", "203.0.113.9");
    assert_string_equal(str_at(json_array_get(rel, 2), "relation"), "Downloaded_From");

    /* the queried hash is not repeated when the row's hash adds itself */
    obs = json_object_get(s, "observables");
    assert_int_equal(json_array_size(obs), 4);
    assert_observable(json_array_get(obs, 0), "sha256", SHA);
    assert_observable(json_array_get(obs, 1), "url", "http://dl.example.net/f.exe");
    assert_observable(json_array_get(obs, 2), "domain", "dl.example.net");
    assert_observable(json_array_get(obs, 3), "ip", "203.0.113.9");

    /* the user as the user query takes it, without the authentication realm */
    tobs = json_object_get(json_array_get(json_object_get(s, "targets"), 0), "observables");
    assert_int_equal(json_array_size(tobs), 2);
    assert_observable(json_array_get(tobs, 1), "user", "EXAMPLE\\asmith");
    assert_string_equal(str_at(s, "title"), "Web request blocked: malware");
    assert_string_equal(str_at(s, "short_description"),
                        "wsa2: 198.51.100.23 GET http://dl.example.net/f.exe -> 403 "
                        "(BLOCK_AMW_RESP)");
    /* an absent AMP verdict is an empty cell, not -1 */
    assert_string_equal(
        json_string_value(json_array_get(
            json_array_get(json_object_get(json_object_get(s, "data"), "rows"), 0), 11)),
        "");
    json_decref(s);
}

static void test_relations_absent(void **state)
{
    store_row_t r = {0};
    obs_t o = ip_obs("10.10.10.1");
    json_t *s, *obs;

    (void)state;
    /* a transparent CONNECT: the URL slot holds host:port, and the host is an address */
    r.time_ms = 1651830000490;
    r.elapsed_ms = 90;
    r.appliance = "wsa1";
    r.client_ip = "2001:db8::7";
    r.method = "TCP_CONNECT";
    r.url = "10.10.10.1:443";
    r.host = "10.10.10.1";
    r.dest_ip = "10.10.10.1";
    r.action = "allowed";
    r.amp_verdict = -1;
    r.raw = "line";
    r.source_name = "c.log";
    s = ctim_sighting(&r, &o);
    assert_non_null(s);
    assert_null(json_object_get(s, "relations"));
    obs = json_object_get(s, "observables");
    assert_int_equal(json_array_size(obs), 1);
    assert_observable(json_array_get(obs, 0), "ip", "10.10.10.1");
    assert_observable(
        json_array_get(
            json_object_get(json_array_get(json_object_get(s, "targets"), 0), "observables"), 0),
        "ipv6", "2001:db8::7");
    assert_string_equal(str_at(s, "short_description"),
                        "wsa1: 2001:db8::7 TCP_CONNECT 10.10.10.1:443 -> 0 (-)");
    json_decref(s);

    /* no client and no user: no target at all */
    r.client_ip = NULL;
    s = ctim_sighting(&r, &o);
    assert_null(json_object_get(s, "targets"));
    json_decref(s);
}

static void test_observables_dedup_normalised(void **state)
{
    store_row_t r = sample_row();
    obs_t o = {.type = OBS_URL, .value = "HTTP://My.Site.com:80/", .key = "http://my.site.com/"};
    json_t *s = ctim_sighting(&r, &o), *obs;

    (void)state;
    obs = json_object_get(s, "observables");
    assert_int_equal(json_array_size(obs), 3);
    assert_observable(json_array_get(obs, 0), "url", "HTTP://My.Site.com:80/");
    assert_observable(json_array_get(obs, 1), "domain", "my.site.com");
    assert_observable(json_array_get(obs, 2), "sha256", SHA);
    json_decref(s);
}

static void test_add_observable(void **state)
{
    store_row_t r = sample_row();
    obs_t ip = ip_obs("172.18.32.70");
    obs_t dom = {.type = OBS_DOMAIN, .value = "Site.com", .key = "site.com"};
    obs_t url = {.type = OBS_URL, .value = "HTTP://MY.SITE.COM/", .key = "http://my.site.com/"};
    obs_t sha = {.type = OBS_SHA256, .value = SHA, .key = SHA};
    json_t *s = ctim_sighting(&r, &ip), *obs;

    (void)state;
    /* already listed by value or by key: nothing added */
    assert_int_equal(ctim_sighting_add_observable(s, &url), 0);
    assert_int_equal(ctim_sighting_add_observable(s, &sha), 0);
    assert_int_equal(ctim_sighting_add_observable(s, &ip), 0);
    obs = json_object_get(s, "observables");
    assert_int_equal(json_array_size(obs), 4);
    /* a parent domain the row does not list is added as sent */
    assert_int_equal(ctim_sighting_add_observable(s, &dom), 0);
    assert_int_equal(json_array_size(obs), 5);
    assert_observable(json_array_get(obs, 4), "domain", "Site.com");
    json_decref(s);
}

static void test_description_truncation(void **state)
{
    char *raw = malloc(6001), *block;
    store_row_t r = sample_row();
    obs_t o = ip_obs("172.18.32.70");
    json_t *s;
    const char *d;
    size_t len;

    (void)state;
    memset(raw, 'a', 6000);
    raw[6000] = '\0';
    r.raw = raw;
    s = ctim_sighting(&r, &o);
    d = str_at(s, "description");
    /* 4 + 4989 + 3 (ellipsis) + 4 = 5000 bytes */
    assert_int_equal(strlen(d), 5000);
    assert_memory_equal(d, "```\naaa", 7);
    assert_string_equal(d + 4 + 4989, "\xe2\x80\xa6\n```");
    json_decref(s);

    /* two-byte characters: 4989 bytes of room holds 2494 of them (4988 bytes) */
    for (size_t i = 0; i < 6000; i += 2)
        memcpy(raw + i, "\xc3\xa9", 2);
    block = ctim_code_block(raw, 5000);
    len = strlen(block);
    assert_int_equal(len, 4 + 4988 + 3 + 4);
    assert_true(util_utf8_valid(block, len));
    assert_memory_equal(block + 4 + 4986, "\xc3\xa9\xe2\x80\xa6", 5);
    free(block);

    /* a short text is not cut; backticks inside lengthen the fence */
    block = ctim_code_block("a ``` b", 5000);
    assert_string_equal(block, "````\na ``` b\n````");
    free(block);
    assert_null(ctim_code_block("x", 10));
    free(raw);
}

static void test_utf8_prefix(void **state)
{
    (void)state;
    assert_int_equal(ctim_utf8_prefix("a\xc3\xa9", 3, 2), 1);
    assert_int_equal(ctim_utf8_prefix("a\xc3\xa9", 3, 3), 3);
    assert_int_equal(ctim_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 6, 5), 3);
    assert_int_equal(ctim_utf8_prefix("abcdef", 6, 4), 4);
}

static void test_verdict(void **state)
{
    obs_t o = {.type = OBS_SHA256,
               .value = "FD5EF49D4213E05F448F11ED9C98253D85829614FBA368A421D14E64C556DA5E",
               .key = SHA};
    int64_t latest = 1585638903150;
    json_t *v;

    (void)state;
    /* 30 days after 2020-03-31 is 2020-04-30 */
    v = ctim_verdict(&o, 2, latest, 30, latest + 1000);
    assert_non_null(v);
    assert_string_equal(str_at(v, "type"), "verdict");
    assert_int_equal(json_integer_value(json_object_get(v, "disposition")), 2);
    assert_string_equal(str_at(v, "disposition_name"), "Malicious");
    assert_observable(json_object_get(v, "observable"), "sha256", o.value);
    assert_string_equal(str_at(json_object_get(v, "valid_time"), "start_time"),
                        "2020-03-31T07:15:03.150Z");
    assert_string_equal(str_at(json_object_get(v, "valid_time"), "end_time"),
                        "2020-04-30T07:15:03.150Z");
    json_decref(v);

    /* 30 days are 2592000000 ms: valid one ms before the end, gone at the end */
    v = ctim_verdict(&o, 2, latest, 30, latest + 2592000000 - 1);
    assert_non_null(v);
    json_decref(v);
    assert_null(ctim_verdict(&o, 2, latest, 30, latest + 2592000000));

    /* 36500 days from 2020-03-31: 2120-03-31 less the 24 leap days in between */
    v = ctim_verdict(&o, 3, latest, 36500, 1767225600000);
    assert_string_equal(str_at(v, "disposition_name"), "Suspicious");
    assert_string_equal(str_at(json_object_get(v, "valid_time"), "end_time"),
                        "2120-03-07T07:15:03.150Z");
    json_decref(v);
    assert_null(ctim_verdict(&o, 0, latest, 30, latest));
}

static void test_disposition_names(void **state)
{
    (void)state;
    assert_string_equal(ctim_disposition_name(1), "Clean");
    assert_string_equal(ctim_disposition_name(2), "Malicious");
    assert_string_equal(ctim_disposition_name(3), "Suspicious");
    assert_string_equal(ctim_disposition_name(4), "Common");
    assert_string_equal(ctim_disposition_name(5), "Unknown");
    assert_null(ctim_disposition_name(0));
    assert_null(ctim_disposition_name(6));
}

static void test_refer_url(void **state)
{
    char *u;

    (void)state;
    u = ctim_refer_url("https://wsa.example/q?t={type}&v={value}&again={value}", "url",
                       "http://a.b/c?d=e f");
    assert_string_equal(u, "https://wsa.example/q?t=url&v=http%3A%2F%2Fa.b%2Fc%3Fd%3De%20f"
                           "&again=http%3A%2F%2Fa.b%2Fc%3Fd%3De%20f");
    free(u);
    /* unknown or broken placeholders stay as written */
    u = ctim_refer_url("https://w/{typ}/{value", "ip", "1.2.3.4");
    assert_string_equal(u, "https://w/{typ}/{value");
    free(u);
    /* multi-byte UTF-8 is encoded byte by byte */
    u = ctim_refer_url("{value}", "user", "EXAMPLE\\j\xc3\xb6rg");
    assert_string_equal(u, "EXAMPLE%5Cj%C3%B6rg");
    free(u);
}

static void test_refer_item(void **state)
{
    obs_t o = ip_obs("2001:db8::1");
    json_t *item, *cats;

    (void)state;
    o.type = OBS_IPV6;
    item = ctim_refer(&o, "https://wsa.example/track?{type}={value}");
    assert_non_null(item);
    assert_string_equal(str_at(item, "id"), "ref-wsa-relay-search-ipv6-2001%3Adb8%3A%3A1");
    assert_string_equal(str_at(item, "url"), "https://wsa.example/track?ipv6=2001%3Adb8%3A%3A1");
    assert_non_null(strstr(str_at(item, "title"), "Search for this "));
    assert_non_null(strstr(str_at(item, "description"), "on the Web Security Appliance"));
    cats = json_object_get(item, "categories");
    assert_int_equal(json_array_size(cats), 2);
    assert_string_equal(json_string_value(json_array_get(cats, 0)), "Search");
    assert_string_equal(json_string_value(json_array_get(cats, 1)), "Web Security Appliance");
    json_decref(item);

    o = ip_obs("10.0.0.1");
    item = ctim_refer(&o, "https://w/{value}");
    assert_string_equal(str_at(item, "title"), "Search for this IP");
    assert_string_equal(str_at(item, "description"),
                        "Lookup this IP on the Web Security Appliance");
    json_decref(item);
}

static void test_docs(void **state)
{
    json_t *d = ctim_docs(json_pack("[i, i, i]", 1, 2, 3));

    (void)state;
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 3);
    assert_int_equal(json_array_size(json_object_get(d, "docs")), 3);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sighting_fields),
        cmocka_unit_test(test_sighting_id_stable),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_titles),
        cmocka_unit_test(test_sighting_resolution_blocked),
        cmocka_unit_test(test_relations_all),
        cmocka_unit_test(test_relations_absent),
        cmocka_unit_test(test_observables_dedup_normalised),
        cmocka_unit_test(test_add_observable),
        cmocka_unit_test(test_description_truncation),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_disposition_names),
        cmocka_unit_test(test_refer_url),
        cmocka_unit_test(test_refer_item),
        cmocka_unit_test(test_docs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
