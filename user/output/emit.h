/* SPDX-License-Identifier: GPL-2.0 */
/* ECS events as JSON lines: common fields, dotted-path setters that build ECS's nested
 * objects, and the last step before the sinks (sequence number, redaction). */
#ifndef SECRETRACE_EMIT_H
#define SECRETRACE_EMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "output/fields.h"

struct delivery;

int emit_init(const char *host_name);
/* A new event with @timestamp now, event.id, event.kind "event", event.action, host.name. */
json_t *ev_new(const char *action);
/* A fresh event.id, for an event copied from another. */
void ev_new_identity(json_t *ev);
/* Set @timestamp from a kernel CLOCK_BOOTTIME timestamp. */
void ev_time(json_t *ev, uint64_t boot_ns);
/* vault.* of the Vault response (or request) that delivered a secret; NULL adds nothing */
void ev_delivery(json_t *ev, const struct delivery *v);
/* Redact, number, serialize and write; frees ev. */
void ev_emit(json_t *ev);
/* The parts of ev_emit, for events rendered from a template (template.h). */
void ev_redact(json_t *ev);
uint64_t ev_next_sequence(void);
void ev_emit_failed(void);
#define EV_TIME_LEN 40	/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" and room */
#define EV_ID_LEN 37
size_t ev_format_time(char out[EV_TIME_LEN], uint64_t boot_ns);
void ev_format_id(char uuid[EV_ID_LEN]);
uint64_t emit_count(void);
/* Events ev_emit wrote, by event.action: the i-th action written, with its count in *n; NULL
 * past the last. */
const char *emit_count_by_action(size_t i, uint64_t *n);
/* Events written from a template (template.h), whose action only their caller knows. */
uint64_t emit_count_templated(void);
/* events that could not be serialized (out of memory): lost */
uint64_t emit_failed(void);
uint64_t boot_to_unix_ns(uint64_t boot_ns);
uint64_t now_boot_ns(void);

#endif
