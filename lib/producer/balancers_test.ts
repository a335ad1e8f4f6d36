import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Balancer,
  type BalancerMessage,
  CRC32Balancer,
  defaultBalancer,
  fnv1a32,
  Hash,
  JavaDefault,
  LeastBytes,
  murmur2,
  Murmur2Balancer,
  ReferenceHash,
  RoundRobin,
} from "./balancers.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const keyed = (s: string): BalancerMessage => ({ key: ascii(s) });
const unkeyed: BalancerMessage = { key: null };
const emptyKey: BalancerMessage = { key: new Uint8Array(0) };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * librdkafka's tests/0048-partitioner.c, and kafka-go's copies of its cases,
 * spread 17 partitions as squares (0, 1, 4, 9, ...): a balancer that returned
 * an index instead of a partition would fail them.
 */
const squares = range(17).map((i) => i * i);
/** The keys of librdkafka's 0048-partitioner.c, in its order after NULL. */
const LONG_KEY = "this is another string with more length to it perhaps";

/** Calls `balance` many times: all picks in the list, and not all the same. */
function assertRandom(
  balancer: Balancer,
  message: BalancerMessage,
  partitions: readonly number[],
): void {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const partition = balancer.balance(message, partitions);
    assert.ok(partitions.includes(partition), `${partition} not in the list`);
    seen.add(partition);
  }
  // With 200 uniform picks, one partition every time has odds below 3^-199.
  assert.ok(seen.size > 1, "expected a random spread, got one partition");
}

/** Calls `balance` many times: always the same answer, which is returned. */
function consistentPick(
  balancer: Balancer,
  message: BalancerMessage,
  partitions: readonly number[],
): number {
  const first = balancer.balance(message, partitions);
  for (let i = 0; i < 20; i++) {
    assert.equal(balancer.balance(message, partitions), first);
  }
  return first;
}

function picks(
  balancer: Balancer,
  count: number,
  partitions: readonly number[],
  message: BalancerMessage = unkeyed,
): number[] {
  return range(count).map(() => balancer.balance(message, partitions));
}

describe("fnv1a32", () => {
  test("test vectors of the FNV reference code (test_fnv.c, FNV1A_32)", () => {
    assert.equal(fnv1a32(new Uint8Array(0)), 0x811c9dc5);
    assert.equal(fnv1a32(ascii("a")), 0xe40c292c);
    assert.equal(fnv1a32(ascii("foobar")), 0xbf9cf968);
  });

  test("librdkafka src/rdfnv1a.c unittest_fnv1a (abs of the int32)", () => {
    // librdkafka's rd_fnv1a returns |int32(hash)| to match sarama, and its
    // table holds those values, acquired from Go's hash/fnv.
    const cases: [string, number][] = [
      ["kafka", 0xd33c4e1],
      ["giberish123456789", 0x77a58295],
      ["1234", 0x23bdd03],
      ["234", 0x2dea3cd2],
      ["34", 0x740fa83e],
      ["4", 0x310ca263],
      ["PreAmbleWillBeRemoved,ThePrePartThatIs", 0x65cbd69c],
      ["reAmbleWillBeRemoved,ThePrePartThatIs", 0x6e49c79a],
      ["eAmbleWillBeRemoved,ThePrePartThatIs", 0x69eed356],
      ["AmbleWillBeRemoved,ThePrePartThatIs", 0x6abcc023],
      ["", 0x7ee3623b],
    ];
    for (const [key, expected] of cases) {
      assert.equal(Math.abs(fnv1a32(ascii(key)) | 0), expected, key);
    }
  });

  test("sarama TestHashPartitionerMinInt32: the key hashing to 2^31", () => {
    // sarama's partitioner_test.go notes "1468509572224" hashes to
    // 2147483648, which is int32's minimum once converted.
    assert.equal(fnv1a32(ascii("1468509572224")), 0x80000000);
  });
});

describe("murmur2", () => {
  test("Apache Kafka UtilsTest.testMurmur2 (Java int results)", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, expected] of cases) {
      assert.equal(murmur2(ascii(key)) | 0, expected, key);
    }
  });

  test("kafka-go TestMurmur2 (from librdkafka src/rdmurmur2.c)", () => {
    // Every tail length (0 to 3 bytes after the 4-byte blocks) is covered.
    const cases: [string, number][] = [
      ["kafka", 0xd067cf64],
      ["giberish123456789", 0x8f552b0c],
      ["1234", 0x9fc97b14],
      ["234", 0xe7c009ca],
      ["34", 0x873930da],
      ["4", 0x5a4b5ca1],
      ["PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c],
      ["reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377],
      ["eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e],
      ["AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f],
      ["", 0x106e08d9],
    ];
    for (const [key, expected] of cases) {
      assert.equal(murmur2(ascii(key)), expected, key);
    }
  });

  test("reads only the view, not the buffer around it", () => {
    const buffer = ascii("xxfoobarxx");
    assert.equal(murmur2(buffer.subarray(2, 8)), murmur2(ascii("foobar")));
  });
});

describe("RoundRobin", () => {
  test("one message per partition by default (sarama TestRoundRobinPartitioner)", () => {
    // sarama expects i % 7 for the i-th message over seven partitions.
    assert.deepEqual(
      picks(new RoundRobin(), 50, range(7)),
      range(50).map((i) => i % 7),
    );
  });

  test("chunkSize sends that many consecutive messages to one partition", () => {
    // No published vector; computed from kafka-go's rule (ChunkSize, PR
    // #1232): message i goes to partitions[floor(i / chunkSize) % n].
    for (const chunkSize of [1, 2, 5, 12]) {
      assert.deepEqual(
        picks(new RoundRobin({ chunkSize }), 50, range(7)),
        range(50).map((i) => Math.floor(i / chunkSize) % 7),
        `chunkSize ${chunkSize}`,
      );
    }
    assert.deepEqual(
      picks(new RoundRobin({ chunkSize: 3 }), 7, [0, 1]),
      [0, 0, 0, 1, 1, 1, 0],
    );
  });

  test("returns entries of the list, not indexes", () => {
    assert.deepEqual(picks(new RoundRobin(), 4, [10, 20, 30]), [
      10,
      20,
      30,
      10,
    ]);
  });

  test("a changed list carries on from the same chunk count", () => {
    // kafka-go keeps one counter and takes it modulo the current length.
    const balancer = new RoundRobin({ chunkSize: 2 });
    assert.deepEqual(picks(balancer, 6, [0, 1, 2]), [0, 0, 1, 1, 2, 2]);
    // Three chunks done: 3 % 2 = 1, then 4 % 2 = 0.
    assert.deepEqual(picks(balancer, 4, [0, 1]), [1, 1, 0, 0]);
  });

  test("rejects a chunkSize that is not a positive integer", () => {
    for (const chunkSize of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => new RoundRobin({ chunkSize }), {
        name: "RangeError",
        message:
          `Cannot create RoundRobin: "chunkSize" must be a positive integer, got ${chunkSize}`,
      });
    }
    assert.throws(
      () => new RoundRobin({ chunkSize: "2" as unknown as number }),
      {
        name: "TypeError",
        message:
          'Cannot create RoundRobin: "chunkSize" must be a number, got "2"',
      },
    );
  });

  test("refuses options that are not an object, or names it does not take", () => {
    // Each would otherwise leave the default in place, silently.
    for (const options of [5, null, [2]]) {
      assert.throws(() => new RoundRobin(options as never), {
        name: "TypeError",
        message:
          `Cannot create RoundRobin: the options must be an object, got ${
            options === null
              ? "null"
              : options === 5
              ? "5 (number)"
              : "[2] (array)"
          }`,
      });
    }
    assert.throws(() => new RoundRobin({ chunksize: 2 } as never), {
      name: "TypeError",
      message:
        'Cannot create RoundRobin: unknown option "chunksize"; did you mean "chunkSize"?',
    });
    assert.throws(() => new Murmur2Balancer({ consistant: true } as never), {
      name: "TypeError",
      message:
        'Cannot create Murmur2Balancer: unknown option "consistant"; did you mean "consistent"?',
    });
    assert.throws(() => new CRC32Balancer({ consistant: true } as never), {
      name: "TypeError",
      message:
        'Cannot create CRC32Balancer: unknown option "consistant"; did you mean "consistent"?',
    });
    assert.throws(() => new JavaDefault({ chunkbytes: 10 } as never), {
      name: "TypeError",
      message:
        'Cannot create JavaDefault: unknown option "chunkbytes"; did you mean "chunkBytes"?',
    });
  });
});

describe("LeastBytes", () => {
  /** Runs kafka-go's TestLeastBytes shape: keys with a list each, last pick. */
  function lastPick(keys: string[], lists: number[][]): number {
    const balancer = new LeastBytes();
    let partition = -1;
    keys.forEach((key, i) => {
      partition = balancer.balance(keyed(key), lists[i]);
    });
    return partition;
  }

  test("kafka-go TestLeastBytes", () => {
    assert.equal(lastPick(["key"], [[0, 1, 2]]), 0, "single message");
    assert.equal(
      lastPick(["a", "ab", "abc", "abcd"], [[0, 1, 2], [0, 1, 2], [0, 1, 2], [
        0,
        1,
        2,
      ]]),
      0,
      "multiple messages, no partition change",
    );
    assert.equal(
      lastPick(["hello world 1", "hello world 2", "hello world 3"], [
        [0, 1],
        [0, 1],
        [0, 1, 2],
      ]),
      0,
      "partition gained",
    );
    assert.equal(
      lastPick(["hello world 1", "hello world 2", "hello world 3"], [
        [0, 1, 2],
        [0, 1, 2],
        [0, 1],
      ]),
      0,
      "partition lost",
    );
  });

  test("picks the partition with the fewest bytes so far", () => {
    // Computed from the rule: totals after each pick in the comments.
    const balancer = new LeastBytes();
    const partitions = [0, 1, 2];
    const sized = (n: number) => ({ key: null, value: new Uint8Array(n) });
    assert.equal(balancer.balance(sized(30), partitions), 0); // 30 0 0
    assert.equal(balancer.balance(sized(20), partitions), 1); // 30 20 0
    assert.equal(balancer.balance(sized(5), partitions), 2); // 30 20 5
    assert.equal(balancer.balance(sized(40), partitions), 2); // 30 20 45
    assert.equal(balancer.balance(sized(1), partitions), 1); // 30 21 45
    assert.equal(balancer.balance(sized(1), partitions), 1); // 30 22 45
  });

  test("ties go to the lowest partition", () => {
    const balancer = new LeastBytes();
    // Empty messages add nothing, so every pick is a three-way tie.
    assert.deepEqual(picks(balancer, 3, [3, 5, 8]), [3, 3, 3]);
  });

  test("counts key and value bytes, a null one as zero", () => {
    const balancer = new LeastBytes();
    const partitions = [4, 7];
    balancer.balance({ key: ascii("abc"), value: ascii("de") }, partitions);
    balancer.balance({ key: null, value: ascii("1234") }, partitions);
    // 5 bytes against 4: partition 7 is lighter.
    assert.equal(balancer.balance({ key: ascii("x") }, partitions), 7);
    // Now 5 against 5: the tie goes to 4.
    assert.equal(balancer.balance({ key: ascii("x") }, partitions), 4);
  });

  test("restarts the totals when the list changes, even at the same length", () => {
    const balancer = new LeastBytes();
    balancer.balance(keyed("heavy"), [0, 1, 2]);
    assert.equal(balancer.balance(keyed("x"), [0, 1, 2]), 1);
    // Partition 2 replaced by 3: everything starts from zero again.
    assert.equal(balancer.balance(keyed("x"), [0, 1, 3]), 0);
  });

  test("keeps its own copy of the list", () => {
    const balancer = new LeastBytes();
    const partitions = [0, 1];
    balancer.balance(keyed("heavy"), partitions);
    partitions[0] = 9;
    // A mutated list is a new list: totals restart and 9 is a valid pick.
    assert.equal(balancer.balance(keyed("x"), partitions), 9);
  });
});

describe("Hash", () => {
  test("kafka-go TestHashBalancer", () => {
    assert.equal(new Hash().balance(unkeyed, [0, 1, 2]), 0, "nil");
    assert.equal(new Hash().balance(keyed("blah"), [0, 1]), 0, "partition-0");
    assert.equal(new Hash().balance(keyed("blah"), [0, 1, 2]), 1);
    assert.equal(new Hash().balance(keyed("boop"), [0, 1, 2]), 2);
    // "in a previous version, this test would select a different partition
    // than sarama's hash partitioner"
    assert.equal(new Hash().balance(keyed("20"), range(16)), 1, "MSB set");
  });

  test("librdkafka 0048-partitioner.c, partitioner fnv1a_random", () => {
    // librdkafka's fnv1a partitioners mirror sarama's NewHashPartitioner;
    // its expectations are |int32(hash)| % 17, spread here over squares.
    const hash = new Hash();
    const cases: [string, number][] = [
      ["", 0x7ee3623b],
      ["23456", 0x27e6f469],
      [LONG_KEY, 0x155e3e5f],
      ["hejsan", 0x17b1e27a],
    ];
    for (const [key, expected] of cases) {
      assert.equal(hash.balance(keyed(key), squares), squares[expected % 17]);
    }
  });

  test("sarama TestHashPartitionerMinInt32", () => {
    // sarama only checks the result is in range; the value is computed from
    // its rule: |int32(0x80000000) % 50| = |-2147483648 % 50| = 48.
    assert.equal(new Hash().balance(keyed("1468509572224"), range(50)), 48);
  });

  test("a null key goes round robin, an empty key is hashed", () => {
    const hash = new Hash();
    assert.deepEqual(picks(hash, 4, [5, 6, 7]), [5, 6, 7, 5]);
    // FNV-1a of no bytes, made positive as sarama does.
    assert.equal(
      consistentPick(hash, emptyKey, squares),
      squares[0x7ee3623b % 17],
    );
  });

  test("sarama TestHashPartitioner: random keys are consistent and in range", () => {
    const hash = new Hash();
    const key = new Uint8Array(256);
    for (let i = 0; i < 50; i++) {
      crypto.getRandomValues(key);
      const partition = consistentPick(hash, { key }, range(50));
      assert.ok(partition >= 0 && partition < 50);
    }
  });
});

describe("ReferenceHash", () => {
  test("kafka-go TestReferenceHashBalancer", () => {
    const balancer = new ReferenceHash();
    assert.equal(balancer.balance(keyed("blah"), [0, 1]), 0);
    assert.equal(balancer.balance(keyed("blah"), [0, 1, 2]), 1);
    assert.equal(balancer.balance(keyed("castle"), [0, 1, 2]), 2);
    // Where Hash answers 1: the sign bit is cleared before the remainder.
    assert.equal(balancer.balance(keyed("20"), range(16)), 15);
  });

  test("the sarama MinInt32 key clears to zero", () => {
    // Computed from sarama's rule: (0x80000000 & 0x7fffffff) % 50 = 0,
    // where Hash gives 48 for the same key.
    assert.equal(
      new ReferenceHash().balance(keyed("1468509572224"), range(50)),
      0,
    );
  });

  test("a null key gets a random partition, an empty key is hashed", () => {
    const balancer = new ReferenceHash();
    assertRandom(balancer, unkeyed, squares);
    // Computed: (0x811c9dc5 & 0x7fffffff) % 17.
    assert.equal(
      consistentPick(balancer, emptyKey, squares),
      squares[(0x811c9dc5 & 0x7fffffff) % 17],
    );
  });
});

describe("CRC32Balancer", () => {
  // librdkafka 0048-partitioner.c: "These constants were acquired using the
  // 'crc32' command on OSX"; kafka-go's TestCRC32Balancer copies them.
  const hashed: [string, number][] = [
    ["23456", 0xb1b451d7],
    [LONG_KEY, 0xb0150df7],
    ["hejsan", 0xd077037e],
  ];

  test("librdkafka 0048-partitioner.c, partitioner consistent_random", () => {
    const balancer = new CRC32Balancer();
    for (const [key, crc] of hashed) {
      assert.equal(balancer.balance(keyed(key), squares), squares[crc % 17]);
    }
    // Its NULL and "" rows expect a random partition (-1).
    assertRandom(balancer, unkeyed, squares);
    assertRandom(balancer, emptyKey, squares);
  });

  test("librdkafka 0048-partitioner.c, partitioner consistent", () => {
    const balancer = new CRC32Balancer({ consistent: true });
    for (const [key, crc] of hashed) {
      assert.equal(balancer.balance(keyed(key), squares), squares[crc % 17]);
    }
    // NULL and "" both expect 0x0 % 17: zero bytes have a CRC of 0.
    assert.equal(consistentPick(balancer, unkeyed, squares), squares[0]);
    assert.equal(consistentPick(balancer, emptyKey, squares), squares[0]);
  });

  test("sarama TestConsistentCRCHashPartitioner (unsigned CRC-32 % 100)", () => {
    // "SheetJS" hashes to 2647669026: an unsigned remainder gives 26, a
    // signed one would give 70.
    const cases: [string, number][] = [
      ["abc123def456", 57],
      ["SheetJS", 26],
      ["9e8c7f4cf45857cfff7645d6", 24],
      ["3900446192ff85a5f67da10c", 75],
      ["0f4407b7a67d6d27de372198", 50],
    ];
    const balancer = new CRC32Balancer();
    for (const [key, expected] of cases) {
      assert.equal(balancer.balance(keyed(key), range(100)), expected, key);
    }
  });

  test("rejects a consistent option that is not a boolean", () => {
    assert.throws(
      () => new CRC32Balancer({ consistent: "yes" as unknown as boolean }),
      {
        name: "TypeError",
        message:
          'Cannot create CRC32Balancer: "consistent" must be a boolean, got "yes"',
      },
    );
  });
});

describe("Murmur2Balancer", () => {
  // librdkafka 0048-partitioner.c: murmur2 values "using tests/java/
  // Murmur2Cli", i.e. the Java client; kafka-go's TestMurmur2Balancer copies
  // them ("librdkafka-*" cases).
  const hashed: [string, number][] = [
    ["", 0x106e08d9],
    ["23456", 0x058d780f],
    [LONG_KEY, 0x4f7703da],
    ["hejsan", 0x5ec19395],
  ];

  test("librdkafka 0048-partitioner.c, partitioner murmur2_random", () => {
    const balancer = new Murmur2Balancer();
    for (const [key, hash] of hashed) {
      assert.equal(balancer.balance(keyed(key), squares), squares[hash % 17]);
    }
    // Its NULL row expects a random partition; "" is hashed (first case).
    assertRandom(balancer, unkeyed, squares);
  });

  test("librdkafka 0048-partitioner.c, partitioner murmur2", () => {
    const balancer = new Murmur2Balancer({ consistent: true });
    for (const [key, hash] of hashed) {
      assert.equal(balancer.balance(keyed(key), squares), squares[hash % 17]);
    }
    // NULL hashes as zero bytes: 0x106e08d9 % 17, the same as "".
    assert.equal(
      consistentPick(balancer, unkeyed, squares),
      squares[0x106e08d9 % 17],
    );
  });

  test("kafka-python test_murmur2_java_compatibility (via kafka-go)", () => {
    // kafka-python checked these against the Java client's partitioner over
    // 1000 partitions; kafka-go's TestMurmur2Balancer "python-*" cases.
    const balancer = new Murmur2Balancer();
    for (const [key, expected] of javaPartitionsOf1000) {
      assert.equal(balancer.balance({ key }, range(1000)), expected);
    }
  });

  test("rejects a consistent option that is not a boolean", () => {
    assert.throws(
      () => new Murmur2Balancer({ consistent: 1 as unknown as boolean }),
      {
        name: "TypeError",
        message:
          'Cannot create Murmur2Balancer: "consistent" must be a boolean, got 1',
      },
    );
  });
});

/** kafka-python's test/test_partitioner.py: key bytes and Java's partition. */
const javaPartitionsOf1000: [Uint8Array, number][] = [
  [ascii(""), 681],
  [ascii("a"), 524],
  [ascii("ab"), 434],
  [ascii("abc"), 107],
  [ascii("123456789"), 566],
  [new Uint8Array([0, 32]), 742],
];

describe("JavaDefault", () => {
  test("keyed messages: kafka-python test_murmur2_java_compatibility", () => {
    const balancer = new JavaDefault();
    for (const [key, expected] of javaPartitionsOf1000) {
      assert.equal(balancer.balance({ key }, range(1000)), expected);
    }
  });

  test("keyed messages: toPositive(murmur2) % n of UtilsTest.testMurmur2", () => {
    // Computed from Java's BuiltInPartitioner.partitionForKey over the hashes
    // UtilsTest publishes, 7 partitions: e.g. -973932308 & 0x7fffffff =
    // 1173551340, and 1173551340 % 7 = 3.
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["abc", 479470107],
    ];
    const balancer = new JavaDefault();
    for (const [key, hash] of cases) {
      assert.equal(
        balancer.balance(keyed(key), range(7)),
        (hash & 0x7fffffff) % 7,
        key,
      );
    }
    assert.equal(balancer.balance(keyed("21"), range(7)), 3);
  });

  test("null keys stick to a partition for chunkSize messages, then the next takes over", () => {
    const balancer = new JavaDefault({ chunkSize: 2 });
    const got = picks(balancer, 7, [2, 4, 6]);
    const first = [2, 4, 6].indexOf(got[0]);
    const at = (i: number) => [2, 4, 6][(first + i) % 3];
    assert.deepEqual(got, [at(0), at(0), at(1), at(1), at(2), at(2), at(0)]);
  });

  test("an empty key is hashed, and does not count in a null-key run", () => {
    const balancer = new JavaDefault({ chunkSize: 2 });
    const first = balancer.balance(unkeyed, range(1000));
    assert.equal(consistentPick(balancer, emptyKey, range(1000)), 681);
    assert.equal(balancer.balance(unkeyed, range(1000)), first);
    assert.equal(balancer.balance(unkeyed, range(1000)), (first + 1) % 1000);
  });

  test("chunkBytes ends a run before the message that would pass it", () => {
    // Each 30-byte value counts 50 (20 for its framing): two fit in 120.
    const balancer = new JavaDefault({ chunkSize: 100, chunkBytes: 120 });
    const message = { key: null, value: new Uint8Array(30) };
    const got = picks(balancer, 5, [0, 1], message);
    assert.deepEqual(got, [got[0], got[0], 1 - got[0], 1 - got[0], got[0]]);
    // A value larger than chunkBytes still goes, alone in its run.
    const big = { key: null, value: new Uint8Array(500) };
    const alone = picks(new JavaDefault({ chunkBytes: 100 }), 3, [0, 1], big);
    assert.deepEqual(alone, [alone[0], 1 - alone[0], alone[0]]);
  });

  test("the first run starts on a random partition", () => {
    const firsts = new Set(
      Array.from(
        { length: 50 },
        () => new JavaDefault().balance(unkeyed, range(1000)),
      ),
    );
    // 50 draws from 1000 all alike: about 1e-147.
    assert.ok(firsts.size > 1, `every first pick was ${[...firsts]}`);
  });

  test("chunkSize and chunkBytes must be positive integers", () => {
    assert.throws(() => new JavaDefault({ chunkSize: 0 }), {
      name: "RangeError",
      message:
        'Cannot create JavaDefault: "chunkSize" must be a positive integer, got 0',
    });
    assert.throws(() => new JavaDefault({ chunkBytes: 1.5 }), {
      name: "RangeError",
      message:
        'Cannot create JavaDefault: "chunkBytes" must be a positive integer, got 1.5',
    });
    assert.throws(
      () => new JavaDefault({ chunkBytes: "1" as unknown as number }),
      {
        name: "TypeError",
        message:
          'Cannot create JavaDefault: "chunkBytes" must be a number, got "1"',
      },
    );
  });

  test("defaultBalancer() is a new JavaDefault each call", () => {
    const first = defaultBalancer();
    assert.ok(first instanceof JavaDefault);
    assert.notEqual(defaultBalancer(), first);
  });
});

describe("every balancer", () => {
  const all: [string, () => Balancer][] = [
    ["RoundRobin", () => new RoundRobin()],
    ["LeastBytes", () => new LeastBytes()],
    ["Hash", () => new Hash()],
    ["ReferenceHash", () => new ReferenceHash()],
    ["CRC32Balancer", () => new CRC32Balancer()],
    ["CRC32Balancer consistent", () => new CRC32Balancer({ consistent: true })],
    ["Murmur2Balancer", () => new Murmur2Balancer()],
    [
      "Murmur2Balancer consistent",
      () => new Murmur2Balancer({ consistent: true }),
    ],
    ["JavaDefault", () => new JavaDefault()],
  ];
  const messages = [unkeyed, emptyKey, keyed("key")];

  test("an empty partition list is a RangeError", () => {
    for (const [name, make] of all) {
      for (const message of messages) {
        assert.throws(() => make().balance(message, []), {
          name: "RangeError",
          message: "Cannot balance message: the partition list is empty",
        }, name);
      }
    }
  });

  test("one partition is always the answer (sarama's first checks)", () => {
    for (const [name, make] of all) {
      for (const message of messages) {
        assert.deepEqual(picks(make(), 5, [3], message), [3, 3, 3, 3, 3], name);
      }
    }
  });

  test("every pick is in the list, whatever the key", () => {
    const partitions = [2, 3, 5, 7, 11];
    const key = new Uint8Array(16);
    for (const [name, make] of all) {
      const balancer = make();
      for (let i = 0; i < 100; i++) {
        crypto.getRandomValues(key);
        for (const message of [...messages, { key }]) {
          const partition = balancer.balance(message, partitions);
          assert.ok(partitions.includes(partition), `${name}: ${partition}`);
        }
      }
    }
  });
});
