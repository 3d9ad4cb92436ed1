/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secrets a process is given in its environment, learned at its exec: VAULT_TOKEN always,
 * and the variables --learn-env GLOB names (Vault Secrets Operator, Kubernetes secretKeyRef).
 * Each new value is a secret.receive with secret.source "env", the variable's name its field.
 */
#ifndef SECRETRACE_LEARN_ENV_H
#define SECRETRACE_LEARN_ENV_H

#include <stddef.h>
#include <stdint.h>

struct dict;
struct proc;

void learn_env_init(struct dict *d, const char *const *globs, int n);
/* The exec record's environment block of p (NUL-separated NAME=value). */
void learn_env(const struct proc *p, const char *env, size_t len, uint64_t ts);
uint64_t learn_env_secrets(void);

#endif
