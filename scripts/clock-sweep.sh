#!/usr/bin/env bash
# Runs the test suite (without the browser tests) at wall-clock times where date arithmetic
# goes wrong: just before and after midnight in Berlin, the first of a month, the turn of the
# year, the night clocks go forward. Tests that book "now + 3 days" for 30 minutes, or count
# the months of "the last 366 days", fail here first. Uses libfaketime (Debian: faketime).
#
#   scripts/clock-sweep.sh                       # the instants below
#   scripts/clock-sweep.sh '2027-06-30 21:55:00'  # one instant, UTC
#
# Left out: tests that start programs or check certificates that keep the real clock
# (redis-server hangs under libfaketime; coturn's credentials, the seals' certificates and
# time stamps, and the pool test's PostgreSQL activity are checked against the real time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh clock
instants=("$@")
if [ ${#instants[@]} -eq 0 ]; then
  instants=(
    '2026-11-30 22:45:00'  # 23:45 in Berlin: a 30-minute slot from now runs past midnight
    '2026-11-30 23:05:00'  # 00:05 in Berlin: UTC is still on the day before
    '2026-12-01 21:45:00'  # the first of a month, late evening
    '2026-12-31 22:50:00'  # the turn of the year in Berlin
    '2027-03-28 00:40:00'  # the night the clocks go forward (01:40 CET, 03:00 CEST at 01:00 UTC)
  )
fi
status=0
for instant in "${instants[@]}"; do
  echo "== ${instant} UTC"
  TZ=UTC faketime -f "@${instant}" .venv/bin/pytest -q -p no:cacheprovider src tests/test_url_access.py \
    --ignore src/sprechstunde/core/tests/test_channel_layers.py \
    --ignore src/sprechstunde/core/tests/test_database_pool.py \
    --ignore src/sprechstunde/messaging/tests/test_two_processes.py \
    --ignore src/sprechstunde/signatures/tests/test_sealing.py \
    --ignore src/sprechstunde/video_calls/tests/test_turn.py || status=1
done
exit $status
