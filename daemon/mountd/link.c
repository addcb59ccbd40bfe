/* SPDX-License-Identifier: MIT */
#include "link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct watch {
        const struct link_handlers *h;
        void *userdata;
};

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct watch *w = userdata;
        union link_payload p;
        enum link_type type;
        int passed_fd = -1;

        memset(&p, 0, sizeof(p));
        int r = link_recv(fd, 0, &type, &p, sizeof(p), &passed_fd);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r >= 0 && passed_fd >= 0) {
                /* protocol.c only lets fds through on D→W types; a worker never sends those. */
                close(passed_fd);
                r = -EBADMSG;
        }
        if (r >= 0 && (type == LINK_DEVICE || type == LINK_FUSE || type == LINK_SET_LABEL || type == LINK_SHUTDOWN))
                r = -EPROTO;
        if (r < 0) {
                /* Stop watching first: the handler may free the owner (and so this source). */
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                w->h->gone(w->userdata, r);
                return 0;
        }
        w->h->message(w->userdata, type, &p);
        return 0;
}

int link_watch(sd_event *e, int sock, const struct link_handlers *h, void *userdata, sd_event_source **ret) {
        struct watch *w = calloc(1, sizeof(*w));
        sd_event_source *s = NULL;
        int r;

        if (!w)
                return -ENOMEM;
        w->h = h;
        w->userdata = userdata;
        r = sd_event_add_io(e, &s, sock, EPOLLIN, on_io, w);
        if (r < 0) {
                free(w);
                return r;
        }
        /* The watch lives exactly as long as the source. */
        sd_event_source_set_destroy_callback(s, free);
        *ret = s;
        return 0;
}

int link_check_status(int32_t status) {
        return status <= 0 && status >= -4095 ? 0 : -EBADMSG;
}

int link_check_probed(const struct link_probed *p, uint64_t device_size) {
        if (link_check_status(p->status) < 0)
                return -EBADMSG;
        if (p->status < 0)
                return 0; /* nothing else is meaningful */
        if (p->dirty > 1 || p->read_only > 1 || p->has_guid > 1)
                return -EBADMSG;
        if (!link_string_valid(p->label, sizeof(p->label)))
                return -EBADMSG;
        if (p->cluster_size < 512 || p->cluster_size > (32u << 20) || (p->cluster_size & (p->cluster_size - 1)))
                return -EBADMSG;
        if (p->volume_size == 0 || (device_size > 0 && p->volume_size > device_size))
                return -EBADMSG;
        return 0;
}
