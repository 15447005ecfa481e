#!/usr/bin/env bash
# ctest's real_kafka.sasl_ssl_on_cluster: the production security of deploy/README.md
# (SASL_SSL, the StandardAuthorizer, deploy/topics.sh's ACLs) on a real 3-node Apache Kafka
# cluster (scripts/kafka/cluster.sh start --secure), with casewatch and casewatchd configured as
# deploy/ says: the publisher by `casewatch publish --kafka-config FILE`, the engine by
# deploy/casewatchd.conf with its SASL_SSL block filled in.
#   1. deploy/topics.sh, as the admin, makes the topics and grants the engine's and a
#      publisher's ACLs;
#   2. the publisher (User:delius) publishes a small simulated history, the engine
#      (User:casewatch-engine) consumes it and its report equals the replay; so does
#      casewatchd --tasks, a transactional id per task;
#   3. a wrong password is refused by publish and by casewatchd: one error line naming the
#      authentication failure, the user and the mechanism, a non-zero exit, within seconds;
#   4. brokers whose certificate the client's CA did not sign are refused likewise, the error
#      naming certificate verification and ssl.ca.location;
#   5. SCRAM-SHA-512, the mechanism deploy/ names: librdkafka before 2.6.1 (Debian 12 has 2.0.2)
#      is refused by Kafka 4.x even with the right password, and the error says so; with a later
#      librdkafka it must work, and then it is the mechanism of 2 to 4.
# It fails, never skips, when the cluster cannot start.
#
#   sasl_ssl_on_cluster_test.sh SOURCE_DIR CASEWATCH_BIN CASEWATCHD_BIN
set -euo pipefail
SRC=$1 CASEWATCH=$2 CASEWATCHD=$3
WORK=$(mktemp -d /tmp/casewatch-kafka-security.XXXXXX)
CLUSTER=$WORK/cluster
ENGINE_PID=""
readonly PROMPT_SECONDS=8  # a refusal must come this soon (the brokers' wait was 10 s, or for ever)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  [ -n "$ENGINE_PID" ] && kill -KILL "$ENGINE_PID" 2>/dev/null
  "$SRC/scripts/kafka/cluster.sh" stop "$CLUSTER" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

KAFKA=$("$SRC/scripts/kafka/fetch.sh") || fail "the Kafka release cannot be fetched"
BOOTSTRAP=$("$SRC/scripts/kafka/cluster.sh" start "$CLUSTER" --secure --user casewatch-engine \
  --user delius) || fail "the secured cluster did not start"
SECURE=$CLUSTER/secure
echo "secured cluster up: $BOOTSTRAP"

# librdkafka before 2.6.1 cannot do SCRAM with Kafka 4.x (step 5): then 2 to 4 use PLAIN, over
# the same TLS, with the same users and passwords.
LIBRDKAFKA=$(pkg-config --modversion rdkafka) || fail "pkg-config does not know rdkafka"
MECHANISM=PLAIN
if printf '%s\n' 2.6.1 "$LIBRDKAFKA" | sort -V -C; then MECHANISM=SCRAM-SHA-512; fi
echo "librdkafka $LIBRDKAFKA: publishing and consuming with $MECHANISM over SASL_SSL"

# 1. Topics and ACLs, by the script production uses, as the admin.
BOOTSTRAP=$BOOTSTRAP KAFKA_BIN=$KAFKA/bin COMMAND_CONFIG=$SECURE/admin.properties \
  ENGINE_PRINCIPAL=User:casewatch-engine PUBLISHER_PRINCIPALS=User:delius \
  bash "$SRC/deploy/topics.sh" >"$WORK/topics.log" 2>&1 ||
  fail "deploy/topics.sh failed: $(tail -5 "$WORK/topics.log")"
acls=$("$KAFKA/bin/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" \
  --command-config "$SECURE/admin.properties" --list 2>/dev/null)
for expected in "User:casewatch-engine.*READ" "User:casewatch-engine.*WRITE" \
                "User:delius.*WRITE"; do
  grep -q "$expected" <<<"$acls" || fail "no ACL $expected after topics.sh: $acls"
done
echo "ok: topics.sh made the topics and granted the engine's and the publisher's ACLs"

# Client settings: a librdkafka properties file for publish; for the engine, deploy's own
# casewatchd.conf with the SASL_SSL block filled in (brokers, mechanism, password, CA).
client_properties() {  # USER PASSWORD CA MECHANISM
  printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanisms=$4" "sasl.username=$1" \
    "sasl.password=$2" "ssl.ca.location=$3"
}
engine_conf() {  # PASSWORD CA MECHANISM
  sed -e "s|^brokers = .*|brokers = $BOOTSTRAP|" \
      -e "s|^# security.protocol = |security.protocol = |" \
      -e "s|^# sasl.mechanisms = .*|sasl.mechanisms = $3|" \
      -e "s|^# sasl.username = |sasl.username = |" \
      -e "s|^# sasl.password = .*|sasl.password = $1|" \
      -e "s|^# ssl.ca.location = .*|ssl.ca.location = $2|" \
      -e "/^tokens = /d" -e "/^http-/d" "$SRC/deploy/casewatchd.conf"
}
PUBLISHER_PASSWORD=$(<"$SECURE/delius.password")
ENGINE_PASSWORD=$(<"$SECURE/casewatch-engine.password")
client_properties delius "$PUBLISHER_PASSWORD" "$SECURE/ca.pem" "$MECHANISM" \
  >"$WORK/publisher.properties"
engine_conf "$ENGINE_PASSWORD" "$SECURE/ca.pem" "$MECHANISM" >"$WORK/casewatchd.conf"
grep -q "^sasl.username = casewatch-engine$" "$WORK/casewatchd.conf" ||
  fail "deploy/casewatchd.conf no longer has the SASL_SSL block this test fills in"

# 2. Publish, consume, live equals replay.
"$CASEWATCH" simulate --cases 30 --months 3 --start 2024-01-01 --seed 1 --quiet \
  --out "$WORK/events.ndjson"
total=$(wc -l <"$WORK/events.ndjson")
"$CASEWATCH" publish --brokers "$BOOTSTRAP" --kafka-config "$WORK/publisher.properties" \
  "$WORK/events.ndjson" >"$WORK/publish.log" 2>&1 ||
  fail "publishing as User:delius failed: $(tail -3 "$WORK/publish.log")"
END=2024-04-01T00:00:00Z
"$CASEWATCHD" --config "$WORK/casewatchd.conf" --no-http --data "$WORK/store" --clock simulated \
  --clock-start "$END" --clock-speed 0 >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!
consumed() {  # the accepted + duplicate counts of the engine's last status line
  grep -o 'accepted=[0-9]* duplicates=[0-9]*' "$WORK/engine.log" | tail -1 |
    awk -F'[= ]' '{print $2 + $4}'
}
deadline=$((SECONDS + 120))
until [ "$(consumed)" = "$total" ]; do
  kill -0 "$ENGINE_PID" 2>/dev/null || fail "casewatchd exited: $(tail -5 "$WORK/engine.log")"
  [ $SECONDS -lt $deadline ] || fail "the engine consumed $(consumed) records, not $total, in 120 s"
  sleep 1
done
echo "ok: User:delius published $total events, User:casewatch-engine consumed them"
for as_of in 2024-02-15T00:00:00Z "$END"; do
  "$CASEWATCH" report --data "$WORK/store" --as-of "$as_of" --case-items >"$WORK/live.json" \
    2>"$WORK/live.err" || fail "report at $as_of: $(cat "$WORK/live.err")"
  "$CASEWATCH" replay --events "$WORK/events.ndjson" --as-of "$as_of" --case-items \
    >"$WORK/replay.json" 2>/dev/null || fail "replay at $as_of failed"
  cmp -s "$WORK/live.json" "$WORK/replay.json" || fail "live differs from replay at $as_of"
done
echo "ok: live equals replay at two instants, case items included"
kill -TERM "$ENGINE_PID"
status=0
wait "$ENGINE_PID" || status=$?
ENGINE_PID=""
[ "$status" -eq 0 ] || fail "casewatchd exited $status on SIGTERM: $(tail -5 "$WORK/engine.log")"
if grep -q "delivery failed" "$WORK/engine.log"; then
  fail "the engine could not publish its alerts: $(grep -m1 "delivery failed" "$WORK/engine.log")"
fi
alerts=$("$KAFKA/bin/kafka-get-offsets.sh" --bootstrap-server "$BOOTSTRAP" \
  --command-config "$SECURE/admin.properties" --topic case-alerts 2>/dev/null |
  awk -F: '{sum += $3} END {print sum + 0}')
[ "$alerts" -gt 0 ] || fail "no alert reached case-alerts (the engine's Write ACL?)"
echo "ok: the engine stopped cleanly; its $alerts alerts are on case-alerts"

# 2b. casewatchd --tasks: a task per partition, each with its own transactional id
# (casewatchd-case-events-p<N>, under the engine's prefixed ACL). Together they report the replay.
PORT=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
"$CASEWATCHD" --config "$WORK/casewatchd.conf" --tasks --no-auth --http-port "$PORT" \
  --data "$WORK/store-tasks" --clock simulated --clock-start "$END" --clock-speed 0 \
  >"$WORK/tasks.log" 2>&1 &
ENGINE_PID=$!
deadline=$((SECONDS + 120))
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
  kill -0 "$ENGINE_PID" 2>/dev/null ||
    fail "casewatchd --tasks exited: $(tail -5 "$WORK/tasks.log")"
  [ $SECONDS -lt $deadline ] ||
    fail "casewatchd --tasks not ready in 120 s: $(tail -5 "$WORK/tasks.log")"
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/api/v1/report?as_of=$END&case_items=true" >"$WORK/tasks.json" ||
  fail "casewatchd --tasks: no report"
cmp -s "$WORK/tasks.json" "$WORK/replay.json" || fail "casewatchd --tasks differs from the replay"
kill -TERM "$ENGINE_PID"
status=0
wait "$ENGINE_PID" || status=$?
ENGINE_PID=""
[ "$status" -eq 0 ] ||
  fail "casewatchd --tasks exited $status on SIGTERM: $(tail -5 "$WORK/tasks.log")"
if grep -qi "authoriz" "$WORK/tasks.log"; then
  fail "a task was not authorised: $(grep -m1 -i "authoriz" "$WORK/tasks.log")"
fi
echo "ok: casewatchd --tasks, a transactional id per task, reports the replay"

# refused NAME PATTERN...: runs the command after `--`, which must exit non-zero within
# PROMPT_SECONDS with exactly one line of error output (publish: stderr; casewatchd: its log lines
# at warning level or above) matching every PATTERN.
refused() {
  local name=$1 patterns=() start status=0 lines
  shift
  while [ "$1" != -- ]; do patterns+=("$1"); shift; done
  shift
  start=$SECONDS
  timeout 60 "$@" >"$WORK/$name.out" 2>&1 || status=$?
  local took=$((SECONDS - start))
  [ "$status" -ne 0 ] || fail "$name: exit 0, expected a refusal: $(cat "$WORK/$name.out")"
  [ "$status" -ne 124 ] ||
    fail "$name: still running after 60 s (retrying?): $(tail -3 "$WORK/$name.out")"
  [ "$took" -le "$PROMPT_SECONDS" ] ||
    fail "$name: refused only after $took s: $(cat "$WORK/$name.out")"
  lines=$(grep -E '"level":"(warning|error|critical)"|^casewatch|\[(warning|error)\]' \
    "$WORK/$name.out" || true)
  [ "$(grep -c . <<<"$lines")" -eq 1 ] ||
    fail "$name: expected one error line, got: $(cat "$WORK/$name.out")"
  local pattern
  for pattern in "${patterns[@]}"; do
    grep -q -- "$pattern" <<<"$lines" || fail "$name: the error does not say '$pattern': $lines"
  done
  echo "ok: $name: exit $status after ${took} s: $lines"
}

# 3. A wrong password.
client_properties delius wrong-password "$SECURE/ca.pem" "$MECHANISM" >"$WORK/wrong.properties"
refused "publish with a wrong password" "authentication failed" '"delius"' "$MECHANISM" \
  "sasl.password" -- \
  "$CASEWATCH" publish --brokers "$BOOTSTRAP" --kafka-config "$WORK/wrong.properties" \
  "$WORK/events.ndjson"
engine_conf wrong-password "$SECURE/ca.pem" "$MECHANISM" >"$WORK/wrong.conf"
refused "casewatchd with a wrong password" "authentication failed" 'casewatch-engine' \
  "$MECHANISM" "sasl.password" -- \
  "$CASEWATCHD" --config "$WORK/wrong.conf" --no-http --data "$WORK/store-wrong"

# 4. Brokers whose certificate the client's CA did not sign.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=some other CA" \
  -keyout "$WORK/other-ca.key" -out "$WORK/other-ca.pem" 2>/dev/null
client_properties delius "$PUBLISHER_PASSWORD" "$WORK/other-ca.pem" "$MECHANISM" \
  >"$WORK/untrusted.properties"
refused "publish to untrusted brokers" "certificate verification failed" "ssl.ca.location" \
  "$WORK/other-ca.pem" -- \
  "$CASEWATCH" publish --brokers "$BOOTSTRAP" --kafka-config "$WORK/untrusted.properties" \
  "$WORK/events.ndjson"
engine_conf "$ENGINE_PASSWORD" "$WORK/other-ca.pem" "$MECHANISM" >"$WORK/untrusted.conf"
refused "casewatchd with untrusted brokers" "certificate verification failed" "ssl.ca.location" \
  -- "$CASEWATCHD" --config "$WORK/untrusted.conf" --no-http --data "$WORK/store-untrusted"

# 5. SCRAM-SHA-512 with the right password, on a librdkafka that cannot (see 2).
if [ "$MECHANISM" = PLAIN ]; then
  client_properties delius "$PUBLISHER_PASSWORD" "$SECURE/ca.pem" SCRAM-SHA-512 \
    >"$WORK/scram.properties"
  refused "publish with SCRAM-SHA-512 on librdkafka $LIBRDKAFKA" "authentication failed" \
    "before 2.6.1) is refused SCRAM by Apache Kafka 4.0 and later even with the right password" \
    -- "$CASEWATCH" publish --brokers "$BOOTSTRAP" --kafka-config "$WORK/scram.properties" \
    "$WORK/events.ndjson"
fi

"$SRC/scripts/kafka/cluster.sh" stop "$CLUSTER"
echo "ok: the cluster stopped cleanly"
