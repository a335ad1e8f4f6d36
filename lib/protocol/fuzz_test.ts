/**
 * A short seeded pass of the fuzzer (`deno task fuzz` runs the long one):
 * mutated frames for every generated response decoder, the consumer-protocol
 * data, record batches of magic 0 to 2, every codec's decompressor and the
 * connection's frame readers must
 * decode or fail with the decoder's typed error, quickly, and without an
 * allocation larger than the frame allows. Then the frames the fuzzer found,
 * byte for byte.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type AllocTracker,
  fuzzTarget,
  loadTargets,
  type Target,
  trackAllocations,
} from "../../tools/fuzz/engine.ts";
import { ByteReader, ProtocolError } from "./bytes.ts";
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
} from "./messages/mod.ts";
import { decodeAssignment } from "../consumer/group/consumer_data.ts";

/** The seed of this pass; `deno task fuzz --seed=20250917` runs it longer. */
const SEED = 20250917;
/** Frames per target: about 250,000 in all, a few seconds per runtime. */
const FRAMES = 3000;

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

const targets: Target[] = await loadTargets(SEED);

describe("fuzz (short seeded pass)", () => {
  let tracker: AllocTracker;
  before(() => {
    tracker = trackAllocations();
  });
  after(() => tracker.uninstall());

  test("every decoder is a target", () => {
    const names = targets.map((t) => t.name);
    for (
      const name of [
        "Fetch",
        "Metadata",
        "ApiVersions",
        "ConsumerProtocolAssignment",
        "records.v0",
        "records.v1",
        "records.v2",
        "codec.gzip",
        "codec.snappy",
        "codec.lz4",
        "codec.zstd",
        "framing",
      ]
    ) assert.ok(names.includes(name), name);
    assert.ok(targets.length > 70, `only ${targets.length} targets`);
  });

  for (const target of targets) {
    test(target.name, async () => {
      const stats = await fuzzTarget(target, {
        seed: SEED,
        count: FRAMES,
        // Generous: the suite shares the machine; `deno task fuzz` is strict.
        budgetMs: 2000,
        tracker,
      });
      const replay =
        `replay: deno task fuzz --seed=${SEED} --target=${target.name} ` +
        `--from=<index> --count=1 --verbose`;
      assert.equal(stats.frames, FRAMES);
      assert.deepStrictEqual(
        stats.findings.map((f) => `${f.kind} at ${f.index}: ${f.detail}`),
        [],
        replay,
      );
      assert.ok(stats.typed > 0, "no mutation was refused");
      assert.ok(stats.ok + stats.typed === FRAMES);
    });
  }
});

describe("frames the fuzzer found", () => {
  // deno task fuzz --seed=1 --target=ConsumerProtocolAssignment --from=110:
  // a version of -1 in a member's assignment (bytes from the group leader,
  // relayed by the broker) was a RangeError meant for callers' mistakes.
  const assignment = hex("ffffffff0f000000000002b20000ffff");
  // deno task fuzz --seed=1 --target=ConsumerProtocolSubscription --from=63
  const subscription = hex(
    "d455601f0003000000010007f09f9880205f58ff7fffff00000001000de29c93205f" +
      "f09f9880c3a9205900000001921d97f67ad448ffffff",
  );

  test("a consumer-protocol version below 0 is a ProtocolError", () => {
    const r = new ByteReader(assignment);
    assert.throws(
      () => decodeConsumerProtocolAssignment(r, r.int16()),
      {
        name: "ProtocolError",
        message: "Cannot decode ConsumerProtocolAssignment v-1: " +
          "supported versions are 0-3",
      },
    );
    const s = new ByteReader(subscription);
    assert.throws(
      () => decodeConsumerProtocolSubscription(s, s.int16()),
      {
        name: "ProtocolError",
        message: "Cannot decode ConsumerProtocolSubscription v-11179: " +
          "supported versions are 0-3",
      },
    );
  });

  test("so a member's corrupt assignment fails as corrupt data", () => {
    assert.throws(() => decodeAssignment(assignment, ["t"]), ProtocolError);
  });
});
