/* SPDX-License-Identifier: MIT */
#pragma once

/* An intrusive, circular, doubly linked list: a struct list_node is embedded in each element and
 * a struct list_node of its own serves as the head. Every operation is O(1) and allocates
 * nothing; an element can sit in several lists through several members.
 *
 *   LIST_HEAD_INIT(head)             initializer of a head (an empty list) named head.
 *   list_init(node)                  an empty head, or an element that is in no list.
 *   list_is_empty(head)
 *   list_is_linked(node)             the element is in a list (a zeroed node counts as unlinked).
 *   list_push_front(head, node), list_push_back(head, node)
 *   list_remove(node)                unlinks it (harmless on an unlinked one) and re-initializes it.
 *   list_move_front(head, node)      removes it wherever it is and pushes it to the front:
 *                                    the "touch" of a most-recently-used-first list.
 *   list_first(head, type, member), list_last(head, type, member)
 *                                    the first/last element, NULL when the list is empty.
 *   list_next(head, elem, member), list_prev(head, elem, member)
 *                                    the neighbour of elem, NULL at either end.
 *   LIST_FOREACH(elem, head, member)                 front to back.
 *   LIST_FOREACH_SAFE(elem, tmp, head, member)       front to back; elem may be removed.
 *   LIST_FOREACH_BACKWARD_SAFE(elem, tmp, head, member)
 *                                    back to front (oldest first in an MRU list); elem may be
 *                                    removed. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct list_node {
        struct list_node *next, *prev;
};

#define LIST_HEAD_INIT(head) { .next = &(head), .prev = &(head) }

static inline void list_init(struct list_node *node) {
        node->next = node->prev = node;
}

static inline bool list_is_empty(const struct list_node *head) {
        return head->next == head;
}

static inline bool list_is_linked(const struct list_node *node) {
        return node->next && node->next != node;
}

static inline void list_insert_between(struct list_node *node, struct list_node *prev, struct list_node *next) {
        node->prev = prev;
        node->next = next;
        prev->next = node;
        next->prev = node;
}

static inline void list_push_front(struct list_node *head, struct list_node *node) {
        list_insert_between(node, head, head->next);
}

static inline void list_push_back(struct list_node *head, struct list_node *node) {
        list_insert_between(node, head->prev, head);
}

static inline void list_remove(struct list_node *node) {
        if (list_is_linked(node)) {
                node->prev->next = node->next;
                node->next->prev = node->prev;
        }
        list_init(node);
}

static inline void list_move_front(struct list_node *head, struct list_node *node) {
        list_remove(node);
        list_push_front(head, node);
}

/* The element of a node, NULL for the head itself. */
#define list_entry_or_null(node, head, type, member)                                    \
        ({                                                                              \
                struct list_node *_n_ = (node);                                         \
                _n_ == (head) ? NULL : container_of(_n_, type, member);                 \
        })

#define list_first(head, type, member) list_entry_or_null((head)->next, (head), type, member)
#define list_last(head, type, member) list_entry_or_null((head)->prev, (head), type, member)
#define list_next(head, elem, member) \
        list_entry_or_null((elem)->member.next, (head), __typeof__(*(elem)), member)
#define list_prev(head, elem, member) \
        list_entry_or_null((elem)->member.prev, (head), __typeof__(*(elem)), member)

#define LIST_FOREACH(elem, head, member)                                                \
        for ((elem) = list_first((head), __typeof__(*(elem)), member); (elem);          \
             (elem) = list_next((head), (elem), member))

#define LIST_FOREACH_SAFE(elem, tmp, head, member)                                      \
        for ((elem) = list_first((head), __typeof__(*(elem)), member),                  \
             (tmp) = (elem) ? list_next((head), (elem), member) : NULL;                 \
             (elem);                                                                    \
             (elem) = (tmp), (tmp) = (elem) ? list_next((head), (elem), member) : NULL)

#define LIST_FOREACH_BACKWARD_SAFE(elem, tmp, head, member)                             \
        for ((elem) = list_last((head), __typeof__(*(elem)), member),                   \
             (tmp) = (elem) ? list_prev((head), (elem), member) : NULL;                 \
             (elem);                                                                    \
             (elem) = (tmp), (tmp) = (elem) ? list_prev((head), (elem), member) : NULL)
