/**
 * Rebalancing without stopping the world, against the real broker:
 * cooperative rebalances (the classic protocol with the cooperative-sticky
 * balancer, and the consumer protocol of KIP-848) revoke only what moves,
 * static members come back without a rebalance, and a regular-expression
 * subscription (either protocol) picks up topics created later and drops
 * deleted ones; Kafka's console consumer shares groups with our Readers.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import {
  CooperativeStickyGroupBalancer,
  dial,
  Reader,
  type ReaderOptions,
} from "../mod.ts";
import { ensureJars } from "../tools/kafka.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";
import {
  committed,
  consume,
  duplicates,
  endOffsets,
  expected,
  fast,
  newGroup,
  produce,
  type Protocol,
  PROTOCOLS,
  topicWith,
  until,
} from "./_group.ts";

/** What the callbacks of one member reported, partition ids in order. */
interface Events {
  assigned: number[][];
  revoked: number[][];
  lost: number[][];
}

function recorder(events: Events): Partial<ReaderOptions> {
  const ids = (p: { partition: number }[]) =>
    p.map((x) => x.partition).sort((a, b) => a - b);
  return {
    onPartitionsAssigned: (p) => void events.assigned.push(ids(p)),
    onPartitionsRevoked: (p) => void events.revoked.push(ids(p)),
    onPartitionsLost: (p) => void events.lost.push(ids(p)),
  };
}

function newEvents(): Events {
  return { assigned: [], revoked: [], lost: [] };
}

/** The options of an incremental group: cooperative-sticky, or the consumer protocol. */
function incremental(protocol: Protocol): Partial<ReaderOptions> {
  return protocol === "classic"
    ? {
      ...fast("classic"),
      groupBalancers: [new CooperativeStickyGroupBalancer()],
    }
    : fast("consumer");
}

function owned(r: Reader): number[] {
  return r.assignment().map((p) => p.partition).sort((a, b) => a - b);
}

for (const protocol of PROTOCOLS) {
  const name = protocol === "classic"
    ? "cooperative-sticky"
    : "consumer protocol";

  describe(`incremental rebalances (${name})`, () => {
    test("a third member joins: no partition a member keeps is revoked; each message once", async () => {
      const topic = await topicWith(6);
      await produce(topic, 0, 600);
      const groupId = await newGroup(protocol);
      const events = [newEvents(), newEvents(), newEvents()];
      const make = (i: number) =>
        new Reader({
          brokers: [BROKER],
          topic,
          groupId,
          ...incremental(protocol),
          ...recorder(events[i]),
        });
      const readers = [make(0), make(1)];
      const seen: string[][] = [[], [], []];
      const loops = readers.map((r, i) => consume(r, seen[i]));
      await until(
        "two members share six partitions",
        () => owned(readers[0]).length === 3 && owned(readers[1]).length === 3,
      );
      const before = readers.map(owned);
      const revokedEarlier = events.map((e) => e.revoked.flat().length);
      readers.push(make(2));
      loops.push(consume(readers[2], seen[2]));
      await until(
        "three members with two partitions each",
        () => readers.every((r) => owned(r).length === 2),
      );
      await produce(topic, 600, 600);
      await until(
        "every message read",
        () => seen.reduce((n, s) => n + s.length, 0) >= 1200,
      );
      const after = readers.map(owned);
      // Closing revokes everything: look at what came before.
      const revokedBefore = events.map((e, i) =>
        e.revoked.flat().slice(revokedEarlier[i] ?? 0)
      );
      await Promise.all(readers.map((r) => r.close()));
      await Promise.all(loops);
      for (const i of [0, 1]) {
        const revoked = revokedBefore[i];
        const kept = before[i].filter((p) => after[i].includes(p));
        assert.deepEqual(
          revoked.filter((p) => kept.includes(p)),
          [],
          `member ${i} kept ${kept} but had ${revoked} revoked (events ${
            JSON.stringify(events[i])
          })`,
        );
        // Exactly what moved was revoked, once.
        assert.deepEqual(
          [...revoked].sort(),
          before[i].filter((p) => !after[i].includes(p)),
        );
        assert.deepEqual(events[i].lost, []);
      }
      assert.deepEqual(revokedBefore[2], []);
      const all = seen.flat();
      assert.deepEqual(duplicates(all), []);
      assert.deepEqual([...all].sort(), expected(0, 1200));
    });
  });

  describe(`static membership (${protocol} protocol)`, () => {
    test("a member closed and back with the same groupInstanceId within the session timeout: the others see no rebalance", async () => {
      const topic = await topicWith(4);
      const groupId = await newGroup(protocol);
      const options = {
        brokers: [BROKER],
        topic,
        groupId,
        ...fast(protocol),
      };
      const otherEvents = newEvents();
      const other = new Reader({
        ...options,
        groupInstanceId: "other",
        ...recorder(otherEvents),
      });
      const first = new Reader({ ...options, groupInstanceId: "static-1" });
      const seenOther: string[] = [];
      const seenFirst: string[] = [];
      const loops = [consume(other, seenOther), consume(first, seenFirst)];
      await until(
        "two members with two partitions each",
        () => owned(other).length === 2 && owned(first).length === 2,
      );
      await produce(topic, 0, 400);
      await until(
        "every message read",
        () => seenOther.length + seenFirst.length >= 400,
      );
      const firstPartitions = owned(first);
      const otherPartitions = owned(other);
      const eventsBefore = JSON.stringify(otherEvents);
      await first.close();
      await loops[1];
      const back = new Reader({ ...options, groupInstanceId: "static-1" });
      const seenBack: string[] = [];
      loops.push(consume(back, seenBack));
      await until("the member is back", () => owned(back).length === 2);
      await produce(topic, 400, 400);
      await until(
        "the new messages read",
        () => seenOther.length + seenFirst.length + seenBack.length >= 800,
      );
      assert.deepEqual(owned(back), firstPartitions);
      assert.deepEqual(owned(other), otherPartitions);
      assert.equal(JSON.stringify(otherEvents), eventsBefore);
      await Promise.all([other.close(), back.close()]);
      await Promise.all(loops);
      const all = [...seenOther, ...seenFirst, ...seenBack];
      assert.deepEqual(duplicates(all), []);
      assert.deepEqual([...all].sort(), expected(0, 800));
    });
  });
}

for (const protocol of PROTOCOLS) {
  describe(`regular-expression subscription (${protocol} protocol)`, () => {
    test("two members, matching nothing at first, split the matching topics as they are created and read them; a deleted topic leaves; classic never matches internal topics", async () => {
      const prefix = uniqueTopic("rx").replaceAll("-", "_");
      const first = `${prefix}.a`;
      const admin = await dial(BROKER);
      const readers: Reader[] = [];
      try {
        const groupId = await newGroup(protocol);
        // Classic members never match internal topics (Java's
        // exclude.internal.topics); the broker's matching does.
        const pattern = new RegExp(
          `${prefix}\\..*${
            protocol === "classic" ? "|__consumer_offsets" : ""
          }`,
        );
        const topics = new Set<string>();
        const seen: string[] = [];
        const loops = [0, 1].map(async () => {
          const reader = new Reader({
            brokers: [BROKER],
            groupId,
            groupTopics: pattern,
            ...fast(protocol),
            ...(protocol === "classic" ? { partitionWatchInterval: 500 } : {}),
          });
          readers.push(reader);
          for await (const m of reader) {
            topics.add(m.topic);
            seen.push(new TextDecoder().decode(m.value!));
          }
        });
        // Awaited at the end; until then a failed loop is not unhandled.
        for (const loop of loops) loop.catch(() => {});
        const assigned = () =>
          readers.flatMap((r) => r.assignment())
            .map((p) => `${p.topic}/${p.partition}`).sort();
        // Nothing matches yet: the members join with nothing to read.
        await until(
          "both members in the group",
          () => readers.every((r) => (r.stats().group?.generationId ?? -1) > 0),
        );
        assert.deepEqual(assigned(), []);
        await admin.createTopics({
          topic: first,
          numPartitions: 2,
          replicationFactor: 1,
        });
        await until(
          "the first topic's partitions assigned, one to each member",
          () =>
            readers.length === 2 &&
            readers.every((r) => r.assignment().length === 1),
        );
        const later = `${prefix}.b`;
        await admin.createTopics({
          topic: later,
          numPartitions: 2,
          replicationFactor: 1,
        });
        // Not matching: never assigned.
        await admin.createTopics({
          topic: `${prefix}_c`,
          numPartitions: 1,
          replicationFactor: 1,
        });
        await until(
          "the later topic assigned",
          () => assigned().filter((p) => p.startsWith(later)).length === 2,
          60_000,
        );
        await produce(later, 0, 50);
        await produce(first, 50, 50);
        await until("every message read", () => seen.length >= 100);
        assert.deepEqual(assigned(), [
          `${first}/0`,
          `${first}/1`,
          `${later}/0`,
          `${later}/1`,
        ]);
        assert.equal(readers[0].stats().topic, pattern.source);
        await admin.deleteTopics(first);
        await until(
          "the deleted topic dropped",
          () => assigned().join() === `${later}/0,${later}/1`,
          60_000,
        );
        assert.deepEqual(assigned(), [`${later}/0`, `${later}/1`]);
        await Promise.all(readers.map((r) => r.close()));
        await Promise.all(loops);
        assert.deepEqual([...topics].sort(), [first, later]);
        assert.deepEqual(duplicates(seen), []);
        assert.deepEqual([...seen].sort(), expected(0, 100));
      } finally {
        await Promise.all(readers.map((r) => r.close()));
        admin.close();
      }
    });
  });
}

/**
 * The console consumer and our Readers in one group: by topic under the
 * consumer protocol, by pattern (each member matching it) under classic.
 */
const CONSOLE_GROUPS = PROTOCOLS.map((protocol) => ({
  protocol,
  byPattern: protocol === "classic",
}));

for (const { protocol, byPattern } of CONSOLE_GROUPS) {
  describe(
    `a ${protocol} group with Kafka's console consumer${
      byPattern ? ", all subscribed by pattern" : ""
    }`,
    () => {
      test(
        `our Readers and kafka-console-consumer (group.protocol=${protocol}${
          byPattern ? ", --include" : ""
        }) split the partitions; no message twice`,
        async () => {
          const topic = await topicWith(6);
          await produce(topic, 0, 600);
          const groupId = await newGroup(protocol);
          // Java matches --include against whole names, as our Readers do.
          const pattern = topic.replaceAll(".", "\\.");
          const libs = await ensureJars();
          const home = process.env.JAVA_HOME;
          const java = home ? join(home, "bin", "java") : "java";
          const child = spawn(java, [
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            join(libs, "*"),
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            BROKER,
            ...(byPattern ? ["--include", pattern] : ["--topic", topic]),
            "--group",
            groupId,
            "--consumer-property",
            `group.protocol=${protocol}`,
            "--consumer-property",
            "auto.offset.reset=earliest",
            "--consumer-property",
            "auto.commit.interval.ms=200",
            "--consumer-property",
            "client.id=console-consumer",
            "--property",
            "print.partition=true",
          ], { stdio: ["ignore", "pipe", "pipe"] });
          const javaSeen: string[] = [];
          const javaPartitions = new Set<number>();
          let stderr = "";
          child.stderr!.setEncoding("utf8");
          child.stderr!.on("data", (c: string) => stderr += c);
          // "Partition:3\tm42"
          createInterface({ input: child.stdout! }).on("line", (line) => {
            const match = /^Partition:(\d+)\t(.*)$/.exec(line);
            if (!match) return;
            javaPartitions.add(Number(match[1]));
            javaSeen.push(match[2]);
          });
          const exited = new Promise<number | string | null>((resolve) =>
            child.on("close", (code, signal) => resolve(code ?? signal))
          );
          const readers: Reader[] = [];
          try {
            await until(
              "the console consumer reads",
              () => javaSeen.length > 0,
            );
            const seen: string[][] = [[], []];
            for (let i = 0; i < 2; i++) {
              readers.push(
                new Reader({
                  brokers: [BROKER],
                  ...(byPattern
                    ? { groupTopics: new RegExp(pattern) }
                    : { topic }),
                  groupId,
                  ...fast(protocol),
                }),
              );
            }
            const loops = readers.map((r, i) => consume(r, seen[i]));
            await until(
              "our two Readers hold two partitions each",
              () => readers.every((r) => owned(r).length === 2),
              30_000,
            );
            await produce(topic, 600, 600);
            const all = () => [...javaSeen, ...seen.flat()];
            await until(
              "every message read",
              () => new Set(all()).size >= 1200,
              30_000,
            );
            const ours = readers.flatMap(owned);
            // The console consumer keeps the two partitions ours have not.
            const before = javaSeen.length;
            await produce(topic, 1200, 60);
            await until(
              "the last messages read",
              () => new Set(all()).size >= 1260,
            );
            assert.equal(new Set(ours).size, 4);
            const javaLast = javaSeen.slice(before);
            assert.ok(
              javaLast.length > 0,
              "the console consumer read some of the last messages",
            );
            assert.ok(
              [...javaPartitions].some((p) => !ours.includes(p)),
              `the console consumer read partitions [${[
                ...javaPartitions,
              ]}], ours hold [${ours}]`,
            );
            await Promise.all(readers.map((r) => r.close()));
            await Promise.all(loops);
            child.kill("SIGTERM");
            await exited;
            assert.deepEqual(duplicates(all()), [], "no message read twice");
            assert.deepEqual([...all()].sort(), expected(0, 1260));
            // Ours committed what they read to the end of their partitions.
            const ends = await endOffsets(topic, 6);
            const commits = await committed(groupId, topic, 6);
            for (const p of ours) {
              assert.equal(commits[p], ends[p], `partition ${p}`);
            }
          } catch (error) {
            throw new Error(
              `${error}\nconsole consumer stderr: ${stderr.slice(-2000)}`,
            );
          } finally {
            child.kill("SIGKILL");
            await Promise.allSettled(readers.map((r) => r.close()));
            await sleep(0);
          }
        },
      );
    },
  );
}
