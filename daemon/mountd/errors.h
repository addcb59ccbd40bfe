/* SPDX-License-Identifier: MIT */
#pragma once

/* The named errors of the D-Bus API (dbus/org.exfat.Mountd1.xml). */
#define ERR_PREFIX "org.exfat.Mountd1.Error."
#define ERR_NOT_AUTHORIZED ERR_PREFIX "NotAuthorized"
#define ERR_NO_SUCH_DEVICE ERR_PREFIX "NoSuchDevice"
#define ERR_NOT_EXFAT ERR_PREFIX "NotExfat"
#define ERR_ALREADY_MOUNTED ERR_PREFIX "AlreadyMounted"
#define ERR_NOT_MOUNTED ERR_PREFIX "NotMounted"
#define ERR_BUSY ERR_PREFIX "Busy"
#define ERR_INVALID_ARGUMENT ERR_PREFIX "InvalidArgument"
#define ERR_DIRTY ERR_PREFIX "Dirty"
#define ERR_WORKER_FAILED ERR_PREFIX "WorkerFailed"
#define ERR_FAILED ERR_PREFIX "Failed"

/* Registers the names with sd-bus so that -errno values map to them and back. */
void errors_register(void);
