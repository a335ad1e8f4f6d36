/**
 * Golden bodies worked out by hand from the Kafka protocol guide
 * (https://kafka.apache.org/protocol.html): big-endian fixed-width integers;
 * STRING = int16 length + UTF-8; ARRAY = int32 count (-1 = null); in flexible
 * versions COMPACT_STRING / COMPACT_ARRAY / COMPACT_BYTES = unsigned varint of
 * length + 1 (0 = null), and every struct ends with TAGGED_FIELDS = uvarint
 * count, then per field uvarint tag, uvarint size, value. A nullable struct is
 * preceded by an int8 marker (-1 = null, 1 = present).
 *
 * These check the codecs against the protocol itself, independently of the
 * spec parser the round-trip tests share with the generator.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Encodable, UnsupportedVersionError } from "./api.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import {
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
} from "./messages/mod.ts";
import {
  ApiVersions,
  CreateTopics,
  DescribeTopicPartitions,
  Fetch,
  type FullApi,
  Metadata,
  Produce,
} from "./testing/mod.ts";

/** Hex digits to bytes; spaces are for grouping only. */
function hex(...groups: string[]): Uint8Array {
  const digits = groups.join("").replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function ascii(text: string): string {
  return [...new TextEncoder().encode(text)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function encodeRequest<Q, S>(
  api: FullApi<Q, S>,
  version: number,
  data: Encodable<Q>,
): Uint8Array {
  const w = new ByteWriter();
  api.encodeRequest(w, version, data);
  return w.finish().slice();
}

function encodeResponse<Q, S>(
  api: FullApi<Q, S>,
  version: number,
  data: Encodable<S>,
): Uint8Array {
  const w = new ByteWriter();
  api.encodeResponse(w, version, data);
  return w.finish().slice();
}

describe("ApiVersions", () => {
  const body = hex(
    "09",
    ascii("kafka-ts"), // client_software_name: COMPACT_STRING, 8 + 1
    "04",
    ascii("1.0"), // client_software_version: COMPACT_STRING, 3 + 1
    "00", // TAGGED_FIELDS: none
  );

  /** The v5 fields (KIP-1242) a v3 request cannot carry decode as defaults. */
  const v5Defaults = { clusterId: null, nodeId: -1 };

  test("request v3: compact strings and an empty tagged-field section", () => {
    const data = {
      clientSoftwareName: "kafka-ts",
      clientSoftwareVersion: "1.0",
    };
    assert.deepStrictEqual(encodeRequest(ApiVersions, 3, data), body);
    assert.deepStrictEqual(
      ApiVersions.decodeRequest(new ByteReader(body), 3),
      { ...data, ...v5Defaults },
    );
  });

  test("request v0-2 has an empty body; absent fields decode as defaults", () => {
    assert.deepStrictEqual(
      encodeRequest(ApiVersions, 2, { clientSoftwareName: "x" }),
      hex(""),
    );
    assert.deepStrictEqual(
      ApiVersions.decodeRequest(new ByteReader(hex("")), 0),
      { clientSoftwareName: "", clientSoftwareVersion: "", ...v5Defaults },
    );
  });

  test("request v3 skips tagged fields it does not know", () => {
    const withUnknown = hex(
      "09",
      ascii("kafka-ts"),
      "04",
      ascii("1.0"),
      "01", // TAGGED_FIELDS: one field
      "63 02 abcd", // tag 99 (unknown), size 2, two bytes
    );
    const r = new ByteReader(withUnknown);
    assert.deepStrictEqual(ApiVersions.decodeRequest(r, 3), {
      clientSoftwareName: "kafka-ts",
      clientSoftwareVersion: "1.0",
      ...v5Defaults,
    });
    assert.equal(r.remaining, 0);
  });

  test("response v3: root tagged fields written only when not default", () => {
    const response = hex(
      "0000", // error_code: 0
      "02", // api_keys: COMPACT_ARRAY, 1 + 1
      "0012 0000 0004 00", //   api_key 18, min 0, max 4, TAGGED_FIELDS none
      "00000000", // throttle_time_ms: 0
      "02", // TAGGED_FIELDS: two (tags 0 and 2 are empty, so left out)
      "01 08 0000000000000005", //   tag 1 finalized_features_epoch, size 8: 5
      "03 01 01", //   tag 3 zk_migration_ready, size 1: true
    );
    const data = {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: 5,
      finalizedFeatures: [],
      zkMigrationReady: true,
    };
    assert.deepStrictEqual(encodeResponse(ApiVersions, 3, data), response);
    assert.deepStrictEqual(
      ApiVersions.decodeResponse(new ByteReader(response), 3),
      data,
    );
    // All tagged fields at their defaults: an empty section, default values.
    const plain = encodeResponse(ApiVersions, 3, { apiKeys: [] });
    assert.deepStrictEqual(plain, hex("0000", "01", "00000000", "00"));
    assert.deepStrictEqual(
      ApiVersions.decodeResponse(new ByteReader(plain), 3),
      {
        errorCode: 0,
        apiKeys: [],
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1,
        finalizedFeatures: [],
        zkMigrationReady: false,
      },
    );
  });
});

describe("Metadata", () => {
  test("request v1 with one topic", () => {
    const body = hex(
      "00000001", // topics: ARRAY, 1 element
      "0003",
      ascii("foo"), //   name: STRING "foo"
    );
    assert.deepStrictEqual(
      encodeRequest(Metadata, 1, { topics: [{ name: "foo" }] }),
      body,
    );
    assert.deepStrictEqual(Metadata.decodeRequest(new ByteReader(body), 1), {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "foo" }],
      allowAutoTopicCreation: true, // spec default, absent before v4
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  });

  test("request v1 with null topics (all topics)", () => {
    const body = hex("ffffffff"); // topics: ARRAY, null
    assert.deepStrictEqual(encodeRequest(Metadata, 1, { topics: null }), body);
    assert.equal(Metadata.decodeRequest(new ByteReader(body), 1).topics, null);
  });

  test("request v9 (flexible) with one topic", () => {
    assert.deepStrictEqual(
      encodeRequest(Metadata, 9, {
        topics: [{ name: "foo" }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: true,
      }),
      hex(
        "02", // topics: COMPACT_ARRAY, 1 + 1
        "04",
        ascii("foo"), //   name: COMPACT_STRING, 3 + 1
        "00", //   TAGGED_FIELDS (topic)
        "00", // allow_auto_topic_creation: false
        "00", // include_cluster_authorized_operations: false
        "01", // include_topic_authorized_operations: true
        "00", // TAGGED_FIELDS
      ),
    );
  });
});

describe("CreateTopics", () => {
  test("request v4 with one topic", () => {
    const body = hex(
      "00000001", // topics: ARRAY, 1 element
      "0001",
      ascii("t"), //   name: STRING "t"
      "00000003", //   num_partitions: 3
      "0002", //   replication_factor: 2
      "00000000", //   assignments: ARRAY, empty
      "00000001", //   configs: ARRAY, 1 element
      "000e",
      ascii("cleanup.policy"), //     name: STRING (14 bytes)
      "0007",
      ascii("compact"), //     value: NULLABLE_STRING (7 bytes)
      "00007530", // timeout_ms: 30000
      "00", // validate_only: false
    );
    const data = {
      topics: [{
        name: "t",
        numPartitions: 3,
        replicationFactor: 2,
        assignments: [],
        configs: [{ name: "cleanup.policy", value: "compact" }],
      }],
      timeoutMs: 30000,
      validateOnly: false,
    };
    assert.deepStrictEqual(encodeRequest(CreateTopics, 4, data), body);
    assert.deepStrictEqual(
      CreateTopics.decodeRequest(new ByteReader(body), 4),
      data,
    );
  });

  test("request v4 fills defaults (timeout_ms 60000) and null values", () => {
    assert.deepStrictEqual(
      encodeRequest(CreateTopics, 4, {
        topics: [{
          name: "t",
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: "x", value: null }],
        }],
      }),
      hex(
        "00000001", // topics: 1
        "0001 74", //   name "t"
        "ffffffff", //   num_partitions: -1
        "ffff", //   replication_factor: -1
        "00000001", //   assignments: 1
        "00000000", //     partition_index: 0
        "00000002 00000001 00000002", //     broker_ids: [1, 2]
        "00000001", //   configs: 1
        "0001 78", //     name "x"
        "ffff", //     value: null
        "0000ea60", // timeout_ms: 60000 (the spec default)
        "00", // validate_only: false
      ),
    );
  });
});

describe("Fetch", () => {
  test("request v12: compact arrays and a root tagged string", () => {
    const body = hex(
      "ffffffff", // replica_id: -1
      "000001f4", // max_wait_ms: 500
      "00000001", // min_bytes: 1
      "03200000", // max_bytes: 52428800
      "01", // isolation_level: 1 (read committed)
      "00000000", // session_id: 0
      "ffffffff", // session_epoch: -1
      "02", // topics: COMPACT_ARRAY, 1 + 1
      "02 74", //   topic: COMPACT_STRING "t"
      "02", //   partitions: COMPACT_ARRAY, 1 + 1
      "00000000", //     partition: 0
      "ffffffff", //     current_leader_epoch: -1
      "0000000000000064", //     fetch_offset: 100
      "ffffffff", //     last_fetched_epoch: -1
      "ffffffffffffffff", //     log_start_offset: -1
      "00100000", //     partition_max_bytes: 1048576
      "00", //     TAGGED_FIELDS (partition)
      "00", //   TAGGED_FIELDS (topic)
      "01", // forgotten_topics_data: COMPACT_ARRAY, empty
      "01", // rack_id: COMPACT_STRING ""
      "01", // TAGGED_FIELDS: one
      "00 03 03 6331", //   tag 0 cluster_id, size 3: COMPACT_STRING "c1" (2 + 1)
    );
    const data = {
      clusterId: "c1",
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 1,
      topics: [{
        topic: "t",
        partitions: [{
          partition: 0,
          fetchOffset: 100,
          partitionMaxBytes: 1 << 20,
        }],
      }],
    };
    assert.deepStrictEqual(encodeRequest(Fetch, 12, data), body);
    const decoded = Fetch.decodeRequest(new ByteReader(body), 12);
    assert.equal(decoded.clusterId, "c1");
    assert.equal(decoded.replicaId, -1);
    assert.equal(decoded.sessionEpoch, -1);
    assert.deepStrictEqual(decoded.replicaState, {
      replicaId: -1,
      replicaEpoch: -1,
    });
    assert.deepStrictEqual(decoded.topics[0].partitions[0], {
      partition: 0,
      currentLeaderEpoch: -1,
      fetchOffset: 100,
      lastFetchedEpoch: -1,
      logStartOffset: -1,
      partitionMaxBytes: 1048576,
      replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      // v18's default, int64's maximum, as the nearest number.
      highWatermark: 2 ** 63,
    });
  });

  test("response v12: a tagged struct inside a partition, raw records", () => {
    const body = hex(
      "00000000", // throttle_time_ms: 0
      "0000", // error_code: 0
      "00000007", // session_id: 7
      "02", // responses: COMPACT_ARRAY, 1 + 1
      "02 74", //   topic: COMPACT_STRING "t"
      "02", //   partitions: COMPACT_ARRAY, 1 + 1
      "00000000", //     partition_index: 0
      "0000", //     error_code: 0
      "000000000000000a", //     high_watermark: 10
      "000000000000000a", //     last_stable_offset: 10
      "0000000000000000", //     log_start_offset: 0
      "00", //     aborted_transactions: COMPACT_ARRAY, null
      "ffffffff", //     preferred_read_replica: -1
      "04 010203", //     records: COMPACT_RECORDS, 3 + 1 bytes
      "01", //     TAGGED_FIELDS: one
      "01 09", //       tag 1 current_leader, size 9:
      "00000001 00000005 00", //         leader_id 1, leader_epoch 5, no tags
      "00", //   TAGGED_FIELDS (topic)
      "00", // TAGGED_FIELDS
    );
    const data = {
      sessionId: 7,
      responses: [{
        topic: "t",
        partitions: [{
          partitionIndex: 0,
          highWatermark: 10,
          lastStableOffset: 10,
          logStartOffset: 0,
          currentLeader: { leaderId: 1, leaderEpoch: 5 },
          abortedTransactions: null,
          records: new Uint8Array([1, 2, 3]),
        }],
      }],
    };
    assert.deepStrictEqual(encodeResponse(Fetch, 12, data), body);
    const decoded = Fetch.decodeResponse(new ByteReader(body), 12);
    const p = decoded.responses[0].partitions[0];
    assert.deepStrictEqual(p.currentLeader, { leaderId: 1, leaderEpoch: 5 });
    assert.deepStrictEqual(p.divergingEpoch, { epoch: -1, endOffset: -1 });
    assert.deepStrictEqual(p.snapshotId, { endOffset: -1, epoch: -1 });
    assert.equal(p.abortedTransactions, null);
    assert.deepStrictEqual(p.records, new Uint8Array([1, 2, 3]));
    // Records are a view into the frame, not a copy.
    assert.equal(p.records!.buffer, body.buffer);
  });

  test("response v4 (not flexible): records as int32-length bytes", () => {
    const body = hex(
      "00000000", // throttle_time_ms: 0
      "00000001", // responses: ARRAY, 1
      "0001 74", //   topic: STRING "t"
      "00000001", //   partitions: ARRAY, 1
      "00000002", //     partition_index: 2
      "0000", //     error_code: 0
      "0000000000000005", //     high_watermark: 5
      "0000000000000004", //     last_stable_offset: 4
      "00000001", //     aborted_transactions: ARRAY, 1
      "0000000000000009", //       producer_id: 9
      "0000000000000003", //       first_offset: 3
      "ffffffff", //     records: NULLABLE_BYTES, null
    );
    assert.deepStrictEqual(
      encodeResponse(Fetch, 4, {
        responses: [{
          topic: "t",
          partitions: [{
            partitionIndex: 2,
            highWatermark: 5,
            lastStableOffset: 4,
            abortedTransactions: [{ producerId: 9, firstOffset: 3 }],
          }],
        }],
      }),
      body,
    );
  });
});

describe("Produce", () => {
  test("request v9 with one partition of records", () => {
    const body = hex(
      "00", // transactional_id: COMPACT_NULLABLE_STRING, null
      "ffff", // acks: -1
      "00007530", // timeout_ms: 30000
      "02", // topic_data: COMPACT_ARRAY, 1 + 1
      "02 74", //   name: COMPACT_STRING "t"
      "02", //   partition_data: COMPACT_ARRAY, 1 + 1
      "00000000", //     index: 0
      "04 010203", //     records: COMPACT_RECORDS, 3 + 1 bytes
      "00", //     TAGGED_FIELDS (partition)
      "00", //   TAGGED_FIELDS (topic)
      "00", // TAGGED_FIELDS
    );
    const data = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{
        name: "t",
        partitionData: [{ index: 0, records: new Uint8Array([1, 2, 3]) }],
      }],
    };
    assert.deepStrictEqual(encodeRequest(Produce, 9, data), body);
    assert.deepStrictEqual(
      Produce.decodeRequest(new ByteReader(body), 9),
      {
        ...data,
        // Topics are named up to v12 and identified by id from v13.
        topicData: [{
          ...data.topicData[0],
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        }],
      },
    );
  });
});

describe("DescribeTopicPartitions", () => {
  test("request v0 with a null cursor (nullable struct)", () => {
    const body = hex(
      "02", // topics: COMPACT_ARRAY, 1 + 1
      "02 74", //   name: COMPACT_STRING "t"
      "00", //   TAGGED_FIELDS
      "000007d0", // response_partition_limit: 2000 (the spec default)
      "ff", // cursor: null marker (-1)
      "00", // TAGGED_FIELDS
    );
    assert.deepStrictEqual(
      encodeRequest(DescribeTopicPartitions, 0, { topics: [{ name: "t" }] }),
      body,
    );
    assert.deepStrictEqual(
      DescribeTopicPartitions.decodeRequest(new ByteReader(body), 0),
      { topics: [{ name: "t" }], responsePartitionLimit: 2000, cursor: null },
    );
  });

  test("request v0 with a cursor", () => {
    const body = hex(
      "01", // topics: COMPACT_ARRAY, empty
      "00000064", // response_partition_limit: 100
      "01", // cursor: present marker (1)
      "02 74", //   topic_name: COMPACT_STRING "t"
      "00000003", //   partition_index: 3
      "00", //   TAGGED_FIELDS (cursor)
      "00", // TAGGED_FIELDS
    );
    const data = {
      topics: [],
      responsePartitionLimit: 100,
      cursor: { topicName: "t", partitionIndex: 3 },
    };
    assert.deepStrictEqual(
      encodeRequest(DescribeTopicPartitions, 0, data),
      body,
    );
    assert.deepStrictEqual(
      DescribeTopicPartitions.decodeRequest(new ByteReader(body), 0),
      data,
    );
  });
});

describe("consumer protocol", () => {
  // Non-flexible data specs: INT32 array counts, INT16 string lengths, INT32
  // byte lengths (-1 = null). The int16 version before them is not theirs.
  test("subscription v3", () => {
    const body = hex(
      "00000002", // topics: 2
      "0001",
      ascii("a"),
      "0001",
      ascii("b"),
      "00000002 0102", // user_data: 2 bytes
      "00000001", // owned_partitions: 1
      "0001",
      ascii("a"),
      "00000002 00000000 00000003", // partitions [0, 3]
      "00000007", // generation_id
      "0002",
      ascii("r1"), // rack_id
    );
    const data: ConsumerProtocolSubscription = {
      topics: ["a", "b"],
      userData: new Uint8Array([1, 2]),
      ownedPartitions: [{ topic: "a", partitions: [0, 3] }],
      generationId: 7,
      rackId: "r1",
    };
    const w = new ByteWriter();
    encodeConsumerProtocolSubscription(w, 3, data);
    assert.deepStrictEqual(w.finish().slice(), body);
    assert.deepStrictEqual(
      decodeConsumerProtocolSubscription(new ByteReader(body), 3),
      data,
    );
  });

  test("subscription v0: topics and null user data only", () => {
    const body = hex("00000001", "0001", ascii("t"), "ffffffff");
    const w = new ByteWriter();
    encodeConsumerProtocolSubscription(w, 0, {
      topics: ["t"],
      ownedPartitions: [{ topic: "t", partitions: [1] }],
      generationId: 3,
    });
    assert.deepStrictEqual(w.finish().slice(), body);
    assert.deepStrictEqual(
      decodeConsumerProtocolSubscription(new ByteReader(body), 0),
      {
        topics: ["t"],
        userData: null,
        ownedPartitions: [],
        generationId: -1,
        rackId: null,
      },
    );
  });

  test("assignment v3", () => {
    const body = hex(
      "00000001", // assigned_partitions: 1
      "0001",
      ascii("t"),
      "00000002 00000001 00000002", // partitions [1, 2]
      "ffffffff", // user_data: null
    );
    const data: ConsumerProtocolAssignment = {
      assignedPartitions: [{ topic: "t", partitions: [1, 2] }],
      userData: null,
    };
    const w = new ByteWriter();
    encodeConsumerProtocolAssignment(w, 3, data);
    assert.deepStrictEqual(w.finish().slice(), body);
    assert.deepStrictEqual(
      decodeConsumerProtocolAssignment(new ByteReader(body), 3),
      data,
    );
  });
});

describe("a field the version lacks", () => {
  const refused = (message: string) => (e: unknown) =>
    e instanceof UnsupportedVersionError && e.message === message;

  test("set deep inside, it is refused with its path and the versions that have it", () => {
    const data = {
      topics: [{
        topic: "t",
        partitions: [{ partition: 0 }, { partition: 1, lastFetchedEpoch: 4 }],
      }],
    };
    assert.throws(
      () => Fetch.encodeRequest(new ByteWriter(64), 11, data),
      refused(
        'Cannot encode Fetch v11: "topics[0].partitions[1].lastFetchedEpoch" is set (not its default), which needs Fetch v12+',
      ),
    );
    // At its default it is no value to lose: written as before.
    const atDefault = {
      topics: [{ topic: "t", partitions: [{ lastFetchedEpoch: -1 }] }],
    };
    assert.doesNotThrow(() =>
      Fetch.encodeRequest(new ByteWriter(64), 11, atDefault)
    );
    assert.doesNotThrow(() =>
      Fetch.encodeRequest(new ByteWriter(64), 12, data)
    );
  });

  test("a field removed in later versions is refused there too", () => {
    assert.throws(
      () => Fetch.encodeRequest(new ByteWriter(64), 15, { replicaId: 1 }),
      refused(
        'Cannot encode Fetch v15: "replicaId" is set (not its default), which needs Fetch v0-14',
      ),
    );
  });

  test("a tagged struct is compared with its default", () => {
    assert.throws(
      () =>
        Fetch.encodeRequest(new ByteWriter(64), 14, {
          replicaState: { replicaId: 1 },
        }),
      refused(
        'Cannot encode Fetch v14: "replicaState" is set (not its default), which needs Fetch v15+',
      ),
    );
    assert.doesNotThrow(() =>
      Fetch.encodeRequest(new ByteWriter(64), 14, {
        replicaState: { replicaId: -1, replicaEpoch: -1 },
      })
    );
  });

  test("an ignorable one is dropped, as the spec allows", () => {
    // Fetch's rackId (v11+) and ApiVersions' client software (v3+).
    assert.deepStrictEqual(
      encodeRequest(Fetch, 10, { rackId: "r1" }),
      encodeRequest(Fetch, 10, {}),
    );
    assert.deepStrictEqual(
      encodeRequest(ApiVersions, 2, { clientSoftwareName: "x" }),
      hex(""),
    );
  });
});
