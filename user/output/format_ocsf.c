// SPDX-License-Identifier: GPL-2.0
/*
 * --format ocsf: each ECS event as an OCSF 1.1.0 event (docs/formats.md has the mapping
 * table): violations as Detection Findings, uses by their sink as Network, File System or
 * Process Activity, receives as API Activity (a read of Vault's API), the tracer's own
 * events as Application Lifecycle. What OCSF has no attribute for (vault.*, secret.*,
 * secretrace.*, the pod) is kept as it is under `unmapped`.
 */
#include <string.h>
#include <time.h>

#include "output/emit.h"
#include "output/formats.h"
#include "secretrace.h"

/* category_uid, class uid within it, names: class_uid = category * 1000 + class */
struct ocsf_class {
	int category, uid;
	const char *category_name, *class_name;
};

static const struct ocsf_class BASE = { 0, 0, "Uncategorized", "Base Event" };
static const struct ocsf_class FILE_ACTIVITY = { 1, 1, "System Activity", "File System Activity" };
static const struct ocsf_class PROCESS_ACTIVITY = { 1, 7, "System Activity", "Process Activity" };
static const struct ocsf_class DETECTION = { 2, 4, "Findings", "Detection Finding" };
static const struct ocsf_class NETWORK_ACTIVITY = { 4, 1, "Network Activity", "Network Activity" };
static const struct ocsf_class APP_LIFECYCLE = { 6, 2, "Application Activity",
						 "Application Lifecycle" };
static const struct ocsf_class API_ACTIVITY = { 6, 3, "Application Activity", "API Activity" };

enum { SEV_INFO = 1, SEV_LOW = 2, SEV_MEDIUM = 3, SEV_HIGH = 4 };
enum { OCSF_OTHER = 99 };	/* "Other" in every OCSF enum */

static const char *str(json_t *ev, const char *dotted)
{
	return json_string_value(ev_get(ev, dotted));
}

/* dst.key = ev's field, when it is there (a new reference to the same value) */
static void copy(json_t *dst, const char *key, json_t *ev, const char *dotted)
{
	json_t *v = ev_get(ev, dotted);

	if (v)
		ev_set(dst, key, json_incref(v));
}

/* @timestamp (RFC 3339, UTC) as milliseconds since the epoch; 0 if it does not parse */
static json_int_t epoch_ms(const char *ts)
{
	struct tm tm = { 0 };
	const char *rest = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	unsigned ms = 0;
	int i;

	if (!rest)
		return 0;
	if (*rest == '.')
		for (i = 0, rest++; i < 3 && *rest >= '0' && *rest <= '9'; i++, rest++)
			ms = ms * 10 + (unsigned)(*rest - '0');
	else
		i = 3;
	for (; i < 3; i++)
		ms *= 10;
	return (json_int_t)timegm(&tm) * 1000 + ms;
}

static json_t *product(void)
{
	return json_pack("{s:s,s:s,s:s}", "name", "secretrace", "vendor_name", "secretrace",
			 "version", SECRETRACE_VERSION);
}

/* A file object: name (the last part of the path) and type, both required. */
static json_t *file_of(const char *path, int type_id)
{
	const char *slash = strrchr(path, '/');

	return json_pack("{s:s,s:s,s:i}", "name", slash && slash[1] ? slash + 1 : path, "path",
			 path, "type_id", type_id);
}

/* The process of an ECS event, or NULL if the event names none. */
static json_t *process_of(json_t *ev)
{
	json_t *p, *args = ev_get(ev, "process.args"), *a;
	const char *exe = str(ev, "process.executable");
	size_t i;

	if (!json_is_integer(ev_get(ev, "process.pid")))
		return NULL;
	p = json_object();
	copy(p, "pid", ev, "process.pid");
	copy(p, "uid", ev, "process.entity_id");
	copy(p, "name", ev, "process.name");
	copy(p, "tid", ev, "process.thread.id");
	copy(p, "parent_process.pid", ev, "process.parent.pid");
	copy(p, "user.uid", ev, "user.id");
	if (exe)
		ev_set(p, "file", file_of(exe, 1));
	if (json_array_size(args)) {
		struct sink_buf cmd = { 0 };

		json_array_foreach(args, i, a)
			if (json_is_string(a) && ((i && sink_buf_add(&cmd, " ", 1)) ||
						  sink_buf_add(&cmd, json_string_value(a),
							       json_string_length(a))))
				break;
		if (cmd.p)
			ev_str(p, "cmd_line", cmd.p);
		sink_buf_free(&cmd);
	}
	if (str(ev, "container.id") || str(ev, "container.name")) {
		copy(p, "container.uid", ev, "container.id");
		copy(p, "container.name", ev, "container.name");
		copy(p, "container.runtime", ev, "container.runtime");
		copy(p, "container.orchestrator", ev, "orchestrator.type");
		copy(p, "container.pod_uuid", ev, "orchestrator.resource.id");
	}
	return p;
}

/* The peer of a socket, a network endpoint: IP and port, or a unix socket's path. */
static json_t *endpoint_of(json_t *ev)
{
	json_t *e = json_object();

	copy(e, "ip", ev, "destination.ip");
	copy(e, "port", ev, "destination.port");
	copy(e, "hostname", ev, "destination.domain");
	if (!ev_get(ev, "destination.ip")) {
		const char *addr = str(ev, "destination.address");

		ev_str(e, "name", addr ? addr : "unknown");
		ev_str(e, "type", "unix socket");
		ev_int(e, "type_id", OCSF_OTHER);
	}
	return e;
}

/* This host, as the source of what its processes send. */
static json_t *host_endpoint(json_t *ev)
{
	json_t *e = json_object();

	copy(e, "hostname", ev, "host.name");
	return e;
}

static json_t *connection_info(json_t *ev)
{
	const char *t = str(ev, "network.transport");
	json_t *c = json_pack("{s:i,s:s}", "direction_id", 2, "direction", "Outbound");

	if (t) {
		ev_str(c, "protocol_name", t);
		if (!strcmp(t, "tcp") || !strcmp(t, "udp"))
			ev_int(c, "protocol_num", !strcmp(t, "tcp") ? 6 : 17);
	}
	return c;
}

/* The file a use went to: pipes as OCSF's "Named Pipe" lacks, so "Other" with the kind. */
static json_t *sink_file(json_t *ev, const char *sink)
{
	const char *path = str(ev, "file.path");
	json_t *f = file_of(path ? path : sink, 1);

	if (!strcmp(sink, "tty")) {
		ev_int(f, "type_id", 3);	/* Character Device */
	} else if (!strcmp(sink, "pipe")) {
		ev_int(f, "type_id", OCSF_OTHER);
		ev_str(f, "type", "pipe");
	}
	return f;
}

static int class_uid(const struct ocsf_class *c)
{
	return c->category * 1000 + c->uid;
}

static void classify(json_t *o, const struct ocsf_class *c, int activity_id,
		     const char *activity_name)
{
	char type_name[96];

	snprintf(type_name, sizeof(type_name), "%s: %s", c->class_name, activity_name);
	ev_int(o, "category_uid", c->category);
	ev_str(o, "category_name", c->category_name);
	ev_int(o, "class_uid", class_uid(c));
	ev_str(o, "class_name", c->class_name);
	ev_int(o, "activity_id", activity_id);
	ev_str(o, "activity_name", activity_name);
	ev_int(o, "type_uid", (json_int_t)class_uid(c) * 100 + activity_id);
	ev_str(o, "type_name", type_name);
}

static void severity(json_t *o, int id)
{
	static const char *const names[] = { "Unknown", "Informational", "Low", "Medium", "High" };

	ev_int(o, "severity_id", id);
	ev_str(o, "severity", names[id]);
}

static void actor(json_t *o, json_t *ev)
{
	json_t *p = process_of(ev);

	if (p)
		ev_set(o, "actor.process", p);
}

/* What a process sent over a socket, or its connecting (activity Open). */
static void traffic(json_t *o, json_t *ev, int activity_id)
{
	classify(o, &NETWORK_ACTIVITY, activity_id, activity_id == 1 ? "Open" : "Traffic");
	actor(o, ev);
	ev_set(o, "src_endpoint", host_endpoint(ev));
	ev_set(o, "dst_endpoint", endpoint_of(ev));
	ev_set(o, "connection_info", connection_info(ev));
}

/* A process started: the process, and its parent as the actor. */
static void launch(json_t *o, json_t *ev)
{
	classify(o, &PROCESS_ACTIVITY, 1, "Launch");
	ev_set(o, "process", process_of(ev));
	if (json_is_integer(ev_get(ev, "process.parent.pid")))
		copy(o, "actor.process.pid", ev, "process.parent.pid");
	else
		actor(o, ev);
}

/* A use (allowed or not judged), by where it went. */
static void use(json_t *o, json_t *ev)
{
	const char *sink = str(ev, "secretrace.sink");

	severity(o, SEV_INFO);
	if (!sink || !strcmp(sink, "socket")) {
		traffic(o, ev, 6);
	} else if (!strcmp(sink, "argv") || !strcmp(sink, "env")) {
		launch(o, ev);	/* the secret is in what a process was started with */
	} else {
		classify(o, &FILE_ACTIVITY, 3, "Update");
		actor(o, ev);
		ev_set(o, "file", sink_file(ev, sink));
	}
}

/* Evidence of a violation: the process and where the secret went. */
static json_t *evidence(json_t *ev)
{
	const char *sink = str(ev, "secretrace.sink");
	json_t *e = json_object(), *p = process_of(ev);

	if (p)
		ev_set(e, "process", p);
	if (!sink || !strcmp(sink, "socket")) {
		ev_set(e, "dst_endpoint", endpoint_of(ev));
		ev_set(e, "connection_info", connection_info(ev));
	} else if (strcmp(sink, "argv") && strcmp(sink, "env")) {
		ev_set(e, "file", sink_file(ev, sink));
	}
	return json_pack("[o]", e);
}

/* The Vault secret concerned, as an affected resource. */
static json_t *resource(json_t *ev)
{
	json_t *r = json_pack("{s:s}", "type", "Vault secret");

	copy(r, "name", ev, "vault.path");
	copy(r, "uid", ev, "vault.request_id");
	copy(r, "namespace", ev, "vault.namespace");
	copy(r, "data.field", ev, "vault.field");
	return json_pack("[o]", r);
}

static void violation(json_t *o, json_t *ev, const char *message)
{
	const char *rule = str(ev, "rule.name");

	classify(o, &DETECTION, 1, "Create");
	severity(o, SEV_HIGH);
	ev_int(o, "status_id", 1);
	ev_str(o, "status", "New");
	ev_set(o, "finding_info",
	       json_pack("{s:s,s:[s],s:{s:s,s:i,s:s}}", "title", message, "types",
			 "secret.violation", "analytic", "name", rule ? rule : "default",
			 "type_id", 1, "type", "Rule"));
	copy(o, "finding_info.uid", ev, "event.id");
	ev_set(o, "evidences", evidence(ev));
	ev_set(o, "resources", resource(ev));
	actor(o, ev);
}

/* A Vault response read (or a credential presented to Vault): a call of Vault's API. */
static void api_call(json_t *o, json_t *ev, bool failed)
{
	const char *source = str(ev, "secret.source");
	json_t *api = json_pack("{s:s,s:{s:s}}", "operation",
				!source || !strcmp(source, "response") ? "read" : "present",
				"service", "name", "vault");

	classify(o, &API_ACTIVITY, 2, "Read");
	severity(o, failed ? SEV_LOW : SEV_INFO);
	copy(api, "request.uid", ev, "vault.request_id");
	if (!ev_get(api, "request.uid"))
		ev_str(api, "request.uid", "unknown");
	ev_set(o, "api", api);
	actor(o, ev);
	ev_set(o, "src_endpoint", host_endpoint(ev));
	if (ev_get(ev, "destination"))
		ev_set(o, "dst_endpoint", endpoint_of(ev));
	if (ev_get(ev, "vault.path"))
		ev_set(o, "resources", resource(ev));
	ev_int(o, "status_id", failed ? 2 : 1);
	ev_str(o, "status", failed ? "Failure" : "Success");
	copy(o, "status_detail", ev, "error.message");
}

/* The tracer's own events: the lifecycle of the application secretrace. */
static void lifecycle(json_t *o, json_t *ev, const char *action)
{
	bool start = !strcmp(action, "tracer.start"), stop = !strcmp(action, "tracer.stop");

	bool loss = !strcmp(action, "tracer.loss"), anomaly = !strcmp(action, "tracer.anomaly");

	if (start || stop)
		classify(o, &APP_LIFECYCLE, start ? 3 : 4, start ? "Start" : "Stop");
	else
		classify(o, &APP_LIFECYCLE, OCSF_OTHER, loss ? "Loss" : anomaly ? "Anomaly" :
			 !strcmp(action, "tracer.unscanned") ? "Unscanned" : action);
	severity(o, loss || anomaly ? SEV_MEDIUM : start || stop ? SEV_INFO : SEV_LOW);
	ev_set(o, "app", product());
	actor(o, ev);
}

json_t *ocsf_event(json_t *ev)
{
	const char *action = str(ev, "event.action"), *what;
	struct sink_buf msg = { 0 };
	json_t *o = json_object(), *un = json_object();
	static const char *const kept[] = { "vault", "secret", "secretrace", "orchestrator",
					    "container", "rule", "error", "process.args_count",
					    "process.exit_code", "network.transport", NULL };
	int i;

	if (!o || !un || text_line(&msg, ev, false)) {
		json_decref(o);
		json_decref(un);
		sink_buf_free(&msg);
		return NULL;
	}
	/* the text line without its time, which is in time */
	what = strchr(msg.p, ' ') ? strchr(msg.p, ' ') + 1 : msg.p;
	if (!action)
		action = "";
	if (!strcmp(action, "secret.violation"))
		violation(o, ev, what);
	else if (!strcmp(action, "secret.use"))
		use(o, ev);
	else if (!strcmp(action, "secret.receive") || !strcmp(action, "secret.learn_failed"))
		api_call(o, ev, !strcmp(action, "secret.learn_failed"));
	else if (!strcmp(action, "process.start"))
		launch(o, ev), severity(o, SEV_INFO);
	else if (!strcmp(action, "network.connect"))
		traffic(o, ev, 1), severity(o, SEV_INFO);
	else if (!strncmp(action, "tracer.", 7))
		lifecycle(o, ev, action);
	else
		classify(o, &BASE, OCSF_OTHER, action), severity(o, SEV_INFO);
	ev_str(o, "message", what);
	sink_buf_free(&msg);
	ev_int(o, "time", epoch_ms(str(ev, "@timestamp")));
	ev_int(o, "timezone_offset", 0);
	ev_set(o, "metadata", json_pack("{s:s,s:o}", "version", OCSF_VERSION, "product",
					product()));
	/* the classes of the host profile name the host as the device (API Activity and Base
	 * Event have no device: their src_endpoint or nothing) */
	if (json_integer_value(ev_get(o, "class_uid")) != class_uid(&API_ACTIVITY) &&
	    json_integer_value(ev_get(o, "category_uid")) != BASE.category) {
		ev_set(o, "device", json_pack("{s:i,s:s}", "type_id", 0, "type", "Unknown"));
		copy(o, "device.hostname", ev, "host.name");
		ev_set(o, "metadata.profiles", json_pack("[s]", "host"));
	}
	copy(o, "metadata.uid", ev, "event.id");
	copy(o, "metadata.event_code", ev, "event.action");
	copy(o, "metadata.sequence", ev, "event.sequence");
	for (i = 0; kept[i]; i++)
		copy(un, kept[i], ev, kept[i]);
	if (json_object_size(un))
		json_object_set(o, "unmapped", un);
	json_decref(un);
	return o;
}
