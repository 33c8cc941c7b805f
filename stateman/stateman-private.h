/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the state manager's own files; not part of its contract. */
#ifndef OTA_STATEMAN_PRIVATE_H
#define OTA_STATEMAN_PRIVATE_H

#include "sysutil/sysutil.h"

/* Renames from to to, making to's parent directories first; nothing (0) when
 * from does not exist. A single rename: on the same file system it happens
 * whole or not at all. */
int ota_state_move_if_exists(const char *from, const char *to, struct ota_error *err) _must_check_;

#endif
