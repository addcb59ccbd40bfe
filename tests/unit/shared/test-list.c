/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "list.h"

struct item {
        int value;
        struct list_node by_age;
        struct list_node other;
};

/* The values of the list front to back, as one number: 3 -> 1 -> 2 gives 312. */
static int order(struct list_node *head) {
        struct item *i;
        int n = 0;

        LIST_FOREACH(i, head, by_age)
                n = n * 10 + i->value;
        return n;
}

static int order_backward(struct list_node *head) {
        struct item *i, *tmp;
        int n = 0;

        LIST_FOREACH_BACKWARD_SAFE(i, tmp, head, by_age)
                n = n * 10 + i->value;
        return n;
}

static void test_empty(void **state) {
        struct list_node head = LIST_HEAD_INIT(head);

        assert_true(list_is_empty(&head));
        assert_null(list_first(&head, struct item, by_age));
        assert_null(list_last(&head, struct item, by_age));
        assert_int_equal(order(&head), 0);
        assert_int_equal(order_backward(&head), 0);
}

static void test_push_and_walk(void **state) {
        struct list_node head;
        struct item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 };

        list_init(&head);
        list_push_front(&head, &a.by_age);
        list_push_back(&head, &b.by_age);
        list_push_front(&head, &c.by_age);
        assert_int_equal(order(&head), 312);
        assert_int_equal(order_backward(&head), 213);
        assert_ptr_equal(list_first(&head, struct item, by_age), &c);
        assert_ptr_equal(list_last(&head, struct item, by_age), &b);
        assert_ptr_equal(list_next(&head, &c, by_age), &a);
        assert_null(list_next(&head, &b, by_age));
        assert_ptr_equal(list_prev(&head, &a, by_age), &c);
        assert_null(list_prev(&head, &c, by_age));
}

static void test_remove_and_linked(void **state) {
        struct list_node head = LIST_HEAD_INIT(head);
        struct item a = { .value = 1 }, b = { .value = 2 };

        /* zeroed and initialized nodes both count as unlinked; removing them is harmless */
        assert_false(list_is_linked(&a.by_age));
        list_remove(&a.by_age);
        assert_false(list_is_linked(&a.by_age));
        list_push_back(&head, &a.by_age);
        list_push_back(&head, &b.by_age);
        assert_true(list_is_linked(&a.by_age));
        list_remove(&a.by_age);
        assert_false(list_is_linked(&a.by_age));
        assert_int_equal(order(&head), 2);
        list_remove(&b.by_age);
        assert_true(list_is_empty(&head));
}

static void test_move_front_is_mru_touch(void **state) {
        struct list_node head = LIST_HEAD_INIT(head);
        struct item it[4];

        for (int i = 0; i < 4; i++) {
                it[i] = (struct item) { .value = i + 1 };
                list_push_front(&head, &it[i].by_age);
        }
        assert_int_equal(order(&head), 4321);
        list_move_front(&head, &it[1].by_age);
        assert_int_equal(order(&head), 2431);
        list_move_front(&head, &it[1].by_age); /* already first */
        assert_int_equal(order(&head), 2431);
        list_move_front(&head, &it[0].by_age); /* the oldest */
        assert_int_equal(order(&head), 1243);
}

static void test_remove_while_walking(void **state) {
        struct list_node head = LIST_HEAD_INIT(head);
        struct item it[6], *i, *tmp;

        for (int k = 0; k < 6; k++) {
                it[k] = (struct item) { .value = k + 1 };
                list_push_back(&head, &it[k].by_age);
        }
        LIST_FOREACH_SAFE(i, tmp, &head, by_age)
                if (i->value % 2 == 0)
                        list_remove(&i->by_age);
        assert_int_equal(order(&head), 135);
        /* evicting from the old end, as a cache does */
        LIST_FOREACH_BACKWARD_SAFE(i, tmp, &head, by_age)
                if (i->value > 1)
                        list_remove(&i->by_age);
        assert_int_equal(order(&head), 1);
}

static void test_two_lists(void **state) {
        struct list_node ages = LIST_HEAD_INIT(ages), others = LIST_HEAD_INIT(others);
        struct item a = { .value = 1 }, b = { .value = 2 };
        struct item *i;
        int n = 0;

        list_push_back(&ages, &a.by_age);
        list_push_back(&ages, &b.by_age);
        list_push_back(&others, &b.other);
        list_push_back(&others, &a.other);
        LIST_FOREACH(i, &others, other)
                n = n * 10 + i->value;
        assert_int_equal(n, 21);
        assert_int_equal(order(&ages), 12);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_push_and_walk),
                cmocka_unit_test(test_remove_and_linked),
                cmocka_unit_test(test_move_front_is_mru_touch),
                cmocka_unit_test(test_remove_while_walking),
                cmocka_unit_test(test_two_lists),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
