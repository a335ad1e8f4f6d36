/**
 * Bad input refused at once, naming what was wrong, with nothing done:
 * misspelt options and fields of calls that would otherwise do more than
 * meant, numbers out of the protocol's range, values the protocol would
 * wrap, conflicting options, and messages that show the value given.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  Cluster,
  Dialer,
  dialLeader,
  dialPartition,
  formatAddress,
  type MessageInput,
  messageTraceContext,
  oauthBearer,
  parseMskIamAnswer,
  plain,
  Reader,
  scram,
  SeekAbsolute,
  SeekDontCheck,
  ShareReader,
  unsecuredJwt,
  Writer,
} from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

/** Asserts that `run` throws or rejects, within `ms`, matching `expected`. */
async function refusedAtOnce(
  run: () => unknown,
  expected: RegExp | ((error: Error) => boolean),
  ms = 1000,
): Promise<void> {
  const started = Date.now();
  await assert.rejects(async () => await run(), expected);
  const took = Date.now() - started;
  assert.ok(took < ms, `refused after ${took} ms, expected under ${ms}`);
}

describe("bad input", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster, timeout: 20_000 });
  let topic = "";
  before(async () => {
    topic = uniqueTopic("bad-input");
    const [made] = await client.createTopics([{ topic, numPartitions: 3 }]);
    assert.equal(made.error, null);
  });
  after(async () => {
    await client.deleteTopics([topic]).catch(() => {});
    await cluster.close();
  });

  test("admin calls refuse options they do not take, and do nothing", async () => {
    const created = uniqueTopic("bad-input-validate");
    await refusedAtOnce(
      () =>
        client.createTopics([{ topic: created }], {
          validateonly: true,
        } as never),
      /^TypeError: Client\.createTopics: unknown option "validateonly"; did you mean "validateOnly"\?$/,
    );
    const { topics } = await client.metadata(null);
    assert.ok(!topics.some((t) => t.topic === created), "nothing was created");
    await refusedAtOnce(
      () =>
        client.resetGroupOffsets("bad-input-group", {
          to: "earliest",
          topics: [topic],
          dryrun: true,
        } as never),
      /^TypeError: Client\.resetGroupOffsets: unknown option "dryrun"; did you mean "dryRun"\?$/,
    );
    await refusedAtOnce(
      () =>
        client.alterConfigs([{
          type: "topic",
          name: topic,
          configs: { "retention.ms": "1234" },
        }], { validateonly: true } as never),
      /unknown option "validateonly"; did you mean "validateOnly"\?/,
    );
    await refusedAtOnce(
      () => client.metadata(null, { autocreate: true } as never),
      /unknown option "autocreate"; did you mean "autoCreate"\?/,
    );
    await refusedAtOnce(
      () => client.findHangingTransactions({ brokerId: 1 } as never),
      /^TypeError: Client\.findHangingTransactions: unknown option "brokerId"; did you mean "broker"\?$/,
    );
    const [config] = await client.describeConfigs([{
      type: "topic",
      name: topic,
    }]);
    const retention = config.configs.find((c) => c.name === "retention.ms");
    assert.notEqual(retention?.value, "1234", "the config did not change");
  });

  test("an ACL filter with a misspelt field is refused: deleteAcls deletes nothing", async () => {
    const name = uniqueTopic("bad-input-acl");
    const acl = (principal: string) => ({
      resourceType: "topic" as const,
      resourceName: name,
      principal,
      operation: "read" as const,
      permission: "allow" as const,
    });
    const made = await client.createAcls([
      acl("User:keep"),
      acl("User:drop"),
    ]);
    assert.ok(made.every((m) => m.error === null));
    try {
      await refusedAtOnce(
        () =>
          client.deleteAcls([{
            resourceName: name,
            principle: "User:drop",
          } as never]),
        /^TypeError: Client\.deleteAcls: "filters\[0\]": unknown field "principle"; did you mean "principal"\?$/,
      );
      await refusedAtOnce(
        () => client.describeAcls({ resourcetype: "topic" } as never),
        /unknown field "resourcetype"; did you mean "resourceType"\?/,
      );
      await refusedAtOnce(
        () => client.createAcls([{ ...acl("User:x"), hots: "*" } as never]),
        /^TypeError: Client\.createAcls: "acls\[0\]": unknown field "hots"; did you mean "host"\?$/,
      );
      const left = await client.describeAcls({ resourceName: name });
      assert.equal(left.length, 2, "both ACLs are still there");
    } finally {
      await client.deleteAcls([{ resourceName: name }]);
    }
  });

  test("numbers the protocol would wrap or narrow, and conflicting topic settings, are refused", async () => {
    const name = uniqueTopic("bad-input-wrap");
    for (
      const [field, value] of [
        ["numPartitions", 2 ** 32 + 2],
        ["numPartitions", 2 ** 31],
        ["replicationFactor", 2 ** 16 + 1],
        ["numPartitions", NaN],
      ] as const
    ) {
      await refusedAtOnce(
        () => client.createTopics([{ topic: name, [field]: value }]),
        new RegExp(
          `^TypeError: Client\\.createTopics: "topics\\[0\\]\\.${field}" must be a positive integer up to \\d+ \\(or -1: the broker's default\\), got number ${value}$`,
        ),
      );
    }
    await refusedAtOnce(
      () =>
        client.createTopics([{
          topic: name,
          replicaAssignment: "x" as never,
        }]),
      /"topics\[0\]\.replicaAssignment" must be an array with, per partition, an array of broker ids \(integers >= 0\), got string "x"/,
    );
    await refusedAtOnce(
      () =>
        client.createTopics([{
          topic: name,
          numPartitions: 2,
          replicaAssignment: [[1]],
        }]),
      /sets both "replicaAssignment" and "numPartitions" \(2\)/,
    );
    const { topics } = await client.metadata(null);
    assert.ok(!topics.some((t) => t.topic === name), "nothing was created");
  });

  test("offset commits, new partitions' assignments and feature upgrade types are checked before anything is sent", async () => {
    const group = uniqueTopic("bad-input-commit");
    const commit = (extra: object, options: object = {}) =>
      client.offsetCommit(
        group,
        [{ topic, partition: 0, offset: 1, ...extra }],
        options,
      );
    await refusedAtOnce(
      () => commit({ leaderEpoch: "3" }),
      /"offsets\[0\]\.leaderEpoch" must be a leader epoch \(an integer from -1 to 2147483647\) or undefined, got string "3"/,
    );
    await refusedAtOnce(
      () => commit({ metadata: 5 }),
      /"offsets\[0\]\.metadata" must be a string, or null or undefined, got number 5/,
    );
    await refusedAtOnce(
      () => commit({ metadata: "x".repeat(40_000) }),
      /"offsets\[0\]\.metadata" is 40000 bytes in UTF-8; a Kafka string holds at most 32767/,
    );
    await refusedAtOnce(
      () => commit({}, { generationId: 2 ** 40 }),
      /"options\.generationId" must be an integer from -1 to 2147483647, got number 1099511627776/,
    );
    await refusedAtOnce(
      () => commit({}, { memberId: 7 }),
      /"options\.memberId" must be a string, or null or undefined, got number 7/,
    );
    assert.deepEqual(await client.offsetFetch(group), []);
    await refusedAtOnce(
      () =>
        client.createPartitions([{
          topic,
          count: 4,
          assignments: [["1"]] as never,
        }]),
      /Client\.createPartitions: "increases\[0\]\.assignments\[0\]" must be an array with, per partition, an array of broker ids \(integers >= 0\), got object \["1"\]/,
    );
    const { topics } = await client.metadata([topic]);
    assert.equal(topics[0].partitions.length, 3, "no partition was added");
    await refusedAtOnce(
      () =>
        client.updateFeatures([{
          feature: "transaction.version",
          level: 2,
          upgradeType: "toString" as never,
        }]),
      /"updates\[0\]\.upgradeType" must be/,
    );
  });

  test("writeMessages refuses a second array and options it does not take; nothing is written", async () => {
    const w = new Writer({ brokers: [BROKER], topic });
    try {
      await refusedAtOnce(
        () => w.writeMessages([{ value: "a" }], [{ value: "b" }] as never),
        /^TypeError: Cannot write: writeMessages takes one array of messages and its options, got 2 arguments, the second an array/,
      );
      await refusedAtOnce(
        () =>
          w.writeMessages([{ value: "a" }], {
            signl: AbortSignal.timeout(1000),
          } as never),
        /^TypeError: Cannot write: unknown option "signl"; did you mean "signal"\?$/,
      );
      await refusedAtOnce(
        () => w.writeMessages([{ value: "a" }], { timeout: 500 } as never),
        /unknown option "timeout"; this call takes no timeout: pass "signal": AbortSignal\.timeout\(ms\)/,
      );
      await refusedAtOnce(
        () => w.writeMessages([{ value: "a" }], null as never),
        /^TypeError: Cannot write: the options must be an object, got null$/,
      );
      const stats = w.stats();
      assert.equal(stats.messages, 0);
    } finally {
      await w.close();
    }
  });

  test("close() refuses options it does not take and a timeout that is not a positive number; the Writer stays open", async () => {
    const w = new Writer({ brokers: [BROKER], topic });
    try {
      await refusedAtOnce(
        () => w.close({ timout: 500 } as never),
        /^TypeError: Cannot close the Writer: unknown option "timout"; did you mean "timeout"\?$/,
      );
      await refusedAtOnce(
        () => w.close({ timeout: -1 }),
        /^RangeError: Cannot close the Writer: "timeout" must be a positive number of milliseconds, got -1/,
      );
      await refusedAtOnce(
        () => w.close({ timeout: "5s" } as never),
        /^TypeError: Cannot close the Writer: "timeout" must be a positive number of milliseconds, got "5s"/,
      );
      await refusedAtOnce(
        () => w.close(5 as never),
        /^TypeError: Cannot close the Writer: the options must be an object, got 5/,
      );
      await w.writeMessages({ value: "still open" });
    } finally {
      await w.close({ timeout: 10_000 });
    }
  });

  test("a balancer that returns no partition of the topic fails the write at once, naming what it returned", async () => {
    await noUnhandledRejections(async () => {
      for (const returned of [99, -1, "0", undefined]) {
        const w = new Writer({
          brokers: [BROKER],
          topic,
          balancer: { balance: () => returned as number },
        });
        try {
          // The first write waits for metadata; the second is routed at once.
          for (let call = 0; call < 2; call++) {
            await refusedAtOnce(
              () => w.writeMessages({ value: "x" }),
              (error: Error) =>
                /the balancer returned .*, not a partition of topic ".*" \(it has 3: 0 to 2\)/
                  .test(error.message),
              3000,
            );
          }
        } finally {
          await w.close();
        }
      }
    });
  });

  test("sendOffsets checks every offset before anything is sent: the transaction still commits", async () => {
    const w = new Writer({
      brokers: [BROKER],
      topic,
      transactionalId: uniqueTopic("bad-input-txn"),
    });
    try {
      await w.beginTransaction();
      await w.writeMessages({ value: "in-txn", partition: 0 });
      await refusedAtOnce(
        () => w.sendOffsets([{ topic } as never], "bad-input-group"),
        /^TypeError: Cannot sendOffsets: "offsets\[0\]\.partition" must be an integer from 0 to 2147483647, got undefined$/,
      );
      await refusedAtOnce(
        () =>
          w.sendOffsets([
            { topic, partition: 0, ofset: 3 } as never,
          ], "bad-input-group"),
        /^TypeError: Cannot sendOffsets: "offsets\[0\]": unknown field "ofset"; did you mean "offset"\?$/,
      );
      // A partition or topic the cluster does not have: the coordinator's
      // refusal would have left the transaction to abort.
      await refusedAtOnce(
        () =>
          w.sendOffsets(
            [{ topic, partition: 0, offset: 1 }, {
              topic,
              partition: 99,
              offset: 3,
            }],
            "bad-input-group",
          ),
        /^RangeError: Cannot sendOffsets: "offsets\[1\]" names partition 99, not a partition of topic "[^"]+" \(it has 3: 0 to 2\); nothing was sent, and the transaction can still commit$/,
        5000,
      );
      const missing = uniqueTopic("bad-input-missing");
      await refusedAtOnce(
        () =>
          w.sendOffsets(
            [{ topic: missing, partition: 0, offset: 3 }],
            "bad-input-group",
          ),
        /^RangeError: Cannot sendOffsets: "offsets\[0\]" names topic "[^"]+", which the cluster does not have; nothing was sent/,
        5000,
      );
      await w.commitTransaction();
      const reader = new Reader({
        brokers: [BROKER],
        topic,
        partition: 0,
        isolationLevel: "read_committed",
        maxWait: 200,
      });
      try {
        // Found within 10 s, or the read rejects with the timeout.
        const signal = AbortSignal.timeout(10_000);
        let value = "";
        while (value !== "in-txn") {
          const m = await reader.readMessage({ signal });
          value = new TextDecoder().decode(m.value!);
        }
      } finally {
        await reader.close();
      }
    } finally {
      await w.close();
    }
  });

  test("flags are true or false: dryRun: 0 does not commit", async () => {
    const group = uniqueTopic("bad-input-dry");
    await refusedAtOnce(
      () =>
        client.resetGroupOffsets(group, {
          to: "earliest",
          topics: [topic],
          dryRun: 0 as never,
        }),
      /^TypeError: Client\.resetGroupOffsets: "dryRun" must be true or false, got 0 \(number\)$/,
    );
    const committed = await client.offsetFetch(group);
    assert.equal(committed.length, 0, "nothing was committed");
    await refusedAtOnce(
      () =>
        client.createTopics([{ topic: uniqueTopic("bad-input-v") }], {
          validateOnly: "yes" as never,
        }),
      /^TypeError: Client\.createTopics: "validateOnly" must be true or false, got "yes" \(string\)$/,
    );
  });

  test("topic settings are checked, not coerced: a misspelt count, numbers for configs, holes", async () => {
    const name = uniqueTopic("bad-input-settings");
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      await refusedAtOnce(
        () => conn.createTopics({ topic: name, numPartitons: 3 } as never),
        /^TypeError: Invalid topic config "[^"]+": unknown field "numPartitons"; did you mean "numPartitions"\?$/,
      );
      await refusedAtOnce(
        () =>
          conn.createTopics({
            topic: name,
            configEntries: [{ configName: "retention.ms", configValue: 5 }],
          } as never),
        /^TypeError: Invalid topic config "[^"]+": "configEntries\[0\]\.configValue" must be a string \(a config's value as text, e\.g\. "604800000"\), got 5 \(number\)$/,
      );
      await refusedAtOnce(
        () =>
          conn.createTopics({
            topic: name,
            configEntries: { "retention.ms": "5" },
          } as never),
        /^TypeError: Invalid topic config "[^"]+": "configEntries" must be an array, got \{"retention\.ms":"5"\} \(object\)$/,
      );
      await refusedAtOnce(
        () =>
          conn.createTopics({
            topic: name,
            replicaAssignments: [{ partition: 0, replicas: ["1"] }],
          } as never),
        /^TypeError: Invalid topic config "[^"]+": "replicaAssignments\[0\]\.replicas\[0\]" must be an integer from 0 to 2147483647, got "1" \(string\)$/,
      );
      await refusedAtOnce(
        () => conn.readBatch({ isolationLevel: "x" as never }),
        /^RangeError: Cannot read a batch: "isolationLevel" must be "read_uncommitted" or "read_committed", got "x" \(string\)$/,
      );
      await refusedAtOnce(
        () => conn.lookupPartition(topic, "0" as never),
        /^TypeError: Invalid partition: expected an integer >= 0, got "0" \(string\)$/,
      );
      await refusedAtOnce(
        () => conn.seek(-5, SeekAbsolute | SeekDontCheck),
        /^RangeError: Cannot seek: the offset would be -5; an offset is 0 or more/,
      );
    } finally {
      conn.close();
    }
    for (
      const [configs, shown] of [
        [{ "retention.ms": 5 }, '\\{"retention\\.ms":5\\}'],
        [
          [["retention.ms", "5"]],
          '\\[\\["retention\\.ms","5"\\]\\]',
        ],
        [
          { "retention.ms": { a: 1 } },
          '\\{"retention\\.ms":\\{"a":1\\}\\}',
        ],
      ] as const
    ) {
      await refusedAtOnce(
        () => client.createTopics([{ topic: name, configs } as never]),
        new RegExp(
          `^TypeError: Client\\.createTopics: "topics\\[0\\]\\.configs" must be an object of string values, e\\.g\\. \\{ "retention\\.ms": "3600000" \\}, got object ${shown}$`,
        ),
      );
    }
    await refusedAtOnce(
      // deno-lint-ignore no-sparse-arrays
      () => client.createTopics([, { topic: name }] as never),
      /^TypeError: Client\.createTopics: "topics" has a hole at index 0/,
    );
    const { topics } = await client.metadata(null);
    assert.ok(!topics.some((t) => t.topic === name), "nothing was created");
  });

  test("names and values a call would otherwise ignore or send as they are", async () => {
    await refusedAtOnce(
      () =>
        client.initProducerId({
          transactionalId: uniqueTopic("bad-input-pid"),
          transactionTimeout: 60_000,
        } as never),
      /^TypeError: Client\.initProducerId: unknown field "transactionTimeout"; did you mean "transactionTimeoutMs"\?$/,
    );
    await refusedAtOnce(
      () => client.listGroups({ states: ["Bogus"] }),
      /^TypeError: Client\.listGroups: "states\[0\]" must be one of "PreparingRebalance", /,
    );
    await refusedAtOnce(
      () => client.listGroups({ types: ["bogus"] }),
      /^TypeError: Client\.listGroups: "types\[0\]" must be one of "classic", "consumer", "share", "streams", got string "bogus"$/,
    );
    // Any case, as the broker matches them.
    const listed = await client.listGroups({ states: ["stable"] });
    assert.ok(Array.isArray(listed.groups));
    await refusedAtOnce(
      () =>
        client.createAcls([{
          resourceType: "topic",
          resourceName: topic,
          principal: "alice",
          operation: "read",
          permission: "allow",
        }]),
      /^TypeError: Client\.createAcls: "acls\[0\]\.principal" must be "Type:name" of a principal, e\.g\. "User:alice" or "User:\*", got string "alice"$/,
    );
    await refusedAtOnce(
      () =>
        client.alterClientQuotas([{
          entity: { "client-id": "x" },
          ops: [{ key: "producer_byte_rate", value: -1 }],
        }]),
      /"entries\[0\]\.ops\[0\]\.value" must be a finite number of at least 0/,
    );
    await refusedAtOnce(
      () =>
        client.alterClientQuotas([{
          entity: {},
          ops: [{ key: "producer_byte_rate", value: 1 }],
        }]),
      /"entries\[0\]\.entity" must be an entity with at least one part/,
    );
    await refusedAtOnce(
      () => client.deleteRecords([{ topic, partition: 0, offset: 2 } as never]),
      /^TypeError: Client\.deleteRecords: "records\[0\]": unknown field "offset"; the options are "topic", "partition", "before"$/,
    );
    await refusedAtOnce(
      () => client.renewDelegationToken(new Uint8Array(0)),
      /^TypeError: Client\.renewDelegationToken: "hmac" is empty; expected the token's HMAC/,
    );
  });

  test("a broker id the cluster does not list fails at once", async () => {
    await refusedAtOnce(
      () => client.apiVersions({ broker: 99 }),
      /BROKER_NOT_AVAILABLE.*broker 99 is not in the cluster \(its brokers: /,
      5000,
    );
    await refusedAtOnce(
      () => client.findHangingTransactions({ broker: 99 }),
      /BROKER_NOT_AVAILABLE.*broker 99 is not in the cluster \(its brokers: /,
      5000,
    );
  });

  test("option values and names of helpers and constructors", () => {
    assert.throws(
      // deno-lint-ignore no-sparse-arrays
      () => new Writer({ brokers: [BROKER, ,] as never }),
      /^TypeError: Cannot create Writer: "brokers\[1\]" must be "host:port", got undefined$/,
    );
    assert.throws(
      () => new Reader({ brokers: [""], topic, partition: 0 }),
      /^TypeError: Cannot create Reader: "brokers\[0\]" must be "host:port", got "" \(string\)$/,
    );
    assert.throws(
      () => new Client({ brokers: ["localhost:99999"] }),
      /^TypeError: Cannot create Client: "brokers\[0\]": /,
    );
    assert.throws(
      () => new Writer({ brokers: [BROKER], topic, linger: 5 } as never),
      /^TypeError: Cannot create Writer: unknown option "linger"; a Writer does not linger \(Java's linger\.ms\)/,
    );
    assert.throws(
      () => new Writer({ brokers: [BROKER], topic, acks: "all" } as never),
      /^TypeError: Cannot create Writer: unknown option "acks"; it is "requiredAcks" here/,
    );
    assert.throws(
      () =>
        new Reader({
          brokers: [BROKER],
          topic,
          partition: 0,
          autoOffsetReset: "earliest",
        } as never),
      /^TypeError: Cannot create Reader: unknown option "autoOffsetReset"; it is "startOffset" here/,
    );
    assert.throws(
      () => new Writer(5 as never),
      /^TypeError: Cannot create Writer: options must be an object, got 5 \(number\)$/,
    );
    assert.throws(
      () =>
        oauthBearer(
          {
            token: () => Promise.resolve({ value: "t" }),
            extentions: {},
          } as never,
        ),
      /^TypeError: Cannot use OAUTHBEARER: unknown option "extentions"; did you mean "extensions"\?$/,
    );
    assert.throws(
      () => unsecuredJwt({ sub: "a", lifetimeMs: -1 }),
      /^RangeError: unsecuredJwt\(\): "lifetimeMs" must be above 0, got -1$/,
    );
    assert.throws(
      () => unsecuredJwt({ sub: "a", lifetimeMs: 1000, claims: { x: 1n } }),
      /^TypeError: unsecuredJwt\(\): "claims" must hold JSON values only/,
    );
    assert.throws(
      () =>
        new Writer({
          brokers: [BROKER],
          transport: {
            sasl: {
              mechanism: "SCRAM-SHA-256",
              username: "u",
              password: "p",
              iterations: 5,
            } as never,
          },
        }),
      /^TypeError: Cannot create Writer: "transport": "sasl": unknown field "iterations"; the options are "mechanism", "username", "password"$/,
    );
    assert.throws(
      () => formatAddress(5 as never),
      /^TypeError: formatAddress: expected \{ host, port \} with a host name and a port from 0 to 65535, got 5 \(number\)$/,
    );
    assert.throws(
      () => parseMskIamAnswer("x" as never),
      /^TypeError: parseMskIamAnswer: "answer" must be the broker's answer as bytes \(a Uint8Array\), got "x" \(string\)$/,
    );
    assert.throws(
      () => messageTraceContext({ headers: [] }, undefined as never),
      /^TypeError: messageTraceContext: "api" must be OpenTelemetry's API/,
    );
  });

  test("dialPartition needs the leader metadata gives", async () => {
    await refusedAtOnce(
      () => dialPartition({ topic, id: 0 } as never),
      /^TypeError: Cannot dial: "partition\.leader" must be a broker \{ host, port \}.*, got undefined$/,
    );
    await refusedAtOnce(
      () => dialPartition({ topic, id: 0, leader: BROKER } as never),
      /^TypeError: Cannot dial: "partition\.leader" must be a broker \{ host, port \}/,
    );
  });

  test("a ShareReader's acknowledge needs one of its messages", async () => {
    const reader = new ShareReader({
      brokers: [BROKER],
      groupId: uniqueTopic("bad-input-share"),
      topics: [topic],
    });
    try {
      for (const bad of [{}, null, 5]) {
        assert.throws(
          () => reader.acknowledge(bad as never),
          /^TypeError: Cannot acknowledge: "message" must be a message this ShareReader handed out/,
        );
      }
    } finally {
      await reader.close();
    }
  });

  test("a call's options in a message's place are pointed to the array form", async () => {
    const w = new Writer({ brokers: [BROKER], topic });
    try {
      await refusedAtOnce(
        () =>
          w.writeMessages(
            { value: "x" },
            { signal: AbortSignal.timeout(1000) } as never,
          ),
        /^TypeError: Cannot write message 1: it has a "signal", a call's option: pass the messages as an array and the options after it, writeMessages\(\[\.\.\.messages\], \{ signal \}\)$/,
      );
      await refusedAtOnce(
        () => w.writeMessages(new Uint8Array([1, 2]) as never),
        /^TypeError: Cannot write message 0: expected a message object \{ key, value, \.\.\. \}, got a Uint8Array of 2 bytes \(put bytes in its value: \{ value: bytes \}\)$/,
      );
      await refusedAtOnce(
        () => w.writeMessages("x" as never),
        /^TypeError: Cannot write message 0: expected an object, got "x" \(string\)$/,
      );
      assert.throws(
        () => new Dialer({ compression: "zip" as never }),
        /^RangeError: Cannot create Dialer: "compression" must be one of "none", "gzip", "snappy", "lz4", "zstd", got "zip"$/,
      );
      await refusedAtOnce(
        () => w.writeMessages({ value: new ArrayBuffer(8) as never }),
        /^TypeError: Cannot write message 0: "value" must be a Uint8Array, a string or null, got an ArrayBuffer of 8 bytes$/,
      );
    } finally {
      await w.close();
    }
  });

  test("per-call options of readers and Conn are checked by name", async () => {
    const reader = new Reader({ brokers: [BROKER], topic, partition: 0 });
    try {
      await refusedAtOnce(
        () => reader.fetchMessage({ timeout: 300 } as never),
        /^TypeError: Cannot read a message: unknown option "timeout"; this call takes no timeout/,
      );
      assert.throws(
        () => reader.batches({ preventcancel: true } as never),
        /^TypeError: Cannot read batches: unknown option "preventcancel"; did you mean "preventCancel"\?$/,
      );
      assert.throws(
        () => reader.batches("x" as never),
        /^TypeError: Cannot read batches: the options must be an object, got "x" \(string\)$/,
      );
      assert.throws(
        () => reader.batches({ preventCancel: 1 } as never),
        /"preventCancel" must be a boolean, got 1 \(number\)/,
      );
      // Locked by a loop reading it: said as fetchMessage says it.
      const held = reader.getReader();
      assert.throws(
        () => reader.batches(),
        /^TypeError: Cannot read batches: the Reader is locked by another consumer \(for await, pipeTo or getReader\); read through it, or release it first$/,
      );
      held.releaseLock();
      await refusedAtOnce(
        () =>
          reader.pipeTo(new WritableStream(), { preventclose: true } as never),
        /^TypeError: Cannot pipe the Reader: unknown option "preventclose"; did you mean "preventClose"\?$/,
      );
    } finally {
      await reader.close();
    }
    const conn = await dialLeader(BROKER, topic, 0);
    try {
      await refusedAtOnce(
        () => conn.readBatch({ maxbytes: 10 } as never),
        /^TypeError: Cannot read a batch: unknown option "maxbytes"; did you mean "maxBytes"\?$/,
      );
    } finally {
      conn.close();
    }
  });

  test("ids that cannot be fail at once: a partition the topic lacks, a broker id of the wrong type", async () => {
    await refusedAtOnce(
      () => dialLeader(BROKER, topic, 99),
      new RegExp(
        `^RangeError: Topic "${topic}" has no partition 99 \\(it has 3: 0 to 2\\)$`,
      ),
      3000,
    );
    await refusedAtOnce(
      () => client.apiVersions({ broker: "x" as never }),
      /^TypeError: Client\.apiVersions: "broker" must be a broker id \(an integer >= 0\), got string "x"$/,
    );
  });

  test("constructors refuse conflicting options, group options without a group, and show odd values as they are", () => {
    assert.throws(
      () => new Writer({ cluster, brokers: [BROKER], topic }),
      /^TypeError: Cannot create Writer: "cluster" and "brokers" exclude each other/,
    );
    assert.throws(
      () => new Writer({ cluster, topic, readTimeout: 5000 }),
      /^TypeError: Cannot create Writer: "cluster" and "readTimeout" exclude each other \(the Cluster's requestTimeout applies to its requests\); give one of them$/,
    );
    assert.throws(
      () => new Client({ cluster, transport: { tls: true } }),
      /^TypeError: Cannot create Client: "cluster" and "transport" exclude each other/,
    );
    assert.throws(
      () =>
        new Reader({
          brokers: [BROKER],
          topic,
          partition: 0,
          sessionTimeout: 10_000,
        }),
      /^TypeError: Cannot create Reader: "sessionTimeout" is an option of a consumer group: set "groupId" too, or leave "sessionTimeout" out$/,
    );
    assert.throws(
      () => new Writer({ brokers: [BROKER], writeBackoffMin: 5000 }),
      /^RangeError: Cannot create Writer: "writeBackoffMin" must not exceed "writeBackoffMax" \(writeBackoffMin 5000; writeBackoffMax, by default 1000\)$/,
    );
    assert.throws(
      () => new Writer({ brokers: [BROKER], topic: 5n as never }),
      /^TypeError: Cannot create Writer: "topic" must be a non-empty string, got 5 \(bigint\)$/,
    );
    assert.throws(
      () => new Reader({ brokers: [BROKER], topic: Symbol("t") as never }),
      /^TypeError: Cannot create Reader: "topic" must be a non-empty string, got Symbol\(t\) \(symbol\)$/,
    );
    assert.throws(
      () => new Client(Symbol("o") as never),
      /^TypeError: Cannot create Client: options must be an object, got Symbol\(o\) \(symbol\)$/,
    );
    assert.throws(
      () => plain(5 as never, 6 as never),
      /^TypeError: Cannot use SASL: plain\(\)'s "username" must be a non-empty string, got 5 \(number\)$/,
    );
    assert.throws(
      () => plain("alice", null as never),
      /^TypeError: Cannot use SASL: plain\(\)'s "password" must be a string, got null$/,
    );
    assert.throws(
      () => scram("SHA-1" as never, "alice", "secret"),
      /^TypeError: Cannot use SASL: scram\(mechanism, \.\.\.\) takes "SCRAM-SHA-256" or "SCRAM-SHA-512", got "SHA-1" \(string\)$/,
    );
  });

  test("messages with odd field values name the value", async () => {
    const own = new Writer({ brokers: [BROKER], topic });
    const none = new Writer({ brokers: [BROKER] });
    try {
      const bad: [Writer, MessageInput, RegExp][] = [
        [
          own,
          { topic: Symbol("s") as never, value: "x" },
          /must not set one \(it set Symbol\(s\) \(symbol\)\)$/,
        ],
        [
          none,
          { topic: 5 as never, value: "x" },
          /^TypeError: Cannot write message 0: "topic" must be a non-empty string, got 5 \(number\)$/,
        ],
        [
          own,
          { value: "x", time: Object.create(null) },
          /^TypeError: Cannot write message 0: "time" must be a valid Date, got \{\} \(object\)$/,
        ],
        [
          own,
          { value: "x", headers: [null as never] },
          /^TypeError: Cannot write message 0: "headers\[0\]" must be an object \{ key, value \}, got null$/,
        ],
      ];
      for (const [w, message, expected] of bad) {
        await refusedAtOnce(() => w.writeMessages(message), expected);
      }
    } finally {
      await own.close();
      await none.close();
    }
  });
});
