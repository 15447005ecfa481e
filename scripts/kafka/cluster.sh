#!/usr/bin/env bash
# A real Apache Kafka cluster on loopback for tests, benchmarks and by hand: N nodes (3 unless
# --nodes says otherwise), each a combined broker and KRaft controller, all N voters, on free
# ports, with small heaps. The release is the one scripts/kafka/fetch.sh fetched (pinned in
# pom.xml). Everything lives in DIR: each node's configuration, data, log and pid.
#
#   cluster.sh start DIR [--nodes N]   format (first time only), start, wait until every broker is
#                                      up; prints the bootstrap servers (also in DIR/bootstrap)
#   cluster.sh run DIR [--nodes N]     start, then stop on Ctrl-C or SIGTERM (./run kafka)
#   cluster.sh stop DIR                stop every node cleanly (SIGTERM; SIGKILL after 60 s)
#   cluster.sh status DIR              which nodes run, and the brokers the cluster reports
#   cluster.sh kill|stop-node|start-node|pause|resume DIR NODE
#                                      faults for tests: SIGKILL, a clean stop, a start, SIGSTOP,
#                                      SIGCONT of one node (1..N)
#
# KAFKA_HEAP_OPTS overrides each node's heap (-Xms256m -Xmx512m). Exit 1 with the reason (and
# the failing node's last log lines) when a node cannot start.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

fail() {
  echo "kafka cluster: $*" >&2
  exit 1
}

usage() {
  sed -n '7,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
COMMAND=$1
DIR=$2
shift 2
NODES=3
NODE=""
case "$COMMAND" in
  kill|stop-node|start-node|pause|resume)
    [ $# -ge 1 ] || usage
    NODE=$1
    shift
    ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    *) fail "unknown argument '$1'" ;;
  esac
done
[[ $NODES =~ ^[1-9]$ ]] || fail "--nodes must be 1 to 9, not '$NODES'"

KAFKA=$("$HERE/fetch.sh") || fail "the Kafka release is not available (scripts/kafka/fetch.sh)"

node_pid() {  # the pid of node $1 when it is running
  local file=$DIR/node$1/pid
  [ -f "$file" ] || return 1
  local pid
  pid=$(<"$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

free_ports() {  # $1 free loopback ports
  python3 - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
}

configure() {  # first start: ports, cluster id, each node's properties, formatted storage
  mkdir -p "$DIR"
  local ports
  read -r -a ports <<<"$(free_ports $((2 * NODES)))"
  local voters="" n
  for ((n = 1; n <= NODES; n++)); do
    voters+="${voters:+,}$n@127.0.0.1:${ports[$((NODES + n - 1))]}"
  done
  local replication=$((NODES < 3 ? NODES : 3)) min_isr=$((NODES < 2 ? 1 : 2))
  local id bootstrap=""
  id=$("$KAFKA/bin/kafka-storage.sh" random-uuid)
  for ((n = 1; n <= NODES; n++)); do
    local broker=${ports[$((n - 1))]} controller=${ports[$((NODES + n - 1))]}
    bootstrap+="${bootstrap:+,}127.0.0.1:$broker"
    mkdir -p "$DIR/node$n"
    cat >"$DIR/node$n/server.properties" <<PROPS
# node $n of the test cluster in $DIR (scripts/kafka/cluster.sh)
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$broker
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/node$n/data
num.partitions=3
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
PROPS
    if [ -f "$DIR/extra.properties" ]; then cat "$DIR/extra.properties" >>"$DIR/node$n/server.properties"; fi
    "$KAFKA/bin/kafka-storage.sh" format --ignore-formatted -t "$id" \
      -c "$DIR/node$n/server.properties" >"$DIR/node$n/format.log" 2>&1 ||
      fail "formatting node $n failed: $(tail -3 "$DIR/node$n/format.log")"
  done
  echo "$NODES" >"$DIR/nodes"
  echo "$bootstrap" >"$DIR/bootstrap"
}

start_node() {
  local n=$1
  if node_pid "$n" >/dev/null; then return 0; fi
  [ -f "$DIR/node$n/server.properties" ] || fail "no node $n in $DIR"
  # setsid: a node outlives the shell that started it (stop DIR ends it), and Ctrl-C in a
  # terminal reaches only `run`, which stops the nodes in order.
  setsid java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$DIR/node$n" \
    -Dlog4j2.configurationFile="$HERE/log4j2-broker.properties" \
    -cp "$KAFKA/libs/*" kafka.Kafka "$DIR/node$n/server.properties" \
    >"$DIR/node$n/stdout.log" 2>&1 </dev/null &
  echo $! >"$DIR/node$n/pid"
}

brokers_up() {  # how many brokers the cluster reports
  "$KAFKA/bin/kafka-broker-api-versions.sh" --bootstrap-server "$(<"$DIR/bootstrap")" \
    2>/dev/null | grep -c '(id: [0-9]* rack' || true
}

wait_ready() {
  local nodes deadline=$((SECONDS + 180)) n
  nodes=$(<"$DIR/nodes")
  while [ "$(brokers_up)" -lt "$nodes" ]; do
    for ((n = 1; n <= nodes; n++)); do
      node_pid "$n" >/dev/null || fail "node $n exited while starting; its log ($DIR/node$n):" \
        "$(tail -5 "$DIR/node$n/server.log" "$DIR/node$n/stdout.log" 2>/dev/null)"
    done
    [ $SECONDS -lt $deadline ] || fail "the cluster in $DIR was not up within 180 s"
    sleep 1
  done
}

start() {
  [ -f "$DIR/nodes" ] || configure
  local nodes n
  nodes=$(<"$DIR/nodes")
  for ((n = 1; n <= nodes; n++)); do start_node "$n"; done
  wait_ready
  echo "kafka cluster: $nodes brokers up in $DIR (Apache Kafka $(basename "$KAFKA" | sed 's/kafka-//'))" >&2
  cat "$DIR/bootstrap"
}

stop_nodes() {  # stops the given nodes together: SIGTERM, then SIGKILL after 60 s
  local n pid pids=() names=()
  for n in "$@"; do
    pid=$(node_pid "$n") || continue
    kill -CONT "$pid" 2>/dev/null || true  # a paused node must run to stop
    kill -TERM "$pid"
    pids+=("$pid")
    names+=("$n")
  done
  local deadline=$((SECONDS + 60)) i alive
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 1 ] || break
    if [ $SECONDS -ge $deadline ]; then
      echo "kafka cluster: a node did not stop within 60 s: killed" >&2
      for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      deadline=$((SECONDS + 3600))
    fi
    sleep 0.2
  done
  for n in "${names[@]}"; do rm -f "$DIR/node$n/pid"; done
}

stop() {
  [ -f "$DIR/nodes" ] || return 0
  # All nodes together: one at a time, the last would wait for a controller quorum that is gone.
  stop_nodes $(seq 1 "$(<"$DIR/nodes")")
}

signal_node() {
  local pid
  pid=$(node_pid "$NODE") || fail "node $NODE is not running in $DIR"
  kill "-$1" "$pid"
}

case "$COMMAND" in
  start) start ;;
  run)
    trap 'stop; exit 0' INT TERM
    start
    echo "kafka cluster: running; Ctrl-C stops it" >&2
    while sleep 1; do :; done
    ;;
  stop) stop ;;
  status)
    [ -f "$DIR/nodes" ] || fail "no cluster in $DIR"
    for ((n = 1; n <= $(<"$DIR/nodes"); n++)); do
      if pid=$(node_pid "$n"); then echo "node $n: running (pid $pid)"; else echo "node $n: stopped"; fi
    done
    echo "brokers reported by the cluster: $(brokers_up); bootstrap $(<"$DIR/bootstrap")"
    ;;
  kill) signal_node KILL; rm -f "$DIR/node$NODE/pid" ;;
  pause) signal_node STOP ;;
  resume) signal_node CONT ;;
  stop-node) stop_nodes "$NODE" ;;
  start-node) start_node "$NODE" ;;
  *) usage ;;
esac
