import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProtocolError } from "./bytes.ts";
import { readRecords } from "./read_records.ts";
import { decodeLegacyInner, encodeLegacyMessage } from "./legacy_messages.ts";
import { decodeRecords, splitBatches, verifyBatchCrc } from "./record_batch.ts";
import {
  encodeRecordBatch,
  RecordBatchBuilder,
  utf8Length,
  varintSize,
  varlongSize,
} from "./records.ts";
import { ByteWriter } from "./bytes.ts";

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("record batch v2", () => {
  test("round trips keys, values, nulls, headers and timestamps", () => {
    const base = 1_700_000_000_000;
    const input = [
      { key: bytes("k1"), value: bytes("v1"), timestamp: base },
      { key: null, value: bytes(""), timestamp: base + 5 },
      {
        key: bytes(""),
        value: null,
        timestamp: base - 3,
        headers: [{ key: "h", value: bytes("x") }, { key: "ü", value: null }],
      },
      // A delta past 32 bits and lengths of two-byte varints.
      {
        key: new Uint8Array(200).fill(1),
        value: new Uint8Array(20_000).fill(2),
        timestamp: base - 2 ** 35,
      },
    ];
    const encoded = encodeRecordBatch(input, {
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 7,
    });
    const [batch, ...rest] = splitBatches(encoded);
    assert.equal(rest.length, 0);
    verifyBatchCrc(batch);
    assert.equal(batch.magic, 2);
    assert.equal(batch.recordCount, 4);
    assert.equal(batch.lastOffsetDelta, 3);
    assert.equal(batch.baseTimestamp, base);
    assert.equal(batch.maxTimestamp, base + 5);
    assert.equal(batch.producerId, 42);
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.baseSequence, 7);
    const records = decodeRecords(batch);
    assert.deepEqual(
      records.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
      [
        {
          offset: 0,
          timestamp: base,
          key: bytes("k1"),
          value: bytes("v1"),
          headers: [],
        },
        {
          offset: 1,
          timestamp: base + 5,
          key: null,
          value: bytes(""),
          headers: [],
        },
        {
          offset: 2,
          timestamp: base - 3,
          key: bytes(""),
          value: null,
          headers: [{ key: "h", value: bytes("x") }, { key: "ü", value: null }],
        },
        {
          offset: 3,
          timestamp: base - 2 ** 35,
          key: new Uint8Array(200).fill(1),
          value: new Uint8Array(20_000).fill(2),
          headers: [],
        },
      ],
    );
  });

  test("decoded values are views into the fetched buffer", () => {
    const encoded = encodeRecordBatch([{
      key: null,
      value: bytes("abc"),
      timestamp: 1,
    }]);
    const [record] = decodeRecords(splitBatches(encoded)[0]);
    assert.equal(record.value!.buffer, encoded.buffer);
  });

  test("the builder's header matches Kafka's layout byte for byte", () => {
    const builder = new RecordBatchBuilder();
    builder.append({ key: null, value: bytes("a"), timestamp: 0 });
    const b = builder.finish();
    const view = new DataView(b.buffer, b.byteOffset);
    assert.equal(view.getInt32(8), b.length - 12, "batchLength");
    assert.equal(view.getInt32(12), -1, "partitionLeaderEpoch");
    assert.equal(b[16], 2, "magic");
    assert.equal(view.getInt16(21), 0, "attributes");
    assert.equal(view.getInt32(57), 1, "record count");
    // Record: length 7, attrs 0, tsDelta 0, offsetDelta 0, key -1, value len 1 'a', 0 headers
    assert.deepEqual([...b.subarray(61)], [14, 0, 0, 0, 1, 2, 97, 0]);
  });

  test("a flipped byte fails the CRC check with the offset", () => {
    const encoded = encodeRecordBatch([{
      key: null,
      value: bytes("hello"),
      timestamp: 9,
    }]);
    encoded[encoded.length - 2] ^= 0xff;
    const [batch] = splitBatches(encoded);
    assert.throws(() => verifyBatchCrc(batch), (error) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(
        (error as Error).message,
        /Corrupt record batch at offset 0: CRC32C/,
      );
      return true;
    });
  });

  test("readRecords trims a straddling batch, drops a partial tail", async () => {
    const first = encodeRecordBatch(
      [0, 1, 2].map((i) => ({
        key: null,
        value: bytes(`m${i}`),
        timestamp: i,
      })),
    );
    const second = encodeRecordBatch([{
      key: null,
      value: bytes("m3"),
      timestamp: 3,
    }]);
    // baseOffset 3; the CRC does not cover the base offset, so it stays valid.
    new DataView(second.buffer, second.byteOffset).setInt32(4, 3);
    verifyBatchCrc(splitBatches(second)[0]);
    const all = new Uint8Array(first.length + 20);
    all.set(first);
    all.set(second.subarray(0, 20), first.length);
    const result = await readRecords(all, {
      fromOffset: 1,
      decompress: () => {
        throw new Error("not compressed");
      },
      where: "t/0",
    });
    assert.deepEqual(result.records.map((r) => r.offset), [1, 2]);
    assert.equal(result.nextOffset, 3);
    assert.equal(result.truncated, false);
  });

  test("small and large batches read alike (their tables use plain and typed arrays)", async () => {
    // 20 records fit the plain arrays; 3,000 take typed ones.
    for (const count of [20, 3000]) {
      const records = Array.from({ length: count }, (_, i) => ({
        key: i % 3 === 0 ? null : bytes(`k${i}`),
        value: bytes(`v${i}`),
        timestamp: 1_700_000_000_000 + i * 7,
        headers: i % 5 === 0 ? [{ key: "h", value: bytes(`${i}`) }] : [],
      }));
      const result = await readRecords(encodeRecordBatch(records), {
        fromOffset: 2,
        decompress: () => {
          throw new Error("not compressed");
        },
        where: "t/0",
      });
      assert.equal(result.records.length, count - 2);
      for (const r of result.records) {
        const i = r.offset;
        assert.deepEqual(r.value, bytes(`v${i}`));
        assert.deepEqual(r.key, i % 3 === 0 ? null : bytes(`k${i}`));
        assert.equal(r.timestamp, 1_700_000_000_000 + i * 7);
        assert.deepEqual(
          r.headers.map((h) => [h.key, h.value]),
          i % 5 === 0 ? [["h", bytes(`${i}`)]] : [],
        );
      }
    }
  });

  test("a record overrunning its batch is a ProtocolError", () => {
    const encoded = encodeRecordBatch([{
      key: null,
      value: bytes("hello"),
      timestamp: 9,
    }]);
    encoded[61] = 100; // record length varint (zigzag 50) overruns
    assert.throws(
      () => decodeRecords(splitBatches(encoded)[0]),
      /overruns the batch/,
    );
  });

  test("a record whose length disagrees with its fields fails, whichever field overruns", () => {
    const encoded = encodeRecordBatch([{
      key: bytes("k"),
      value: bytes("hello"),
      timestamp: 9,
      headers: [{ key: "h", value: bytes("v") }],
    }]);
    const length = encoded[61] >> 1; // zigzag, one byte
    const batch = splitBatches(encoded)[0];
    assert.equal(decodeRecords(batch).length, 1);
    // Shorter: the record ends inside its attributes, timestamp, offset
    // delta, key, value or headers; longer: past the batch.
    for (let claimed = 0; claimed < length + 4; claimed++) {
      if (claimed === length) continue;
      const payload = batch.payload.slice();
      payload[0] = claimed << 1;
      assert.throws(
        () => decodeRecords(batch, payload),
        /record 0 of 1 overruns the batch/,
        `record length ${claimed} (is ${length})`,
      );
    }
  });

  test("timestamp deltas past 32 bits and headers after values read exactly", () => {
    const times = [1_000, 1_000 + 2 ** 40 + 3, 1_000 - 2 ** 35];
    const encoded = encodeRecordBatch(times.map((timestamp, i) => ({
      key: null,
      value: i === 1 ? null : bytes(`v${i}`),
      timestamp,
      headers: i === 2
        ? [{ key: "a", value: null }, { key: "b", value: bytes("c") }]
        : [],
    })));
    const records = decodeRecords(splitBatches(encoded)[0]);
    assert.deepEqual(records.map((r) => r.timestamp), times);
    assert.deepEqual(records.map((r) => r.value && text(r.value)), [
      "v0",
      null,
      "v2",
    ]);
    assert.deepEqual(
      records[2].headers.map((h) => [h.key, h.value && text(h.value)]),
      [["a", null], ["b", "c"]],
    );
  });

  test("varint and varlong sizes match what the writer writes", () => {
    for (
      const v of [
        0,
        1,
        -1,
        63,
        64,
        -65,
        8191,
        8192,
        2 ** 20,
        -(2 ** 27),
        2 ** 30,
        -(2 ** 31),
      ]
    ) {
      const w = new ByteWriter();
      w.varint(v);
      assert.equal(varintSize(v), w.pos, `varint ${v}`);
    }
    for (
      const v of [0, -1, 2 ** 31, -(2 ** 40), 2 ** 52, Date.now(), -Date.now()]
    ) {
      const w = new ByteWriter();
      w.varlong(v);
      assert.equal(varlongSize(v), w.pos, `varlong ${v}`);
    }
    assert.equal(utf8Length("aü€😀"), 1 + 2 + 3 + 4);
  });
});

describe("legacy message sets", () => {
  test("magic 0 and 1 messages decode with keys, nulls and timestamps", () => {
    const m0 = encodeLegacyMessage(0, 10, {
      key: bytes("a"),
      value: bytes("v0"),
    });
    const m1 = encodeLegacyMessage(1, 11, {
      key: null,
      value: null,
      timestamp: 1234,
    });
    const set = new Uint8Array(m0.length + m1.length);
    set.set(m0);
    set.set(m1, m0.length);
    const batches = splitBatches(set);
    assert.equal(batches.length, 2);
    for (const b of batches) verifyBatchCrc(b);
    const records = batches.flatMap((b) => decodeRecords(b));
    assert.deepEqual(records, [
      {
        offset: 10,
        timestamp: -1,
        key: bytes("a"),
        value: bytes("v0"),
        headers: [],
      },
      { offset: 11, timestamp: 1234, key: null, value: null, headers: [] },
    ]);
  });

  test("a corrupted legacy message fails its CRC32", () => {
    const m = encodeLegacyMessage(1, 0, {
      key: null,
      value: bytes("xyz"),
      timestamp: 1,
    });
    m[m.length - 1] ^= 1;
    assert.throws(() => verifyBatchCrc(splitBatches(m)[0]), /CRC32 is/);
  });

  test("a magic 1 compressed wrapper's relative inner offsets become absolute", () => {
    const inner = [0, 1, 2].map((i) =>
      encodeLegacyMessage(1, i, {
        key: null,
        value: bytes(`x${i}`),
        timestamp: 100 + i,
      })
    );
    const innerSet = new Uint8Array(inner.reduce((n, m) => n + m.length, 0));
    let pos = 0;
    for (const m of inner) {
      innerSet.set(m, pos);
      pos += m.length;
    }
    // The wrapper carries the absolute offset of the last inner message.
    const wrapper = encodeLegacyMessage(1, 52, {
      key: null,
      value: innerSet,
      timestamp: 102,
      attributes: 1,
    });
    const [batch] = splitBatches(wrapper);
    assert.equal(batch.compression, 1);
    const records = decodeLegacyInner(batch, innerSet, 51);
    assert.deepEqual(records.map((r) => r.offset), [51, 52]);
    assert.deepEqual(records.map((r) => r.timestamp), [101, 102]);
  });

  test("a compressed wrapper holding a v2 batch fails, naming the magic", () => {
    const inner = encodeRecordBatch([
      { key: null, value: bytes("v"), timestamp: 0 },
    ]);
    const wrapper = encodeLegacyMessage(1, 0, {
      key: null,
      value: inner,
      timestamp: 0,
      attributes: 1,
    });
    const [batch] = splitBatches(wrapper);
    assert.throws(
      () => decodeLegacyInner(batch, inner),
      (error: unknown) =>
        error instanceof ProtocolError &&
        /byte 0 has magic 2, where only magic 0 and 1 may nest/.test(
          error.message,
        ),
    );
  });

  test("a partial message at the end of an inner message set is dropped", () => {
    const one = encodeLegacyMessage(0, 7, { key: null, value: bytes("a") });
    const two = encodeLegacyMessage(0, 8, { key: null, value: bytes("b") });
    const innerSet = new Uint8Array(one.length + two.length - 1);
    innerSet.set(one);
    innerSet.set(two.subarray(0, two.length - 1), one.length);
    const wrapper = encodeLegacyMessage(0, 8, {
      key: null,
      value: innerSet,
      attributes: 1,
    });
    const [batch] = splitBatches(wrapper);
    const records = decodeLegacyInner(batch, innerSet);
    assert.deepEqual(records.map((r) => r.offset), [7]);
  });
});
