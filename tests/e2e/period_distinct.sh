#!/usr/bin/env bash
# Weekly and monthly payers and active users are distinct counts over the
# period, not sums of daily figures: the same payer paying on several days of
# a week counts once.
source "$(dirname "$0")/lib.sh"

W=$WORK/period
MAX_REJECT_RATE=0 simple_setup "$W" g1:UTC
for d in 01 02 03 04 05 06 07 08 09 10; do
    echo "{\"base\": \"USD\", \"date\": \"2026-03-$d\", \"rates\": {\"USD\": 1, \"JPY\": 150}}" >"$W/fx/2026-03-$d.json"
done
pay() { # id day account order amount currency
    printf '{"event_id":"%s","event":"payment","ts":"2026-03-%sT09:00:00Z","game_id":"g1","account_id":"%s","order_id":"%s","status":"paid","amount":"%s","currency":"%s","pay_channel":"app_store"}\n' "$@"
}
{
    pay p1 02 P1 O1 1.00 USD   # Monday
    pay p2 03 P1 O2 1.00 USD
    pay p3 04 P1 O3 1.00 USD
    pay p4 03 P2 O4 375 JPY    # 2.50 USD
    printf '{"event_id":"l1","event":"login","ts":"2026-03-05T09:00:00Z","game_id":"g1","account_id":"L1"}\n'
    printf '{"event_id":"l2","event":"login","ts":"2026-03-09T09:00:00Z","game_id":"g1","account_id":"P1"}\n'
} >"$W/incoming/pay.jsonl"

check_eq "run" "$(run_moonstat "$W" run --date 2026-03-10; echo $?)" "0"
H="period,period_start,period_end,game_id,revenue,refund_amount,net_revenue,orders,payers,active_users,arppu,arpu,currency"
check_eq "the week's partition: its Monday and the week" "$(cat "$W/exports/revenue/dt=2026-03-02/revenue.csv")" \
"$H
day,2026-03-02,2026-03-02,g1,1.00,0.00,1.00,1,1,1,1.000000,1.000000,USD
week,2026-03-02,2026-03-08,g1,5.50,0.00,5.50,4,2,3,2.750000,1.833333,USD"
check_eq "a day with two payers" "$(tail -1 "$W/exports/revenue/dt=2026-03-03/revenue.csv")" \
    "day,2026-03-03,2026-03-03,g1,3.50,0.00,3.50,2,2,2,1.750000,1.750000,USD"
check_eq "the running month, as far as processed" "$(tail -1 "$W/exports/revenue/dt=2026-03-01/revenue.csv")" \
    "month,2026-03-01,2026-03-31,g1,5.50,0.00,5.50,4,2,3,2.750000,1.833333,USD"
check_eq "next week: an active user and no revenue" "$(tail -1 "$W/exports/revenue/dt=2026-03-09/revenue.csv")" \
    "week,2026-03-09,2026-03-15,g1,0.00,0.00,0.00,0,0,1,,0.000000,USD"
check_eq "by currency: JPY amount in yen, revenue in USD" \
    "$(grep JPY "$W/exports/revenue_by_currency/dt=2026-03-03/revenue_by_currency.csv")" \
    "2026-03-03,g1,app_store,JPY,1,375,2.50,0,0,USD"
finish
