/**
 * What operators ask of a consumer group most: how far behind it is
 * (`groupLag`, as `kafka-consumer-groups --describe` prints it), and moving
 * its committed offsets (`resetGroupOffsets`, as `--reset-offsets` does),
 * for classic and KIP-848 consumer groups alike.
 *
 * @module
 */

import { UnsupportedVersionError } from "../connection/errors.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  type ClassicGroupDescription,
  type ConsumerGroupDescription,
  describeConsumerGroups,
  describeGroups,
  listGroups,
} from "./groups.ts";
import {
  checkGroupId,
  type CommitOutcome,
  leaderOffsets,
  type ListedOffset,
  offsetCommit,
  offsetFetch,
  type TopicPartition,
} from "./offsets.ts";
import { byTopicPartition } from "../message.ts";
import { checkPartitions } from "../requests/arguments.ts";
import type { Call, CallOptions, Router } from "../cluster/route.ts";
import { badArgument, isList } from "../requests/arguments.ts";
import { metadata } from "./topics.ts";

/**
 * One partition of `groupLag`: the group's committed offset, the log's end
 * and the difference, with the member that owns the partition.
 *
 * @example
 * ```ts
 * import type { PartitionLag } from "./lag.ts";
 *
 * const p: PartitionLag = {
 *   topic: "orders", partition: 0, committed: 40, endOffset: 42, lag: 2,
 *   memberId: null, clientId: null, host: null, error: null,
 * };
 * console.log(p.lag);
 * ```
 */
export interface PartitionLag {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The committed offset (the next to read), -1 when none. */
  committed: number;
  /** The partition's end offset (high watermark), -1 when unknown. */
  endOffset: number;
  /** `endOffset - committed`, or null without a commit or an end offset. */
  lag: number | null;
  /** The member that owns the partition now, or null. */
  memberId: string | null;
  /** That member's client id, or null. */
  clientId: string | null;
  /** That member's host, or null. */
  host: string | null;
  /** Why the end offset or the commit could not be read, or null. */
  error: Error | null;
}

/**
 * A group's lag: its type, state and members, and each partition it
 * committed or owns.
 *
 * @example
 * ```ts
 * import type { GroupLag } from "./lag.ts";
 *
 * const lag: GroupLag = {
 *   groupId: "billing", type: "classic", state: "Empty", members: 0,
 *   partitions: [], totalLag: 0,
 * };
 * console.log(lag.totalLag);
 * ```
 */
export interface GroupLag {
  /** The group id. */
  groupId: string;
  /** "classic" or "consumer" (KIP-848); "unknown" for a group with no state. */
  type: "classic" | "consumer" | "unknown";
  /** The group's state ("Stable", "Empty", "Dead"...). */
  state: string;
  /** How many members it has. */
  members: number;
  /** Per partition, sorted by topic and partition. */
  partitions: PartitionLag[];
  /**
   * The sum of the partitions' lag: of those with a committed offset and a
   * known end offset (a partition a member owns before its first commit
   * has lag null, and is left out).
   */
  totalLag: number;
}

/**
 * Options of `groupLag`.
 *
 * @example
 * ```ts
 * import type { GroupLagOptions } from "./lag.ts";
 *
 * const options: GroupLagOptions = { isolationLevel: "read_committed" };
 * console.log(options.isolationLevel);
 * ```
 */
export interface GroupLagOptions extends CallOptions {
  /**
   * "read_committed" measures to the last stable offset; default
   * "read_uncommitted", the high watermark (as kafka-consumer-groups).
   */
  isolationLevel?: "read_uncommitted" | "read_committed" | undefined;
}

/**
 * Where `resetGroupOffsets` moves the group: the first or next offset, the
 * first at or after a time, each committed offset moved by `shiftBy`, one
 * `offset` for every partition, or explicit offsets. As
 * `kafka-consumer-groups --reset-offsets` (`--to-earliest`, `--to-latest`,
 * `--to-datetime`, `--shift-by`, `--to-offset`, `--from-file`); shifted
 * and given offsets outside a partition's log are moved to its nearest end,
 * as the tool does, and shifting a partition without a committed offset
 * fails that partition.
 *
 * @example
 * ```ts
 * import type { ResetTarget } from "./lag.ts";
 *
 * const targets: ResetTarget[] = [
 *   "earliest",
 *   new Date(Date.now() - 3_600_000),
 *   { shiftBy: -100 }, // each committed offset, 100 back
 *   { offset: 5000 }, // every partition to offset 5000
 *   [{ topic: "orders", partition: 0, offset: 100 }],
 * ];
 * console.log(targets.length);
 * ```
 */
export type ResetTarget =
  | "earliest"
  | "latest"
  | Date
  | { shiftBy: number }
  | { offset: number }
  | readonly (TopicPartition & { offset: number })[];

/**
 * Options of `resetGroupOffsets`.
 *
 * @example
 * ```ts
 * import type { ResetOffsetsOptions } from "./lag.ts";
 *
 * const options: ResetOffsetsOptions = { to: "earliest", topics: ["orders"], dryRun: true };
 * console.log(options.to);
 * ```
 */
export interface ResetOffsetsOptions extends CallOptions {
  /** Where to move the offsets. */
  to: ResetTarget;
  /**
   * Every partition of these topics (default: the partitions the group has
   * committed, or those of `to` when it lists offsets).
   */
  topics?: readonly string[] | undefined;
  /** These partitions only. */
  partitions?: readonly TopicPartition[] | undefined;
  /** Work out the new offsets without committing them (default false). */
  dryRun?: boolean | undefined;
}

/** The group's description, from whichever API knows its type. */
async function describe(
  router: Router,
  groupId: string,
  budget: () => CallOptions,
): Promise<
  | { type: "consumer"; group: ConsumerGroupDescription }
  | { type: "classic" | "unknown"; group: ClassicGroupDescription }
> {
  const consumer = await describeConsumerGroups(router, [groupId], budget())
    .then(([g]) => g, (error) => {
      // A broker before Kafka 3.7 has no consumer groups at all.
      if (error instanceof UnsupportedVersionError) return null;
      throw error;
    });
  if (consumer && consumer.error === null) {
    return { type: "consumer", group: consumer };
  }
  // Kafka 3.7 to 3.9 know the API but answer UNSUPPORTED_VERSION for each
  // group unless their new group coordinator is on: classic groups only.
  if (
    consumer && consumer.error!.code !== ErrorCode.GROUP_ID_NOT_FOUND &&
    consumer.error!.code !== ErrorCode.UNSUPPORTED_VERSION
  ) throw consumer.error;
  const [classic] = await describeGroups(router, [groupId], budget());
  if (classic.error?.code === ErrorCode.GROUP_ID_NOT_FOUND) {
    // A share or streams group is neither a consumer nor a classic group:
    // say so, rather than that it does not exist.
    const { groups } = await listGroups(router, budget());
    const other = groups.find((g) => g.groupId === groupId)?.type;
    if (other === "share" || other === "streams") {
      throw new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, {
        apiName: "DescribeGroups",
        detail: `group "${groupId}" is a ${other} group, not a consumer group${
          other === "share"
            ? ": see shareGroupOffsets and alterShareGroupOffsets"
            : ": see describeStreamsGroups"
        }`,
      });
    }
    // No such group (yet): it may still have offsets to reset.
    return {
      type: "unknown",
      group: { ...classic, state: "Dead", error: null },
    };
  }
  if (classic.error) throw classic.error;
  const unknown = classic.state === "Dead" || classic.state === "";
  return { type: unknown ? "unknown" : "classic", group: classic };
}

/** Owner of each partition: member id, client id and host. */
function owners(
  described: Awaited<ReturnType<typeof describe>>,
): Map<string, { memberId: string; clientId: string; host: string }> {
  const byPartition = new Map<
    string,
    { memberId: string; clientId: string; host: string }
  >();
  if (described.type === "consumer") {
    for (const m of described.group.members) {
      for (const p of m.assignment) {
        byPartition.set(`${p.topic}\0${p.partition}`, {
          memberId: m.memberId,
          clientId: m.clientId,
          host: m.clientHost,
        });
      }
    }
  } else {
    for (const m of described.group.members) {
      for (const p of m.assignedPartitions) {
        byPartition.set(`${p.topic}\0${p.partition}`, {
          memberId: m.memberId,
          clientId: m.clientId,
          host: m.clientHost,
        });
      }
    }
  }
  return byPartition;
}

/**
 * A group's lag per partition: every partition it committed or that a
 * member owns, with the committed offset, the end offset and their
 * difference. Works for classic and consumer (KIP-848) groups.
 */
export async function groupLag(
  router: Router,
  groupId: string,
  options: GroupLagOptions = {},
): Promise<GroupLag> {
  checkGroupId("groupLag", groupId);
  const level = options.isolationLevel ?? "read_uncommitted";
  if (level !== "read_uncommitted" && level !== "read_committed") {
    throw badArgument(
      "groupLag",
      "isolationLevel",
      level,
      `"read_uncommitted" or "read_committed"`,
    );
  }
  const call = router.call(options);
  // What is left of the call, for each request as it starts.
  const budget = () => ({ signal: call.signal, timeout: router.left(call) });
  const [described, committed] = await Promise.all([
    describe(router, groupId, budget),
    offsetFetch(router, groupId, null, budget()),
  ]);
  if (described.type === "unknown" && committed.length === 0) {
    // No state, no member, no offset: the group does not exist. A lag of
    // 0 would read as "caught up" for a misspelt group id.
    throw new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, {
      apiName: "DescribeGroups",
      detail:
        `group "${groupId}" does not exist: it has no members and no committed offsets`,
    });
  }
  const owned = owners(described);
  const keys = new Map<string, TopicPartition>();
  for (const c of committed) {
    keys.set(`${c.topic}\0${c.partition}`, c);
  }
  for (const key of owned.keys()) {
    if (!keys.has(key)) {
      const [topic, partition] = key.split("\0");
      keys.set(key, { topic, partition: Number(partition) });
    }
  }
  const partitions = [...keys.values()]
    .map(({ topic, partition }) => ({ topic, partition }))
    .sort(byTopicPartition);
  const ends = await leaderOffsets(
    router,
    call,
    partitions.map((p) => ({ ...p, at: "latest" as const })),
    level === "read_committed",
  );
  let totalLag = 0;
  const rows = partitions.map((p, i): PartitionLag => {
    const key = `${p.topic}\0${p.partition}`;
    const c = committed.find((x) =>
      x.topic === p.topic && x.partition === p.partition
    );
    const end = ends[i];
    const offset = c && c.error === null ? c.offset : -1;
    const endOffset = end.error === null ? end.offset : -1;
    const lag = offset >= 0 && endOffset >= 0 ? endOffset - offset : null;
    if (lag !== null) totalLag += lag;
    const owner = owned.get(key);
    return {
      topic: p.topic,
      partition: p.partition,
      committed: offset,
      endOffset,
      lag,
      memberId: owner?.memberId ?? null,
      clientId: owner?.clientId ?? null,
      host: owner?.host ?? null,
      error: c?.error ?? end.error,
    };
  });
  return {
    groupId,
    type: described.type,
    state: described.group.state,
    members: described.group.members.length,
    partitions: rows,
    totalLag,
  };
}

/** Checks `options` of resetGroupOffsets. */
function checkReset(options: ResetOffsetsOptions): void {
  const to = options?.to;
  const ok = to === "earliest" || to === "latest" ||
    (to instanceof Date && !Number.isNaN(to.getTime())) || isList(to) ||
    moveOf(to) !== null;
  // { shiftBy: NaN } alone: name the field (its JSON would say null).
  const keys = to !== null && typeof to === "object" && !isList(to)
    ? Object.keys(to)
    : [];
  if (
    !ok && keys.length === 1 && (keys[0] === "shiftBy" || keys[0] === "offset")
  ) {
    throw badArgument(
      "resetGroupOffsets",
      `to.${keys[0]}`,
      (to as Record<string, unknown>)[keys[0]],
      keys[0] === "shiftBy"
        ? "a safe integer (how far to move each committed offset)"
        : "an offset (an integer >= 0)",
    );
  }
  if (!ok) {
    throw badArgument(
      "resetGroupOffsets",
      "to",
      to,
      `"earliest", "latest", a Date, { shiftBy: n }, { offset: n } or an array of { topic, partition, offset }`,
    );
  }
  if (isList(to)) {
    checkPartitions(
      "resetGroupOffsets",
      "to",
      to as readonly (TopicPartition & { offset: number })[],
    );
    const seen = new Map<string, number>();
    (to as readonly (TopicPartition & { offset: unknown })[]).forEach(
      (o, i) => {
        if (!Number.isInteger(o.offset) || (o.offset as number) < 0) {
          throw badArgument(
            "resetGroupOffsets",
            `to[${i}].offset`,
            o.offset,
            "an offset (an integer >= 0)",
          );
        }
        const key = `${o.topic}/${o.partition}`;
        const before = seen.get(key);
        if (before !== undefined) {
          throw new TypeError(
            `resetGroupOffsets: "to[${i}]" names ${key} again ("to[${before}]" did): give each partition one offset`,
          );
        }
        seen.set(key, i);
      },
    );
  }
  if (
    options.topics !== undefined &&
    (!Array.isArray(options.topics) ||
      options.topics.some((t) => typeof t !== "string" || t === ""))
  ) {
    throw badArgument(
      "resetGroupOffsets",
      "topics",
      options.topics,
      "an array of topic names",
    );
  }
  if (options.partitions !== undefined) {
    checkPartitions("resetGroupOffsets", "partitions", options.partitions);
  }
}

/**
 * `{ shiftBy }` (a safe integer) or `{ offset }` (one >= 0), alone, as a
 * move; null for anything else.
 */
function moveOf(
  to: unknown,
): { shiftBy: number } | { offset: number } | null {
  if (to === null || typeof to !== "object" || isList(to)) return null;
  const keys = Object.keys(to);
  if (keys.length !== 1) return null;
  const value = (to as Record<string, unknown>)[keys[0]];
  if (!Number.isSafeInteger(value)) return null;
  if (keys[0] === "shiftBy") return { shiftBy: value as number };
  if (keys[0] === "offset" && (value as number) >= 0) {
    return { offset: value as number };
  }
  return null;
}

/** A partition `to` cannot move: its error names what `to` lacks. */
function unmoved(
  p: TopicPartition,
  shown: unknown,
  expected: string,
): TopicPartition & { offset: number; error: Error } {
  return {
    ...p,
    offset: -1,
    error: badArgument("resetGroupOffsets", "to", shown, expected),
  };
}

/** How a reset moves each partition. */
type Move =
  | { shiftBy: number }
  | { offset: number }
  /** The offset `to` lists for each partition (by index), if any. */
  | { offsets: (number | undefined)[] };

/** The offsets a list `to` gives `partitions`, in their order. */
function listed(to: unknown, partitions: readonly TopicPartition[]): Move {
  const given = to as readonly (TopicPartition & { offset: number })[];
  return {
    offsets: partitions.map((p) =>
      given.find((x) => x.topic === p.topic && x.partition === p.partition)
        ?.offset
    ),
  };
}

/** The partitions a reset moves. */
async function partitionsToReset(
  router: Router,
  groupId: string,
  options: ResetOffsetsOptions,
  call: Call,
): Promise<TopicPartition[]> {
  // What is left of the call, for each request as it starts.
  const budget = () => ({ signal: call.signal, timeout: router.left(call) });
  if (options.partitions) return [...options.partitions];
  if (options.topics) {
    const m = await metadata(router, options.topics, budget());
    return m.topics.flatMap((t) => {
      if (t.error) throw t.error;
      return t.partitions.map((p) => ({
        topic: t.topic,
        partition: p.partition,
      }));
    });
  }
  if (isList(options.to)) {
    return (options.to as readonly TopicPartition[]).map((
      { topic, partition },
    ) => ({
      topic,
      partition,
    }));
  }
  const committed = await offsetFetch(router, groupId, null, budget());
  return committed.map(({ topic, partition }) => ({ topic, partition }));
}

/**
 * Moves a group's committed offsets to the earliest or latest offsets, the
 * first offsets at or after a time, or given offsets. Refuses with
 * NON_EMPTY_GROUP while the group has members: stop its consumers first.
 * With `dryRun`, gives the offsets without committing them.
 */
export async function resetGroupOffsets(
  router: Router,
  groupId: string,
  options: ResetOffsetsOptions,
): Promise<CommitOutcome[]> {
  checkGroupId("resetGroupOffsets", groupId);
  if (options === null || typeof options !== "object") {
    throw badArgument(
      "resetGroupOffsets",
      "options",
      options,
      "an object with `to`",
    );
  }
  checkReset(options);
  const call = router.call(options);
  // What is left of the call, for each request as it starts.
  const budget = () => ({ signal: call.signal, timeout: router.left(call) });
  const described = await describe(router, groupId, budget);
  if (described.group.members.length > 0) {
    throw new KafkaError(ErrorCode.NON_EMPTY_GROUP, {
      apiName: "resetGroupOffsets",
      detail: `group ${
        JSON.stringify(groupId)
      } (${described.type}) is ${described.group.state} with ${described.group.members.length} active member(s) (${
        described.group.members.map((m) => m.clientId).join(", ")
      }). Offsets can only be reset while the group has no members: stop its consumers, then try again`,
    });
  }
  const partitions = await partitionsToReset(router, groupId, options, call);
  if (partitions.length === 0) return [];
  const to = options.to;
  let targets: { topic: string; partition: number; offset: number }[];
  const failures = new Map<number, Error>();
  const move = isList(to) ? listed(to, partitions) : moveOf(to);
  if (move !== null) {
    const found = await moved(router, groupId, partitions, move, call);
    found.forEach((t, i) => {
      if (t.error) failures.set(i, t.error);
    });
    targets = found.map(({ topic, partition, offset }) => ({
      topic,
      partition,
      offset,
    }));
  } else {
    const at = to as "earliest" | "latest" | Date;
    const found = await leaderOffsets(
      router,
      call,
      partitions.map((p) => ({ ...p, at })),
    );
    // No record at or after the time: the end of the log, as the Java tool.
    const missing = found
      .map((f, i) => (f.error === null && f.offset < 0 ? i : -1))
      .filter((i) => i >= 0);
    let ends: ListedOffset[] = [];
    if (missing.length > 0) {
      ends = await leaderOffsets(
        router,
        call,
        missing.map((i) => ({ ...partitions[i], at: "latest" as const })),
      );
    }
    targets = found.map((f, i) => {
      const k = missing.indexOf(i);
      const o = k >= 0 ? ends[k] : f;
      if (o.error) failures.set(i, o.error);
      return { ...partitions[i], offset: Math.max(0, o.offset) };
    });
  }
  const commit = targets.filter((_, i) => !failures.has(i));
  const outcomes = options.dryRun || commit.length === 0
    ? commit.map((t) => ({ ...t, error: null }))
    : await offsetCommit(router, groupId, commit, budget());
  return targets.map((t, i) =>
    failures.has(i)
      ? {
        topic: t.topic,
        partition: t.partition,
        offset: t.offset,
        error: failures.get(i)!,
      }
      : outcomes.find((o) =>
        o.topic === t.topic && o.partition === t.partition
      )!
  );
}

/**
 * The offsets of `{ shiftBy }` (from each committed offset), `{ offset }` or
 * a list's, each kept within its partition's log, with the error of a
 * partition whose offsets cannot be told.
 */
async function moved(
  router: Router,
  groupId: string,
  partitions: readonly TopicPartition[],
  move: Move,
  call: Call,
): Promise<(TopicPartition & { offset: number; error?: Error })[]> {
  const budget = () => ({ signal: call.signal, timeout: router.left(call) });
  const [earliest, latest, committed] = await Promise.all([
    leaderOffsets(
      router,
      call,
      partitions.map((p) => ({ ...p, at: "earliest" as const })),
    ),
    leaderOffsets(
      router,
      call,
      partitions.map((p) => ({ ...p, at: "latest" as const })),
    ),
    "shiftBy" in move
      ? offsetFetch(router, groupId, partitions, budget())
      : Promise.resolve([]),
  ]);
  return partitions.map((p, i) => {
    const first = earliest[i];
    const end = latest[i];
    const failed = first.error ?? end.error;
    if (failed) return { ...p, offset: -1, error: failed };
    let offset: number;
    if ("shiftBy" in move) {
      const c = committed.find((x) =>
        x.topic === p.topic && x.partition === p.partition
      );
      if (c?.error) return { ...p, offset: -1, error: c.error };
      if (c === undefined || c.offset < 0) {
        return unmoved(
          p,
          move,
          `a committed offset of ${p.topic}/${p.partition} to shift (it has none: reset it to "earliest", "latest" or an offset first)`,
        );
      }
      offset = c.offset + move.shiftBy;
    } else if ("offset" in move) {
      offset = move.offset;
    } else {
      const given = move.offsets[i];
      if (given === undefined) {
        return unmoved(
          p,
          `${p.topic}/${p.partition}`,
          "an offset for every partition to reset",
        );
      }
      offset = given;
    }
    // As the Java tool: outside the log, the nearest end of it.
    return {
      ...p,
      offset: Math.min(Math.max(offset, first.offset), end.offset),
    };
  });
}
