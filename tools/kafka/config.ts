/**
 * The broker's server.properties (listeners, SASL, TLS, ACLs, group
 * settings) and its log configuration, written on every start.
 *
 * @module
 */

import { join } from "node:path";
import {
  address,
  atLeast,
  CERTS,
  CLIENT_LISTENERS,
  hasTelemetry,
  isLegacy,
  KAFKA_KEYTAB,
  KAFKA_PRINCIPAL,
  KERBEROS_SERVICE_NAME,
  type ListenerName,
  paths,
  PORTS,
  PROTOCOLS,
  REAUTH_MS,
  SASL_LISTENERS,
  SASL_PASSWORD,
  SASL_USERNAME,
  SCRAM_MECHANISMS,
  STORE_PASSWORD,
  TELEMETRY_DIR,
} from "./settings.ts";

export async function writeConfig(version: string): Promise<void> {
  const p = paths(version);
  await Deno.mkdir(p.logs, { recursive: true });
  await Deno.mkdir(p.data, { recursive: true });
  await Deno.writeTextFile(p.serverProperties, serverProperties(version));
  const legacy = isLegacy(version);
  await Deno.writeTextFile(
    p.logConfig,
    legacy ? log4jBroker(p.logs) : log4j2Broker(),
  );
  await Deno.writeTextFile(
    p.toolsLogConfig,
    legacy ? log4jTools() : log4j2Tools(),
  );
}

export function serverProperties(version: string): string {
  const p = paths(version);
  const listeners = (Object.keys(PORTS) as ListenerName[])
    .map((name) => `${name}://${address(name)}`);
  const advertised = CLIENT_LISTENERS
    .map((name) => `${name}://${address(name)}`);
  const protocolMap = (Object.keys(PORTS) as ListenerName[])
    .map((name) => `${name}:${PROTOCOLS[name] ?? name}`);
  const lines = [
    "# Written by tools/kafka.ts on every start; edit the script, not this file.",
    "process.roles=broker,controller",
    "node.id=1",
    // A static quorum works on 3.9 and 4.x alike and needs no --standalone.
    `controller.quorum.voters=1@${address("CONTROLLER")}`,
    "controller.listener.names=CONTROLLER",
    `listeners=${listeners.join(",")}`,
    // 3.x rejects the controller listener among advertised ones.
    `advertised.listeners=${advertised.join(",")}`,
    `listener.security.protocol.map=${protocolMap.join(",")}`,
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${p.data}`,
    "",
    `sasl.enabled.mechanisms=PLAIN,${SCRAM_MECHANISMS.join(",")},OAUTHBEARER`,
    // Client telemetry (KIP-714, 3.7): a receiver, without which the broker
    // offers neither GetTelemetrySubscriptions nor PushTelemetry.
    ...(hasTelemetry(version)
      ? [
        "metric.reporters=TelemetryReceiver",
        `streamkafka.telemetry.dir=${TELEMETRY_DIR}`,
      ]
      : []),
    // Delegation tokens (KIP-48; in KRaft from 3.6): the key their HMACs
    // are made with.
    ...(atLeast(version, "3.6")
      ? ["delegation.token.secret.key=streamkafka-test-token-key"]
      : []),
    ...SASL_LISTENERS.flatMap(jaasLines),
    ...gssapiLines(),
    "",
    "ssl.keystore.type=PKCS12",
    `ssl.keystore.location=${join(CERTS, "server.p12")}`,
    `ssl.keystore.password=${STORE_PASSWORD}`,
    `ssl.key.password=${STORE_PASSWORD}`,
    "ssl.truststore.type=PKCS12",
    `ssl.truststore.location=${join(CERTS, "truststore.p12")}`,
    `ssl.truststore.password=${STORE_PASSWORD}`,
    "ssl.client.auth=none",
    // The MTLS listener requires a certificate signed by the same CA; the
    // principal is its CN (User:streamkafka-client).
    "listener.name.mtls.ssl.client.auth=required",
    "ssl.principal.mapping.rules=RULE:^CN=([^,]*).*$/$1/,DEFAULT",
    `listener.name.reauth.connections.max.reauth.ms=${REAUTH_MS}`,
    "",
    // ACLs are on, so the admin Client's ACL calls work; every client the
    // tests run is a super user or meets no ACL, and is let through.
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
    `super.users=User:ANONYMOUS;User:${SASL_USERNAME}`,
    "",
    "num.partitions=1",
    "default.replication.factor=1",
    "auto.create.topics.enable=true",
    "delete.topic.enable=true",
    "group.initial.rebalance.delay.ms=0",
    // Internal topics default to 3 replicas and 50 partitions; one of each
    // keeps the first group or transaction on a fresh broker quick.
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=1",
    // A transaction past its timeout is aborted within a second (default
    // 10 s), so the transaction timeout test is quick.
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
  ];
  if (!isLegacy(version)) {
    // KIP-848 groups keep the defaults (45 s sessions, 5 s heartbeats), but
    // may be given shorter ones per group (consumer.session.timeout.ms and
    // consumer.heartbeat.interval.ms), as the tests do. Before 4.0 the
    // consumer protocol is an early-access preview, left off as there by
    // default.
    lines.push(
      "group.consumer.min.session.timeout.ms=1000",
      "group.consumer.min.heartbeat.interval.ms=100",
      // Share groups likewise, and their record locks: the tests set 2 s
      // per group (share.record.lock.duration.ms) to see records return.
      "group.share.min.session.timeout.ms=1000",
      "group.share.min.heartbeat.interval.ms=100",
      "group.share.min.record.lock.duration.ms=1000",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "share.coordinator.state.topic.num.partitions=1",
    );
  }
  return lines.join("\n") + "\n";
}

/** One JAAS entry per listener and mechanism, so no JAAS file is needed. */
export function jaasLines(listener: ListenerName): string[] {
  const prefix = `listener.name.${listener.toLowerCase()}`;
  const plain = "org.apache.kafka.common.security.plain.PlainLoginModule " +
    `required user_${SASL_USERNAME}="${SASL_PASSWORD}";`;
  const scram = "org.apache.kafka.common.security.scram.ScramLoginModule " +
    "required;";
  // OAUTHBEARER with Kafka's unsecured-JWT validator (tests only: it
  // accepts any token with alg "none" and a sub, iat and exp claim).
  const oauth =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;";
  return [
    `${prefix}.oauthbearer.sasl.jaas.config=${oauth}`,
    `${prefix}.plain.sasl.jaas.config=${plain}`,
    ...SCRAM_MECHANISMS.map((m) =>
      `${prefix}.${m.toLowerCase()}.sasl.jaas.config=${scram}`
    ),
  ];
}

/**
 * The GSSAPI listener: Kerberos alone, with the broker's key from
 * KAFKA_KEYTAB. The service name is a listener setting, not a mechanism one
 * (only sasl.jaas.config and the callback and login classes take a
 * mechanism prefix). isInitiator=false: the broker only accepts contexts and
 * never asks the KDC for a ticket of its own, so it needs no TGT to renew,
 * and Java reads the keytab again for each context it accepts (seen: a KDC
 * restarted with new keys under a running broker works at once).
 */
export function gssapiLines(): string[] {
  const prefix = "listener.name.gssapi";
  const krb5 = "com.sun.security.auth.module.Krb5LoginModule required " +
    "useKeyTab=true storeKey=true isInitiator=false " +
    `keyTab="${KAFKA_KEYTAB}" principal="${KAFKA_PRINCIPAL}";`;
  return [
    `${prefix}.sasl.enabled.mechanisms=GSSAPI`,
    `${prefix}.sasl.kerberos.service.name=${KERBEROS_SERVICE_NAME}`,
    `${prefix}.gssapi.sasl.jaas.config=${krb5}`,
  ];
}

export function log4j2Broker(): string {
  return `# Written by tools/kafka.ts.
status = warn
# Kafka flushes and stops logging itself on shutdown; log4j's own hook only
# warns that it came too late.
shutdownHook = disable
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = \${sys:kafka.logs.dir}/server.log
appender.server.filePattern = \${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 50MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
`;
}

export function log4j2Tools(): string {
  return `# Written by tools/kafka.ts.
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = stderr
`;
}

export function log4jBroker(logs: string): string {
  return `# Written by tools/kafka.ts.
log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.RollingFileAppender
log4j.appender.server.File=${logs}/server.log
log4j.appender.server.MaxFileSize=50MB
log4j.appender.server.MaxBackupIndex=3
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
}

export function log4jTools(): string {
  return `# Written by tools/kafka.ts.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
}
