/* SPDX-License-Identifier: MIT */
#include "errors.h"

#include <errno.h>
#include <systemd/sd-bus.h>

static const sd_bus_error_map error_map[] = {
        SD_BUS_ERROR_MAP(ERR_NOT_AUTHORIZED, EACCES),
        SD_BUS_ERROR_MAP(ERR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(ERR_NOT_EXFAT, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(ERR_ALREADY_MOUNTED, EALREADY),
        SD_BUS_ERROR_MAP(ERR_NOT_MOUNTED, ENOENT),
        SD_BUS_ERROR_MAP(ERR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(ERR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(ERR_DIRTY, EUCLEAN),
        SD_BUS_ERROR_MAP(ERR_WORKER_FAILED, ECHILD),
        SD_BUS_ERROR_MAP(ERR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END
};

void errors_register(void) {
        (void) sd_bus_error_add_map(error_map);
}
