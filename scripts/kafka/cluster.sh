#!/usr/bin/env bash
# A real Apache Kafka cluster on loopback for tests, benchmarks and by hand: N nodes (3 unless
# --nodes says otherwise), each a combined broker and KRaft controller, all N voters, on free
# ports, with small heaps. The release is the one scripts/kafka/fetch.sh fetched (pinned in
# pom.xml). Everything lives in DIR: each node's configuration, data, log and pid.
#
#   cluster.sh start DIR [--nodes N] [--secure [--user NAME]...]
#                                      format (first time only), start, wait until every broker is
#                                      up; prints the bootstrap servers (also in DIR/bootstrap)
#   cluster.sh run DIR [--nodes N] [--secure [--user NAME]...]
#                                      start, then stop on Ctrl-C or SIGTERM (./run kafka)
#   cluster.sh stop DIR                stop every node cleanly (SIGTERM; SIGKILL after 60 s)
#   cluster.sh status DIR              which nodes run, and the brokers the cluster reports
#   cluster.sh kill|stop-node|start-node|pause|resume DIR NODE
#                                      faults for tests: SIGKILL, a clean stop, a start, SIGSTOP,
#                                      SIGCONT of one node (1..N)
#
# --secure (chosen when DIR is first formatted, kept after): clients connect over SASL_SSL with
# SCRAM-SHA-512 (deploy/README.md, Security) on the bootstrap ports. DIR/secure holds a test CA
# made by openssl at that moment (ca.pem) and the brokers' certificate it signed (for 127.0.0.1
# and localhost), a random password per SCRAM user (NAME.password: admin, a super user, and each
# --user NAME) and admin.properties for the Kafka tools as admin. The same users and passwords
# work with PLAIN over that TLS: librdkafka before 2.6.1 (Debian 12 has 2.0.2) sends a SCRAM
# nonce that Kafka 4.0 and later refuse. The StandardAuthorizer denies what no ACL allows. The
# brokers' own traffic (replication, controllers) stays PLAINTEXT on further loopback ports whose
# anonymous principal is a super user: they are not for clients.
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
  sed -n '7,29p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
COMMAND=$1
DIR=$2
shift 2
NODES=3
NODE=""
SECURE=0
USERS=()
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
    --secure) SECURE=1; shift ;;
    --user) USERS+=("$2"); shift 2 ;;
    *) fail "unknown argument '$1'" ;;
  esac
done
[[ $NODES =~ ^[1-9]$ ]] || fail "--nodes must be 1 to 9, not '$NODES'"
for user in "${USERS[@]}"; do
  [ $SECURE -eq 1 ] || fail "--user needs --secure"
  [[ $user =~ ^[A-Za-z0-9._-]+$ ]] || fail "--user: a SCRAM user name is letters, digits, '.', '_' and '-', not '$user'"
done

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

# --secure: the test CA, the brokers' certificate it signs, a password per SCRAM user and the
# Kafka tools' admin.properties, in DIR/secure (0700). Made fresh for each cluster, never kept.
make_secure() {
  local s=$DIR/secure user
  mkdir -p "$s"
  chmod 700 "$s"
  openssl_step() { openssl "$@" >>"$s/openssl.log" 2>&1 || fail "openssl $1 failed: $(tail -3 "$s/openssl.log")"; }
  openssl_step req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=casewatch test CA" \
    -keyout "$s/ca.key" -out "$s/ca.pem"
  openssl_step req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$s/broker.key" \
    -out "$s/broker.csr"
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
    'extendedKeyUsage=serverAuth' >"$s/broker.ext"
  openssl_step x509 -req -days 30 -in "$s/broker.csr" -CA "$s/ca.pem" -CAkey "$s/ca.key" \
    -CAcreateserial -extfile "$s/broker.ext" -out "$s/broker.pem"
  openssl rand -hex 16 >"$s/keystore.password"
  openssl_step pkcs12 -export -name broker -in "$s/broker.pem" -inkey "$s/broker.key" \
    -passout "file:$s/keystore.password" -out "$s/broker.p12"
  for user in admin "${USERS[@]}"; do openssl rand -hex 16 >"$s/$user.password"; done
  cat >"$s/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(<"$s/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$s/ca.pem
PROPS
}

plain_users() {  # --secure: each SCRAM user again for PLAIN, as JAAS options user_NAME="PASSWORD"
  local file
  for file in "$DIR"/secure/*.password; do
    [ "$(basename "$file")" = keystore.password ] && continue
    printf ' user_%s="%s"' "$(basename "$file" .password)" "$(<"$file")"
  done
}

# The listeners of node $1 with client port $2, controller port $3 and, --secure, internal port $4.
listener_properties() {
  if [ $SECURE -eq 0 ]; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
PROPS
    return
  fi
  local s=$DIR/secure
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3,BROKER://127.0.0.1:$4
advertised.listeners=SASL_SSL://127.0.0.1:$2,BROKER://127.0.0.1:$4
controller.listener.names=CONTROLLER
inter.broker.listener.name=BROKER
listener.security.protocol.map=SASL_SSL:SASL_SSL,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$(plain_users);
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$s/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$(<"$s/keystore.password")
listener.name.sasl_ssl.ssl.key.password=$(<"$s/keystore.password")
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# admin for the tools; ANONYMOUS is the brokers' and controllers' own PLAINTEXT traffic
super.users=User:admin;User:ANONYMOUS
PROPS
}

configure() {  # first start: ports, cluster id, each node's properties, formatted storage
  mkdir -p "$DIR"
  local ports scram=()
  read -r -a ports <<<"$(free_ports $(((2 + SECURE) * NODES)))"
  if [ $SECURE -eq 1 ]; then
    make_secure
    local user
    for user in admin "${USERS[@]}"; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(<"$DIR/secure/$user.password")]")
    done
  fi
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
$(listener_properties "$n" "$broker" "$controller" "${ports[$((2 * NODES + n - 1))]:-}")
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
    "$KAFKA/bin/kafka-storage.sh" format --ignore-formatted -t "$id" "${scram[@]}" \
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
  local admin=()
  if [ -f "$DIR/secure/admin.properties" ]; then admin=(--command-config "$DIR/secure/admin.properties"); fi
  "$KAFKA/bin/kafka-broker-api-versions.sh" --bootstrap-server "$(<"$DIR/bootstrap")" "${admin[@]}" \
    2>/dev/null | grep -c '(id: [0-9]* rack' || true
}

# Waits until every broker is up. Returns 3 when a node exited because another process took one
# of its ports between configure choosing it and the node binding it (another cluster starting
# beside this one, say); fails for anything else.
wait_ready() {
  local nodes deadline=$((SECONDS + 180)) n
  nodes=$(<"$DIR/nodes")
  while [ "$(brokers_up)" -lt "$nodes" ]; do
    for ((n = 1; n <= nodes; n++)); do
      node_pid "$n" >/dev/null && continue
      grep -q 'BindException: Address already in use' "$DIR/node$n/server.log" 2>/dev/null &&
        return 3
      fail "node $n exited while starting; its log ($DIR/node$n):" \
        "$(tail -n 5 "$DIR/node$n/server.log" "$DIR/node$n/stdout.log" 2>/dev/null)"
    done
    [ $SECONDS -lt $deadline ] || fail "the cluster in $DIR was not up within 180 s"
    sleep 1
  done
}

start() {
  local nodes n attempt fresh=0 ready
  for attempt in 1 2 3; do
    if [ ! -f "$DIR/nodes" ]; then
      configure
      fresh=1
    fi
    nodes=$(<"$DIR/nodes")
    for ((n = 1; n <= nodes; n++)); do start_node "$n"; done
    ready=0
    wait_ready || ready=$?
    if [ $ready -eq 0 ]; then
      echo "kafka cluster: $nodes brokers up in $DIR (Apache Kafka $(basename "$KAFKA" | sed 's/kafka-//'))" >&2
      cat "$DIR/bootstrap"
      return 0
    fi
    # A port taken under a node: a new cluster is made again on new ports; an existing one keeps
    # the ports its storage was formatted with, so it cannot be moved.
    [ $fresh -eq 1 ] || fail "a port of the cluster in $DIR is taken by another process"
    echo "kafka cluster: a port chosen for $DIR was taken before its node bound it; making the" \
         "cluster again on new ports (attempt $attempt of 3)" >&2
    stop
    rm -rf "$DIR"/node* "$DIR/nodes" "$DIR/bootstrap" "$DIR/secure"
  done
  fail "the cluster in $DIR could not bind its ports in 3 attempts"
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
