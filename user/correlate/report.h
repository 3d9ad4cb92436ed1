/* SPDX-License-Identifier: GPL-2.0 */
/* secretrace report: the correlator's chains as one self-contained HTML page (report.c). */
#ifndef SECRETRACE_CORRELATE_REPORT_H
#define SECRETRACE_CORRELATE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "correlate/correlate.h"

/* `secretrace report ...`; argv[0] is "report". Returns the exit status. */
int report_main(int argc, char **argv);
/* The page of a finished correlator (audit: an audit log was joined); 0 or -1. */
int report_write(const struct correlator *c, bool audit, FILE *out);

#endif
