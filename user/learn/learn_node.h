/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On a node (--all, --cgroup): the pods' secrets mounts found by themselves in the node's
 * mountinfo, the Secrets Store CSI driver's (kubernetes.io~csi/VOL/mount, vol_data.json
 * naming secrets-store.csi.k8s.io) and Vault Agent injector's emptyDir (vault-secrets),
 * each learned from and watched as a --learn-file directory, its pod's UID on its events.
 * mountinfo is read again whenever the kernel says a mount changed (POLLPRI).
 */
#ifndef SECRETRACE_LEARN_NODE_H
#define SECRETRACE_LEARN_NODE_H

#include <stddef.h>

/* Before the event loop (after learn_files_init): 0, or -1 with err set. */
int learn_node_init(const char *kubelet_root, char *err, size_t errlen);
/* Each tick: a mount changed? Then the new secrets mounts are learned from. */
void learn_node_tick(void);
void learn_node_free(void);

#endif
