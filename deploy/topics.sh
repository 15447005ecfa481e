#!/usr/bin/env bash
# Creates the topics casewatchd expects (three for events, alerts and dead letters, the progress
# topic of its exactly-once outbox, and the directory and event id claims of a group of engines),
# with the settings it expects, on the cluster at $BOOTSTRAP; with ENGINE_PRINCIPAL set, also
# grants the ACLs of a secured cluster.
#
#   BOOTSTRAP=kafka-1:9092 deploy/topics.sh
#   BOOTSTRAP=kafka-1.example.org:9094 COMMAND_CONFIG=/etc/kafka/admin.properties \
#     ENGINE_PRINCIPAL=User:casewatch-engine PUBLISHER_PRINCIPALS="User:delius User:oasys" \
#     deploy/topics.sh
#
# BOOTSTRAP       host:port[,host:port...] of the cluster (required)
# COMMAND_CONFIG  admin client properties (SASL_SSL credentials of an admin) for the Kafka tools
# KAFKA_BIN       where kafka-topics.sh and friends are (default /opt/kafka/bin, as in the
#                 apache/kafka image)
# ENGINE_TRANSACTIONAL_ID  the engine's transactional.id, for its ACL (default
#                 casewatchd-case-events, casewatchd's default for the case-events topic)
#
# Idempotent: a topic is created only when missing (--if-not-exists), and the per-topic
# settings below are (re)applied every run, so running it again converges the cluster on them.
# Partition count and replication factor of an existing topic are never changed, only checked.
# Needs a cluster of at least 3 brokers (replication factor 3).
set -euo pipefail

: "${BOOTSTRAP:?set BOOTSTRAP to host:port[,host:port...] of the Kafka cluster}"
KAFKA_BIN=${KAFKA_BIN:-/opt/kafka/bin}
admin=(--bootstrap-server "$BOOTSTRAP")
if [[ -n ${COMMAND_CONFIG:-} ]]; then admin+=(--command-config "$COMMAND_CONFIG"); fi

readonly DAY_MS=86400000
readonly REPLICATION=3

# topic NAME PARTITIONS KEY=VALUE...: creates NAME when missing, sets its configs, and warns when
# an existing topic's partition count or replication factor differ from the ones asked for.
topic() {
  local name=$1 partitions=$2
  shift 2
  local create=(--create --if-not-exists --topic "$name" --partitions "$partitions"
                --replication-factor "$REPLICATION")
  local config
  for config in "$@"; do create+=(--config "$config"); done
  "$KAFKA_BIN/kafka-topics.sh" "${admin[@]}" "${create[@]}"

  local joined
  joined=$(IFS=,; echo "$*")
  "$KAFKA_BIN/kafka-configs.sh" "${admin[@]}" --alter --entity-type topics --entity-name "$name" \
    --add-config "$joined"

  local described actual_partitions actual_replication
  described=$("$KAFKA_BIN/kafka-topics.sh" "${admin[@]}" --describe --topic "$name" | sed -n 1p)
  actual_partitions=$(sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' <<<"$described")
  actual_replication=$(sed -n 's/.*ReplicationFactor: *\([0-9]*\).*/\1/p' <<<"$described")
  if [[ $actual_partitions != "$partitions" || $actual_replication != "$REPLICATION" ]]; then
    echo "topics.sh: warning: $name has $actual_partitions partitions, replication" \
         "$actual_replication; expected $partitions and $REPLICATION (not changed)" >&2
  fi
  echo "topics.sh: $name: $partitions partitions, replication $REPLICATION, $joined"
}

# Settings common to all three topics:
# - replication 3 with min.insync.replicas=2: casewatchd and the publishers produce with acks=all,
#   so an acknowledged record is on at least two brokers and one broker can be down (rolling
#   restarts) without stopping writes.
# - unclean.leader.election.enable=false: never let an out-of-sync replica become leader and
#   silently drop acknowledged records.
# - cleanup.policy=delete: these are logs of facts, not keyed snapshots; compaction would keep
#   only the last event of each case.
# - retention.bytes=-1: never by size, whatever the broker default says, so the promised time
#   (for ever, on case-events) is really kept.
common=(min.insync.replicas=2 unclean.leader.election.enable=false cleanup.policy=delete
        retention.bytes=-1)

# case-events: the publishers' events (binary Envelope, keyed by case_id).
# - 12 partitions: keying by case_id keeps a case's events in one partition, in order; 12
#   spreads leadership evenly over 3 (or 4, 6) brokers and gives publishers parallelism. More
#   would not make casewatchd faster: one engine reads every partition. Choose once: adding
#   partitions later sends a case's new events to a different partition than its old ones.
# - retention unlimited (retention.ms=-1): case-events is the log of record. It is replicated on
#   three brokers, so the history survives the loss of any engine host: an engine started on an
#   empty store reads the topic from the beginning and rebuilds an identical store (deploy/
#   README.md, "Kafka is the log of record"). Size the brokers' disks for the whole history,
#   three copies.
# - max.message.bytes 1 MiB (about Kafka's default): an Envelope is well under 1 KiB, so this
#   only bounds a producer's batch; raising it would only let a broken publisher through.
topic case-events 12 "${common[@]}" retention.ms=-1 max.message.bytes=1048576

# case-events-derived: the engine's own derived events (obligation_missed, binary Envelope,
# keyed by case_id), published through its outbox with the alerts. Part of the log of record, so
# kept for ever like case-events: an engine rebuilding a lost store from Kafka reads them back
# first and ends with the same derived events, raising no alert a second time. Only the engine
# writes here (ACLs below). Few records: one per missed obligation.
topic case-events-derived 12 "${common[@]}" retention.ms=-1 max.message.bytes=1048576

# case-alerts: missed-obligation alerts published by casewatchd (JSON by default, keyed by
# case_id, so one case's alerts stay in order for their consumers). 30 days gives alert
# consumers a month to be down or to replay. casewatchd publishes them in transactions: exactly
# once for consumers with isolation.level=read_committed (at least once with
# --outbox-delivery at-least-once; consumers then dedupe by the alert's event_id).
topic case-alerts 12 "${common[@]}" retention.ms=$((30 * DAY_MS)) max.message.bytes=1048576

# case-events-dlq: rejected events, original bytes plus the reason in headers. Few records;
# 90 days leaves time to find the publisher's bug, fix it and re-publish (event_id makes
# re-publishing safe). 2 MiB so any record that fitted case-events still fits with its headers.
topic case-events-dlq 3 "${common[@]}" retention.ms=$((90 * DAY_MS)) max.message.bytes=2097152

# casewatchd-outbox-progress: casewatchd's exactly-once outbox. Each transaction that publishes
# alerts or dead letters also writes here, keyed by the engine's transactional.id, the last outbox
# record it published; a restarted engine reads the last committed one to know what it must not
# publish again (services/daemon/README.md).
# - compacted: only each key's last record matters. segment.ms of an hour lets compaction drop the
#   older ones (one per transaction) within about an hour, so the engine reads little at start.
# - 1 partition: one key per engine, a few bytes each.
# - replication 3, min.insync.replicas=2, no unclean election, as for the others: a progress
#   record lost would have the engine publish again what it records as published.
topic casewatchd-outbox-progress 1 min.insync.replicas=2 unclean.leader.election.enable=false \
  cleanup.policy=compact segment.ms=3600000 max.message.bytes=1048576

# casewatchd-tasks-progress: the same for casewatchd --tasks, a partition per partition of
# case-events: task N records its progress on partition N (--tasks-progress-topic). A reader
# stops at the first transaction still open on what it reads, and the tasks run, die and move
# between engines apart: on one shared partition, one task's transaction left open would hold back
# the others' reads of their progress.
topic casewatchd-tasks-progress 12 min.insync.replicas=2 unclean.leader.election.enable=false \
  cleanup.policy=compact segment.ms=3600000 max.message.bytes=1048576

# casewatchd-group-directory: the engines of a group (casewatchd --group) each write a record
# about themselves here every 2 s, keyed by where they serve HTTP (--advertise-url), and read it
# whole, so that any engine lists the group (GET /api/v1/group). A clean stop writes a tombstone.
# - compacted, one partition, as the progress topic: one small record per engine matters.
#   delete.retention.ms of a day keeps a tombstone long enough for any engine to read it.
topic casewatchd-group-directory 1 min.insync.replicas=2 unclean.leader.election.enable=false \
  cleanup.policy=compact segment.ms=3600000 delete.retention.ms=$DAY_MS max.message.bytes=1048576

# casewatchd-event-ids: where the engines of a group that share the partitions out (casewatchd
# --tasks --group) claim each event id new to the service, keyed by the id (29 bytes: the
# claiming event's partition, offset and content fingerprint). An event_id is unique across all
# cases, and the case that had an id first may be another engine's; every engine reads this
# topic, and the first claim on an id is the one that holds (services/daemon/README.md).
# - kept for ever, never compacted: an engine whose store is lost reads every claim again, and
#   compaction would keep an id's last claim, not its first. About 100 bytes per event, three
#   copies: a tenth of case-events.
# - 12 partitions, as case-events: every engine reads all of them.
topic casewatchd-event-ids 12 "${common[@]}" retention.ms=-1 max.message.bytes=1048576

# ACLs, for a cluster with an authorizer (StandardAuthorizer in KRaft) and
# allow.everyone.if.no.acl.found=false. Adding an ACL that exists is a no-op.
# - casewatchd reads case-events by assigning partitions itself with offsets from its store. The
#   engines of a group (--group NAME, ENGINE_GROUP here, default casewatchd-case-events) join the
#   consumer group NAME on the progress topic to choose their leader: Read on that group. It
#   publishes alerts and dead letters in transactions, so
#   Write and Describe on its TransactionalId; and Read and Write on the progress topics, which
#   it writes in each transaction and reads back at start. Describe is implied by Read and Write; it
#   is granted explicitly because the engine lists partitions and their offsets.
# - publishers need Write on case-events and nothing else.
if [[ -n ${ENGINE_PRINCIPAL:-} ]]; then
  acl=("$KAFKA_BIN/kafka-acls.sh" "${admin[@]}" --add)
  # Read to consume; Write because POST /api/v1/events publishes there as the engine.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
    --operation Describe --topic case-events
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Write --operation Describe \
    --topic case-events-dlq
  # Write to publish its alerts; Read because an engine of a group sharing the partitions out
  # reads every engine's alerts for its live streams.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
    --operation Describe --topic case-alerts
  # Write to publish its derived events, Read to restore them into a rebuilt store.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
    --operation Describe --topic case-events-derived
  for t in casewatchd-outbox-progress casewatchd-tasks-progress; do
    "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
      --operation Describe --topic "$t"
  done
  # A group's engines claim event ids, and read every engine's claims.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
    --operation Describe --topic casewatchd-event-ids
  # A group's engines write and read their directory.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read --operation Write \
    --operation Describe --topic casewatchd-group-directory
  # Prefixed: casewatchd --tasks gives each task the id followed by -p<partition>.
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Write --operation Describe \
    --transactional-id "${ENGINE_TRANSACTIONAL_ID:-casewatchd-case-events}" \
    --resource-pattern-type prefixed
  "${acl[@]}" --allow-principal "$ENGINE_PRINCIPAL" --operation Read \
    --group "${ENGINE_GROUP:-casewatchd-case-events}"
  for p in ${PUBLISHER_PRINCIPALS:-}; do
    "${acl[@]}" --allow-principal "$p" --operation Write --topic case-events
  done
fi
