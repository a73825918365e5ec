/*
 * test_http.c - when a reply stops growing: the sightings cap and the time budget.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "http.h"

/* A cap of 3 admits three sightings; the fourth, and every one after it, is refused. */
static void test_admit_up_to_cap(void **state)
{
    http_quota_t q = http_quota_init(3, 1000);

    assert_int_equal(http_quota_admit(&q), 1);
    assert_int_equal(http_quota_admit(&q), 1);
    assert_int_equal(http_quota_admit(&q), 1);
    assert_int_equal(q.used, 3);
    assert_int_equal(q.full, 0);
    assert_int_equal(http_quota_admit(&q), 0);
    assert_int_equal(q.full, 1);
    assert_int_equal(http_quota_admit(&q), 0);
    assert_int_equal(q.used, 3);
}

static void test_cap_of_zero(void **state)
{
    http_quota_t q = http_quota_init(0, 1000);

    assert_int_equal(http_quota_admit(&q), 0);
    assert_int_equal(q.full, 1);
    assert_int_equal(q.used, 0);
}

/* The deadline is reached at its own millisecond, and once reached it stays reached. */
static void test_deadline(void **state)
{
    http_quota_t q = http_quota_init(10, 5000);

    assert_int_equal(http_quota_in_time(&q, 0), 1);
    assert_int_equal(http_quota_in_time(&q, 4999), 1);
    assert_int_equal(q.late, 0);
    assert_int_equal(http_quota_in_time(&q, 5000), 0);
    assert_int_equal(q.late, 1);
    assert_int_equal(http_quota_in_time(&q, 4000), 0);
}

/*
 * A full reply is not a late one: the handler still answers verdicts while time remains,
 * and a late reply admits nothing it was not already building (the handler asks the time
 * first); the two flags say which warning the reply gets.
 */
static void test_full_and_late_are_separate(void **state)
{
    http_quota_t q = http_quota_init(1, 100);

    assert_int_equal(http_quota_admit(&q), 1);
    assert_int_equal(http_quota_admit(&q), 0);
    assert_int_equal(http_quota_in_time(&q, 99), 1);
    assert_int_equal(q.late, 0);
    assert_int_equal(http_quota_in_time(&q, 100), 0);
    assert_int_equal(q.full, 1);
    assert_int_equal(q.late, 1);

    q = http_quota_init(5, 100);
    assert_int_equal(http_quota_in_time(&q, 150), 0);
    assert_int_equal(q.full, 0);
    assert_int_equal(q.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit_up_to_cap),
        cmocka_unit_test(test_cap_of_zero),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_full_and_late_are_separate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
