#!/usr/bin/env bash
# Fetches the Apache Kafka release pinned in pom.xml (the broker, its tools and their runtime
# dependencies) from Maven Central once, into a cache outside the repository, and checks every jar
# against SHA256SUMS. Prints the release's directory: libs/ (the jars) and bin/ (kafka-topics.sh,
# kafka-configs.sh, kafka-acls.sh and friends, for deploy/topics.sh). Called by scripts/setup.sh;
# never at build time.
#
#   scripts/kafka/fetch.sh          the cache: $CASEWATCH_CACHE, else ~/.cache/casewatch
#
# A cached release is used as it is when its recorded checksums equal SHA256SUMS; otherwise it is
# fetched again (Maven's own downloads are checked against the repository's checksums as well).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
CACHE=${CASEWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/casewatch}
DEST=$CACHE/kafka-$VERSION

fail() {
  echo "kafka fetch: $*" >&2
  exit 1
}

if [ -f "$DEST/SHA256SUMS" ] && cmp -s "$DEST/SHA256SUMS" "$HERE/SHA256SUMS"; then
  echo "$DEST"
  exit 0
fi
command -v java >/dev/null || fail "java is missing (scripts/setup.sh installs Debian's JRE)"
command -v mvn >/dev/null || fail "mvn is missing (scripts/setup.sh installs Debian's maven)"

echo "kafka fetch: Apache Kafka $VERSION from Maven Central into $DEST" >&2
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial/libs" "$DEST.partial/bin"
if ! mvn -B -q --no-transfer-progress -Dstyle.color=never -f "$HERE/pom.xml" \
     -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
     -DoutputDirectory="$DEST.partial/libs" -DincludeScope=runtime 2>&1 |
     sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2; then
  fail "Maven could not fetch Apache Kafka $VERSION and its dependencies: Maven Central" \
       "(https://repo.maven.apache.org) must be reachable; see the lines above"
fi
(cd "$DEST.partial/libs" && sha256sum --quiet -c "$HERE/SHA256SUMS" >&2) ||
  fail "a fetched jar does not match scripts/kafka/SHA256SUMS: not used"
expected=$(wc -l <"$HERE/SHA256SUMS")
found=$(find "$DEST.partial/libs" -name '*.jar' | wc -l)
[ "$found" -eq "$expected" ] ||
  fail "$found jars fetched where SHA256SUMS lists $expected: not used"

# The command-line tools under the names the Kafka distribution gives them.
tool() {
  cat >"$DEST.partial/bin/$1" <<TOOL
#!/bin/sh
# $1 of Apache Kafka $VERSION (made by casewatch's scripts/kafka/fetch.sh)
exec java \${KAFKA_TOOL_OPTS:--Xmx256m} -Dlog4j2.configurationFile="$HERE/log4j2-tools.properties" -cp "$DEST/libs/*" $2 "\$@"
TOOL
  chmod +x "$DEST.partial/bin/$1"
}
tool kafka-topics.sh org.apache.kafka.tools.TopicCommand
tool kafka-configs.sh kafka.admin.ConfigCommand
tool kafka-acls.sh org.apache.kafka.tools.AclCommand
tool kafka-storage.sh kafka.tools.StorageTool
tool kafka-metadata-quorum.sh org.apache.kafka.tools.MetadataQuorumCommand
tool kafka-broker-api-versions.sh org.apache.kafka.tools.BrokerApiVersionsCommand
tool kafka-consumer-groups.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
tool kafka-get-offsets.sh org.apache.kafka.tools.GetOffsetShell
tool kafka-delete-records.sh org.apache.kafka.tools.DeleteRecordsCommand
cp "$HERE/SHA256SUMS" "$DEST.partial/SHA256SUMS"  # last: marks the release complete
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
echo "$DEST"
