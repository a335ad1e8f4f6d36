#!/usr/bin/env bash
# Checks the broker's GSSAPI listener with Java's own Kafka client: alice logs
# in to the KDC from her keytab, then asks 127.0.0.1:9099 for the cluster id
# and the topics. Needs the broker and KDC of `deno task kafka:up`.
#
#   tools/kerberos/check.sh            the running broker's version
#   KAFKA_VERSION=3.9.1 tools/kerberos/check.sh
#   DEBUG=1 tools/kerberos/check.sh    with Java's Kerberos and GSS traces
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
version=${KAFKA_VERSION:-$(cat .kafka/broker.version 2>/dev/null || echo 4.4.0)}
krb=$root/.kafka/kerberos
libs=$root/.kafka/$version/libs
for file in "$krb/krb5.conf" "$krb/alice.keytab" "$libs/kafka-clients-$version.jar"; do
  [ -e "$file" ] || { echo "missing $file: run 'deno task kafka:up' first" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/client.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=GSSAPI
sasl.kerberos.service.name=kafka
sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true keyTab="$krb/alice.keytab" principal="alice@STREAMKAFKA.TEST";
EOF
# Kafka's Java client names the service after a reverse lookup of the
# broker's address (127.0.0.1 becomes localhost: kafka/localhost, unknown to
# the KDC). A hosts file without names keeps 127.0.0.1, the host in the
# broker's principal kafka/127.0.0.1.
echo "# no names: reverse lookups fail and addresses stay as they are" >"$tmp/hosts"

if [[ $version == 3.* ]]; then
  logging=(-Dlog4j.configuration="file:$root/.kafka/$version/tools-log4j.properties")
  config=--config # 4.x renamed it --command-config
else
  logging=(-Dlog4j2.configurationFile="$root/.kafka/$version/tools-log4j2.properties")
  config=--command-config
fi
debug=false
[ -n "${DEBUG:-}" ] && debug=true
java=(
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
  -Djava.security.krb5.conf="$krb/krb5.conf"
  -Djdk.net.hosts.file="$tmp/hosts"
  -Dsun.security.krb5.debug=$debug -Dsun.security.jgss.debug=$debug
  "${logging[@]}" -cp "$libs/*"
)
"${java[@]}" org.apache.kafka.tools.ClusterTool cluster-id \
  --bootstrap-server 127.0.0.1:9099 "$config" "$tmp/client.properties"
topics=$("${java[@]}" org.apache.kafka.tools.TopicCommand --list \
  --bootstrap-server 127.0.0.1:9099 --command-config "$tmp/client.properties")
echo "Topics: $(printf '%s' "$topics" | grep -c .)"
echo "GSSAPI OK: alice@STREAMKAFKA.TEST via 127.0.0.1:9099 (Kafka $version)"
