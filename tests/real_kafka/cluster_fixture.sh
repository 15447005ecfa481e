#!/usr/bin/env bash
# ctest's fixture real_kafka_cluster: one 3-node Apache Kafka cluster (scripts/kafka/cluster.sh)
# shared by the real-cluster variants of the Kafka tests, each of which makes topics of its own.
#
#   cluster_fixture.sh start SOURCE_DIR CLUSTER_DIR   a new cluster from empty storage
#   cluster_fixture.sh stop SOURCE_DIR CLUSTER_DIR    stops it; its logs stay in CLUSTER_DIR
#
# Fails, saying why, when the release cannot be fetched or a broker cannot start: the tests that
# need the cluster then fail too (ctest reports them as failed for want of their fixture), never
# skip.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: cluster_fixture.sh start|stop SOURCE_DIR CLUSTER_DIR" >&2; exit 2; }
COMMAND=$1 SRC=$2 DIR=$3
CLUSTER=$SRC/scripts/kafka/cluster.sh
case "$COMMAND" in
  start)
    "$CLUSTER" stop "$DIR" 2>/dev/null || true  # a cluster left by an interrupted run
    rm -rf "$DIR"
    "$CLUSTER" start "$DIR"
    ;;
  stop)
    "$CLUSTER" stop "$DIR"
    rm -rf "$DIR"/node*/data
    ;;
  *)
    echo "cluster_fixture.sh: unknown command '$COMMAND' (start or stop)" >&2
    exit 2
    ;;
esac
