/*
 * rcapi — what the tool's two files share: rcapi.c (the command line, the
 * message-store commands, the output) and rcapi_send.c (the send commands).
 */
#ifndef RCFS_TESTS_RCAPI_H
#define RCFS_TESTS_RCAPI_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"

struct cmd {
    char **argv; /* the command word and its arguments */
    int argc;    /* how many */
};

struct tool {
    struct api *api;          /* the client */
    enum api_prio prio;       /* priority of every call */
    int deadline_s;           /* > 0: every call's deadline is now + this (-D), else the timeout */
    FILE *out;                /* where JSON lines go */
    pthread_mutex_t out_lock; /* one line at a time */
    struct cmd *cmds;         /* the commands */
    int ncmds;                /* how many */
    _Atomic int next;         /* next command for a worker */
    _Atomic int failed;       /* a command failed */
};

/* Print one JSON line (and put o). */
void emit(struct tool *t, struct json_object *o);

/* Print a command's result line: o (or {}) plus op, rc, errno and error
 * (msg, when given); a failure marks the run failed. */
void result(struct tool *t, const char *op, int rc, const char *msg, struct json_object *o);

/* A record as a JSON line object (ids as strings). */
struct json_object *rec_json(const char *op, const struct rec *r);

/* The value after --name in the command, or NULL. */
const char *opt_value(const struct cmd *c, const char *name);

/* rcapi_send.c: run c when it is fax, sms, pager, covers or numbers (then
 * true), else return false. */
bool run_send(struct tool *t, const struct api_call *call, const struct cmd *c);

/* True for the send commands (their first argument is not an extension id). */
bool is_send(const char *op);

#endif
