/* SPDX-License-Identifier: MIT */
#include "authorize.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "errors.h"
#include "util.h"

/* Long enough to type a password; polkit itself gives up on an abandoned prompt. */
#define POLKIT_TIMEOUT_USEC (5ULL * 60 * 1000 * 1000)

struct query {
        sd_bus_message *request;
        char *action;
        authorize_callback_t callback;
        void *userdata;
        sd_bus_track *caller;     /* to cancel the check when the caller goes away */
        char cancel_id[64];
};

int authorize_uid_from_creds(sd_bus_creds *creds, uid_t *ret) {
        /* An augmented field was read from /proc after the fact, not vouched for by the bus: the
         * sender may have exec'd a setuid program or passed its connection on meanwhile. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return -EPERM;
        return sd_bus_creds_get_euid(creds, ret);
}

int authorize_caller_uid(sd_bus_message *request, uid_t *ret) {
        sd_bus_creds *creds = NULL;
        int r = sd_bus_query_sender_creds(request, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = authorize_uid_from_creds(creds, ret);
        if (r == -EPERM)
                log_error("credentials of %s carry no uid vouched for by the bus; refusing",
                          sd_bus_message_get_sender(request) ?: "the caller");
        sd_bus_creds_unref(creds);
        return r;
}

static void query_free(struct query *q) {
        sd_bus_track_unref(q->caller);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct query *q = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_error("polkit check of %s failed: %s", q->action, e->message ?: e->name);
                sd_bus_error_setf(&error, ERR_NOT_AUTHORIZED, "Authorization check failed: %s", e->message ?: e->name);
                r = -EACCES;
                goto done;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_error("polkit sent a malformed answer for %s: %s", q->action, strerr(r));
                sd_bus_error_setf(&error, ERR_NOT_AUTHORIZED, "Authorization service sent a malformed answer.");
                r = -EACCES;
                goto done;
        }
        if (authorized)
                r = 0;
        else {
                r = -EACCES;
                sd_bus_error_setf(&error, ERR_NOT_AUTHORIZED,
                                  challenge ? "Authentication is required for %s (no agent answered or interaction was not allowed)."
                                            : "Not authorized to perform %s.",
                                  q->action);
        }
done:
        q->callback(q->request, r, &error, q->userdata);
        sd_bus_error_free(&error);
        query_free(q);
        /* The slot was floating; it goes away with this return. */
        return 0;
}

/* The caller left while polkit may still be asking for a password: withdraw the question, so that
 * the agent's prompt goes away and the answer (an error) frees the request's reservation now. */
static int on_caller_gone(sd_bus_track *track, void *userdata) {
        struct query *q = userdata;
        sd_bus *bus = sd_bus_track_get_bus(track);

        (void) sd_bus_call_method_async(bus, NULL, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                        "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization", NULL, NULL,
                                        "s", q->cancel_id);
        /* Positive: handled. sd-bus calls a handler that returns 0 again, and again. */
        return 1;
}

int authorize_check(sd_bus_message *request, uid_t uid, const char *action, const char *device,
                    bool no_user_interaction, authorize_callback_t callback, void *userdata) {
        sd_bus *bus = sd_bus_message_get_bus(request);
        sd_bus_message *call = NULL;
        const char *sender = sd_bus_message_get_sender(request);
        int r;

        if (uid == 0)
                return 1;
        if (!sender)
                return -EBADMSG;

        bool interactive = !no_user_interaction && sd_bus_message_get_allow_interactive_authorization(request) > 0;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        struct query *q = calloc(1, sizeof(*q));
        if (!q) {
                r = -ENOMEM;
                goto out;
        }
        static uint64_t counter;
        snprintf(q->cancel_id, sizeof(q->cancel_id), "exfat-mountd-%d-%" PRIu64, (int) getpid(), ++counter);

        /* The device as a detail: rules can match on it (action.lookup("device")) and agents show it. */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, action, 1,
                                  "device", device, (uint32_t) (interactive ? 1 : 0), q->cancel_id);
        if (r < 0) {
                free(q);
                goto out;
        }
        q->request = sd_bus_message_ref(request);
        q->action = strdup(action);
        q->callback = callback;
        q->userdata = userdata;
        if (!q->action) {
                query_free(q);
                r = -ENOMEM;
                goto out;
        }
        if (interactive) {
                /* Only an interactive check can take long enough to be worth withdrawing. */
                r = sd_bus_track_new(bus, &q->caller, on_caller_gone, q);
                if (r >= 0)
                        r = sd_bus_track_add_sender(q->caller, request);
                if (r < 0) {
                        query_free(q);
                        goto out;
                }
        }
        r = sd_bus_call_async(bus, NULL, call, on_polkit_reply, q, POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                query_free(q);
                goto out;
        }
        r = 0;
out:
        sd_bus_message_unref(call);
        return r;
}
