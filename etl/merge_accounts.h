/*
 * merge_accounts.h - the accounts' part of a merge (merge.h): each account
 * the batch touches, or whose paid payments changed, is read back, merged
 * with the batch (first registration, activity, role and paid payment;
 * the cohort day and attributes that follow: metrics.md), and written when
 * it changed, marking the days its figures move between dirty.
 *
 * Internal to the merge (merge_ctx.h). Order within merge_facts: after the
 * payments are merged (the accounts whose first paid payment may move are
 * known), merge_submit_accounts; once the payments are written and the
 * read-back is wanted, merge_accounts; merge_account_rows_free at the end
 * (after the read-back runner is freed: its job points into the rows).
 */
#ifndef MOONSTAT_MERGE_ACCOUNTS_H
#define MOONSTAT_MERGE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "keymap.h"
#include "merge_ctx.h"

/* The accounts of one merge. The arrays are the struct's own (freed by
 * merge_account_rows_free); keys is borrowed (the batch's accounts or the
 * keymap given to merge_submit_accounts). Zeroed before use. */
typedef struct account_rows {
    const keymap *keys;      /* the accounts looked at; row i = entry i */
    account_row *rows;       /* as they become */
    const account_row *olds; /* as stored */
    char (*countries)[3][3]; /* reg, act, pay country of rows[i] */
    uint32_t *moved;         /* rows whose platform or country changed (mark_moved_days) */
    size_t n_moved, cap_moved;
} account_rows;

/* A game with no account and no payment stored yet: its accounts' first
 * paid payments are all in the batch (and were all written to payments),
 * so its accounts are not read back. */
int merge_pay_from_batch(const merge_ctx *m, uint32_t game);

/* Picks the accounts to look at (those of the batch, first, with the
 * batch's ids, then those in pay_accounts; keys, empty, is filled only when
 * some payer is not among the batch's), allocates a's rows and submits
 * their read-back (m->job[KIND_ACCOUNTS]). */
int merge_submit_accounts(merge_ctx *m, account_rows *a, keymap *keys,
                          const keymap *pay_accounts);

/* Waits for the read-back, recomputes the first paid payment of the
 * accounts in pay_accounts, writes the accounts that changed and marks
 * dirty the days of those whose platform or country moved. */
int merge_accounts(merge_ctx *m, account_rows *a, const keymap *pay_accounts);

void merge_account_rows_free(account_rows *a);

#endif
