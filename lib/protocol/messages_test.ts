/**
 * Round-trips every API a client sends, at every version, in both directions,
 * through the generated codecs (the client side from messages/, the broker
 * side from testing/), and every data spec: a sample built from the spec is
 * encoded, decoded, compared with the sample as that version can carry it,
 * and encoded again.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ApiSpec,
  defaultValue,
  ensureSpecDir,
  type FieldSpec,
  formatVersions,
  isClientApi,
  loadApis,
  loadData,
  type MessageSpec,
  nullableIn,
  parseMessage,
  presentIn,
  specDir,
  type StructSpec,
  taggedIn,
  type TypeSpec,
} from "../../tools/gen/spec.ts";
import { type Encodable, UnsupportedVersionError } from "./api.ts";
import { ByteReader, ByteWriter, TruncatedError, uuidString } from "./bytes.ts";
import * as messages from "./messages/mod.ts";
import {
  API_BY_KEY,
  APIS,
  ApiVersions,
  CONSUMER_PROTOCOL_ASSIGNMENT_MAX_VERSION,
  CONSUMER_PROTOCOL_SUBSCRIPTION_MAX_VERSION,
  CONSUMER_PROTOCOL_SUBSCRIPTION_MIN_VERSION,
  type ConsumerProtocolSubscription,
  CreateTopics,
  decodeConsumerProtocolSubscription,
  DeleteTopics,
  DescribeTopicPartitions,
  encodeConsumerProtocolSubscription,
  Fetch,
  Metadata,
} from "./messages/mod.ts";
import * as testing from "./testing/mod.ts";

type Value = unknown;
type Obj = Record<string, Value>;

let all: ApiSpec[];
let data: MessageSpec[];
try {
  const dir = await ensureSpecDir();
  all = loadApis(dir);
  data = loadData(dir);
} catch (e) {
  throw new Error(
    `messages_test needs Kafka's message specs at ${specDir()} ` +
      `(or KAFKA_PROTOCOL_DIR): ${(e as Error).message}`,
  );
}

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;

function int(rand: Rand, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

const CHARS = "abcXYZ019-._ é✓😀";

function randomString(rand: Rand): string {
  const chars = [...CHARS];
  let s = "";
  const n = int(rand, 0, 6);
  for (let i = 0; i < n; i++) s += chars[int(rand, 0, chars.length - 1)];
  return s;
}

function randomBytes(rand: Rand, n = int(rand, 0, 6)): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(rand, 0, 255);
  return b;
}

function randomPrimitive(name: string, rand: Rand): Value {
  switch (name) {
    case "bool":
      return rand() < 0.5;
    case "int8":
      return int(rand, -128, 127);
    case "int16":
      return int(rand, -32768, 32767);
    case "uint16":
      return int(rand, 0, 65535);
    case "int32":
      return int(rand, -2147483648, 2147483647);
    case "uint32":
      return int(rand, 0, 4294967295);
    case "int64":
      return rand() < 0.5
        ? int(rand, -1000, 100000)
        : int(rand, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case "float64":
      return (rand() - 0.5) * 1e9;
    case "string":
      return randomString(rand);
    case "uuid":
      return uuidString(randomBytes(rand, 16));
    case "bytes":
    case "records":
      return randomBytes(rand);
  }
  throw new Error(`unknown primitive ${name}`);
}

/**
 * How a sample is built: "full" sets every field to a non-default, non-null
 * value (so every tagged field is written); "nulls" puts null wherever the
 * version allows it; "random" mixes defaults, nulls and values.
 */
type Mode = "full" | "nulls" | "random";

function randomValue(
  f: FieldSpec,
  t: TypeSpec,
  version: number,
  rand: Rand,
  mode: Mode,
): Value {
  switch (t.kind) {
    case "primitive": {
      const v = randomPrimitive(t.name, rand);
      return mode === "full" && t === f.type ? nonDefault(f, v) : v;
    }
    case "struct":
      return sampleStruct(t.struct, version, rand, mode);
    case "array": {
      // 0-2 elements, mostly non-empty so nested structs get exercised.
      const n = rand() < (mode === "random" ? 0.15 : 0) ? 0 : int(rand, 1, 2);
      const a: Value[] = [];
      for (let i = 0; i < n; i++) {
        a.push(randomValue(f, t.element, version, rand, mode));
      }
      return a;
    }
  }
}

/** Nudges a primitive value off the field's default. */
function nonDefault(f: FieldSpec, v: Value): Value {
  const def = defaultValue(f);
  if (v !== def) return v;
  if (typeof v === "boolean") return !v;
  if (typeof v === "number") return v === 0 ? 1 : v - 1;
  if (typeof v === "string") return v + "x";
  return v;
}

/**
 * A value for `struct` to encode at `version`: every field of that version,
 * and the ignorable ones of other versions (which the encoder drops; a
 * non-ignorable one it refuses, see below), nulls only where that version
 * allows them.
 */
function sampleStruct(
  struct: StructSpec,
  version: number,
  rand: Rand,
  mode: Mode,
): Obj {
  const out: Obj = {};
  for (const f of struct.fields) {
    const roll = rand();
    if (!presentIn(f, version)) {
      if (f.ignorable && roll < 0.5) {
        out[f.prop] = randomValue(f, f.type, version, rand, mode);
      }
      continue;
    }
    const nullable = nullableIn(f, version);
    if (mode === "nulls" && nullable) {
      out[f.prop] = null;
      continue;
    }
    if (mode === "random") {
      if (roll < (taggedIn(f, version) ? 0.2 : 0.1)) continue; // default
      if (nullable && rand() < 0.25) {
        out[f.prop] = null;
        continue;
      }
    }
    out[f.prop] = randomValue(f, f.type, version, rand, mode);
  }
  return out;
}

/** What a decoder must return for `value` written at `version`. */
function expected(struct: StructSpec, value: Obj, version: number): Obj {
  const out: Obj = {};
  for (const f of struct.fields) {
    const v = value[f.prop];
    out[f.prop] = !presentIn(f, version) || v === undefined
      ? defaultValue(f)
      : expectedValue(f.type, v, version);
  }
  return out;
}

function expectedValue(t: TypeSpec, v: Value, version: number): Value {
  if (v === null) return null;
  if (t.kind === "struct") return expected(t.struct, v as Obj, version);
  if (t.kind === "array") {
    return (v as Value[]).map((e) => expectedValue(t.element, e, version));
  }
  return v;
}

/** The APIs a client sends: the ones generated. */
const apis = all.filter(isClientApi);

interface Codec {
  enc(w: ByteWriter, version: number, data: Encodable<unknown>): void;
  dec(r: ByteReader, version: number): unknown;
}

function codec(api: testing.FullApi<unknown, unknown>, m: MessageSpec): Codec {
  return m.type === "request"
    ? { enc: api.encodeRequest, dec: api.decodeRequest }
    : { enc: api.encodeResponse, dec: api.decodeResponse };
}

/** A data spec's generated encode and decode functions. */
function dataCodec(m: MessageSpec): Codec {
  const fns = messages as unknown as Record<string, unknown>;
  const enc = fns[`encode${m.name}`];
  const dec = fns[`decode${m.name}`];
  assert.equal(typeof enc, "function", `no encode${m.name}`);
  assert.equal(typeof dec, "function", `no decode${m.name}`);
  return { enc, dec } as Codec;
}

function roundTrip(
  { enc, dec }: Codec,
  m: MessageSpec,
  version: number,
  sample: Obj,
): void {
  const w = new ByteWriter(16);
  enc(w, version, sample);
  const bytes = w.finish().slice();
  const r = new ByteReader(bytes);
  const decoded = dec(r, version) as Obj;
  assert.equal(r.pos, bytes.length, "decoder must consume every byte");
  assert.equal(r.short, false);
  assert.deepStrictEqual(decoded, expected(m.root, sample, version));
  const w2 = new ByteWriter(16);
  enc(w2, version, decoded);
  assert.deepStrictEqual(w2.finish(), bytes, "re-encoding must be identical");
}

/** Samples per API, version and direction (after an empty value). */
const MODES: Mode[] = ["full", "nulls", "random", "random"];

function seed(key: number, version: number, dir: number, n: number): number {
  return ((key * 1000 + version) * 10 + dir) * 10 + n + 1;
}

for (const spec of apis) {
  describe(`${spec.name} (key ${spec.key})`, () => {
    const api = API_BY_KEY.get(spec.key);
    const full = testing.API_BY_KEY.get(spec.key);
    test("is generated with the spec's versions", () => {
      assert.ok(api, `no generated API for key ${spec.key}`);
      assert.equal(api.name, spec.name);
      assert.equal(api.minVersion, spec.request.validVersions.lo);
      assert.equal(api.maxVersion, spec.request.validVersions.hi);
      const flex = spec.request.flexibleVersions;
      assert.equal(api.flexibleMin, flex.lo > flex.hi ? Infinity : flex.lo);
    });
    test("the client's Api has only the client side", () => {
      assert.deepStrictEqual(Object.keys(api ?? {}).sort(), [
        "decodeResponse",
        "encodeRequest",
        "flexibleMin",
        "key",
        "maxVersion",
        "minVersion",
        "name",
        "requestHeaderVersion",
        "responseHeaderVersion",
      ]);
    });
    test("the test-only FullApi adds the broker side to the client's", () => {
      assert.ok(api && full, `no test-only API for key ${spec.key}`);
      for (const [k, v] of Object.entries(api)) {
        assert.equal(full[k as keyof typeof full], v, k);
      }
      assert.equal(typeof full.decodeRequest, "function");
      assert.equal(typeof full.encodeResponse, "function");
    });
    if (!full) return;
    for (let v = full.minVersion; v <= full.maxVersion; v++) {
      for (const [dir, m] of [spec.request, spec.response].entries()) {
        test(`v${v} ${m.type}`, () => {
          const c = codec(full, m);
          roundTrip(c, m, v, {});
          MODES.forEach((mode, n) => {
            const rand = prng(seed(spec.key, v, dir, n));
            roundTrip(c, m, v, sampleStruct(m.root, v, rand, mode));
          });
        });
      }
    }
  });
}

/**
 * A sample that sets only `f`, to a value other than its default, built as
 * at a version that has the field (so a struct's own fields are set too).
 */
function setOnly(f: FieldSpec): Obj {
  const v = randomValue(f, f.type, f.versions.lo, prng(1), "full");
  return { [f.prop]: v };
}

/**
 * Each top-level field a version lacks: set to a non-default value, the
 * encoder refuses it (as Kafka's generated Java code does), naming the API,
 * the version, the field and the versions that have it, unless the spec marks
 * it ignorable; then it is dropped.
 */
function absentFields(c: Codec, m: MessageSpec, label: string, v: number) {
  for (const f of m.root.fields) {
    if (presentIn(f, v)) continue;
    const sample = setOnly(f);
    if (f.ignorable) {
      roundTrip(c, m, v, sample);
      continue;
    }
    assert.throws(
      () => c.enc(new ByteWriter(16), v, sample),
      (e: unknown) =>
        e instanceof UnsupportedVersionError &&
        e.message ===
          `Cannot encode ${label} v${v}: "${f.prop}" is set (not its default), ` +
            `which needs ${label} v${formatVersions(f.versions)}`,
      `${m.name} v${v} ${f.prop}`,
    );
  }
}

for (const spec of apis) {
  const full = testing.API_BY_KEY.get(spec.key);
  if (!full) continue;
  test(`${spec.name}: a set field the version lacks is refused unless ignorable`, () => {
    for (let v = full.minVersion; v <= full.maxVersion; v++) {
      for (const m of [spec.request, spec.response]) {
        absentFields(codec(full, m), m, spec.name, v);
      }
    }
  });
}

for (const m of data) {
  test(`${m.name}: a set field the version lacks is refused unless ignorable`, () => {
    for (let v = m.validVersions.lo; v <= m.validVersions.hi; v++) {
      absentFields(dataCodec(m), m, m.name, v);
    }
  });
}

for (const [index, m] of data.entries()) {
  describe(`${m.name} (data)`, () => {
    for (let v = m.validVersions.lo; v <= m.validVersions.hi; v++) {
      test(`v${v}`, () => {
        const c = dataCodec(m);
        roundTrip(c, m, v, {});
        MODES.forEach((mode, n) => {
          const rand = prng(seed(1000 + index, v, 0, n));
          roundTrip(c, m, v, sampleStruct(m.root, v, rand, mode));
        });
      });
    }
  });
}

describe("consumer protocol data", () => {
  const max = CONSUMER_PROTOCOL_SUBSCRIPTION_MAX_VERSION;
  const sample: Encodable<ConsumerProtocolSubscription> = {
    topics: ["a", "b"],
    userData: new Uint8Array([1, 2]),
    ownedPartitions: [{ topic: "a", partitions: [0, 3] }],
    generationId: 7,
    rackId: "r1",
  };

  test("versions as the specs say", () => {
    assert.equal(CONSUMER_PROTOCOL_SUBSCRIPTION_MIN_VERSION, 0);
    for (const m of data) assert.equal(m.validVersions.lo, 0);
    assert.equal(max, data[0].validVersions.hi);
    assert.equal(CONSUMER_PROTOCOL_ASSIGNMENT_MAX_VERSION, 3);
  });

  test("a newer version is read as the newest known", () => {
    const w = new ByteWriter();
    encodeConsumerProtocolSubscription(w, max, sample);
    w.int32(42); // a field a future version appends
    const bytes = w.finish().slice();
    const r = new ByteReader(bytes);
    const decoded = decodeConsumerProtocolSubscription(r, max + 1);
    assert.deepStrictEqual(
      decoded,
      decodeConsumerProtocolSubscription(new ByteReader(bytes), max),
    );
    assert.equal(decoded.rackId, "r1");
    assert.equal(r.remaining, 4, "the unknown field is left unread");
  });

  test("versions outside the spec's are refused where they must be", () => {
    assert.throws(
      () => encodeConsumerProtocolSubscription(new ByteWriter(), max + 1, {}),
      {
        name: "RangeError",
        message: `Cannot encode ConsumerProtocolSubscription v${max + 1}: ` +
          `supported versions are 0-${max}`,
      },
    );
    assert.throws(
      () =>
        decodeConsumerProtocolSubscription(
          new ByteReader(new Uint8Array(0)),
          -1,
        ),
      // The version comes from a peer's bytes: corrupt data, not a misuse.
      {
        name: "ProtocolError",
        message: `Cannot decode ConsumerProtocolSubscription v-1: ` +
          `supported versions are 0-${max}`,
      },
    );
  });

  test("a truncated subscription throws TruncatedError", () => {
    const w = new ByteWriter();
    encodeConsumerProtocolSubscription(w, 1, sample);
    const bytes = w.finish();
    assert.throws(
      () =>
        decodeConsumerProtocolSubscription(
          new ByteReader(bytes.subarray(0, bytes.length - 1)),
          1,
        ),
      TruncatedError,
    );
  });
});

describe("generated APIs", () => {
  test("one per client API, keyed by API key", () => {
    assert.equal(APIS.length, apis.length);
    assert.equal(API_BY_KEY.size, apis.length);
    for (const api of APIS) assert.equal(API_BY_KEY.get(api.key), api);
    assert.equal(testing.APIS.length, apis.length);
    for (const api of testing.APIS) {
      assert.equal(testing.API_BY_KEY.get(api.key), api);
    }
  });

  test("APIs a client never sends are not generated", () => {
    const others = all.filter((api) => !isClientApi(api));
    assert.ok(others.length > 0);
    for (const api of others) {
      assert.equal(API_BY_KEY.get(api.key), undefined, api.name);
      assert.equal(testing.API_BY_KEY.get(api.key), undefined, api.name);
    }
    // Controller-only (KRaft) and broker-to-broker, by name.
    const names = new Set(APIS.map((api) => api.name));
    for (
      const name of [
        "Vote",
        "BeginQuorumEpoch",
        "EndQuorumEpoch",
        "AlterPartition",
        "Envelope",
        "FetchSnapshot",
        "BrokerRegistration",
        "BrokerHeartbeat",
        "AllocateProducerIds",
        "ControllerRegistration",
        "AssignReplicasToDirs",
        "UpdateRaftVoter",
        "InitializeShareGroupState",
        "ReadShareGroupState",
        "WriteShareGroupState",
        "DeleteShareGroupState",
        "ReadShareGroupStateSummary",
      ]
    ) {
      assert.ok(!names.has(name), `${name} must not be generated`);
    }
    // Admin APIs served on the broker listener stay (WriteTxnMarkers too:
    // an admin aborts a hanging transaction with it).
    for (
      const name of [
        "WriteTxnMarkers",
        "UpdateFeatures",
        "DescribeQuorum",
        "UnregisterBroker",
        "AddRaftVoter",
        "RemoveRaftVoter",
        "DescribeCluster",
      ]
    ) {
      assert.ok(names.has(name), `${name} must be generated`);
    }
  });

  test("older specs: a zkBroker-only or controller API is not a client's", () => {
    const spec = (listeners: string[]) => {
      const request = parseMessage(
        JSON.stringify({
          apiKey: 4,
          type: "request",
          listeners,
          name: "LeaderAndIsrRequest",
          validVersions: "0-7",
          flexibleVersions: "4+",
          fields: [],
        }),
        "LeaderAndIsrRequest.json",
      )!;
      return {
        key: 4,
        name: "LeaderAndIsr",
        fileName: "leader_and_isr",
        request,
        response: request,
      };
    };
    assert.equal(isClientApi(spec(["zkBroker"])), false);
    assert.equal(isClientApi(spec(["zkBroker", "controller"])), false);
    assert.equal(isClientApi(spec([])), false);
    assert.equal(isClientApi(spec(["zkBroker", "broker"])), true);
  });

  test("header versions", () => {
    assert.equal(Fetch.requestHeaderVersion(11), 1);
    assert.equal(Fetch.requestHeaderVersion(12), 2);
    assert.equal(Fetch.responseHeaderVersion(11), 0);
    assert.equal(Fetch.responseHeaderVersion(12), 1);
    assert.equal(ApiVersions.requestHeaderVersion(3), 2);
    assert.equal(ApiVersions.responseHeaderVersion(3), 0);
  });

  test("APIs Kafka removed (validVersions none) are not generated", () => {
    for (const key of [4, 5, 6, 7]) {
      assert.equal(API_BY_KEY.get(key), undefined);
    }
    assert.ok(
      all.every((api) =>
        api.request.validVersions.lo <= api.request.validVersions.hi
      ),
    );
  });

  test("null in a non-nullable field names API, version and path", () => {
    const w = new ByteWriter();
    assert.throws(
      () => Metadata.encodeRequest(w, 4, { topics: [{ name: null }] }),
      {
        name: "TypeError",
        message: 'Cannot encode Metadata v4: "topics[0].name" must not be null',
      },
    );
    // Nullable from v10 on.
    Metadata.encodeRequest(w, 10, { topics: [{ name: null }] });
    // Topics itself is nullable from v1 only.
    assert.throws(() => Metadata.encodeRequest(w, 0, { topics: null }), {
      message: 'Cannot encode Metadata v0: "topics" must not be null',
    });
    assert.throws(
      () =>
        CreateTopics.encodeRequest(w, 5, {
          topics: [{ name: "a" }, { name: "b", configs: [{ name: null! }] }],
        }),
      {
        message:
          'Cannot encode CreateTopics v5: "topics[1].configs[0].name" must ' +
          "not be null",
      },
    );
    assert.throws(
      () => DeleteTopics.encodeRequest(w, 5, { topicNames: ["a", null!] }),
      {
        message:
          'Cannot encode DeleteTopics v5: "topicNames[1]" must not be null',
      },
    );
    assert.throws(
      () =>
        DescribeTopicPartitions.encodeRequest(w, 0, {
          cursor: { topicName: null! },
        }),
      {
        message:
          'Cannot encode DescribeTopicPartitions v0: "cursor.topicName" must ' +
          "not be null",
      },
    );
  });

  test("versions outside validVersions are refused", () => {
    assert.throws(() => Fetch.encodeRequest(new ByteWriter(), 19, {}), {
      name: "RangeError",
      message: "Cannot encode FetchRequest v19: supported versions are 4-18",
    });
    assert.throws(() => Fetch.encodeRequest(new ByteWriter(), 3, {}), {
      name: "RangeError",
      message: "Cannot encode FetchRequest v3: supported versions are 4-18",
    });
    assert.throws(
      () => Fetch.decodeResponse(new ByteReader(new Uint8Array(0)), -1),
      RangeError,
    );
  });

  test("a truncated body throws TruncatedError", () => {
    const w = new ByteWriter();
    testing.Metadata.encodeResponse(w, 12, {
      topics: [{ name: "orders", partitions: [{ partitionIndex: 1 }] }],
    });
    const bytes = w.finish();
    for (const cut of [1, 7, bytes.length - 1]) {
      assert.throws(
        () =>
          Metadata.decodeResponse(new ByteReader(bytes.subarray(0, cut)), 12),
        TruncatedError,
      );
    }
  });

  test("a tagged field of 128+ bytes gets a multi-byte size", () => {
    const features = [];
    for (let i = 0; i < 20; i++) {
      features.push({
        name: `feature.number.${i}`,
        minVersion: 1,
        maxVersion: i,
      });
    }
    const data = { supportedFeatures: features, finalizedFeaturesEpoch: 7 };
    const w = new ByteWriter(8);
    testing.ApiVersions.encodeResponse(w, 3, data);
    const bytes = w.finish().slice();
    const decoded = ApiVersions.decodeResponse(new ByteReader(bytes), 3);
    assert.deepStrictEqual(decoded.supportedFeatures, features);
    assert.equal(decoded.finalizedFeaturesEpoch, 7);
    // error(2) apiKeys(1) throttle(4), then: count 2, tag 0, size varint.
    assert.equal(bytes[7], 2);
    assert.equal(bytes[8], 0);
    assert.ok(bytes[9] >= 0x80, "size must take two bytes");
    const size = (bytes[9] & 0x7f) | (bytes[10] << 7);
    // The size covers exactly the array, up to the next tag (1, size 8).
    assert.equal(bytes[11 + size], 1);
    assert.equal(bytes[12 + size], 8);
  });
});
