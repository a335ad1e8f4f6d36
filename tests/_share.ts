/**
 * Helpers of the share-group tests: a share group that starts at the
 * beginning of each partition, ShareReaders on it, and ways to read them.
 *
 * @module
 */

import {
  type ShareMessage,
  ShareReader,
  type ShareReaderOptions,
} from "../mod.ts";
import { BROKER, sleep, uniqueTopic } from "./_helpers.ts";
import { setGroupConfig } from "./_group.ts";

const text = new TextDecoder();

/** A message's value as text. */
export const valueOf = (m: ShareMessage): string => text.decode(m.value!);

/**
 * A share group that starts at the beginning of each partition, with
 * quick heartbeats (the first assignment comes with the second one).
 */
export async function newShareGroup(
  configs: Record<string, string> = {},
): Promise<string> {
  const groupId = uniqueTopic("sg");
  await setGroupConfig(groupId, {
    "share.auto.offset.reset": "earliest",
    "share.heartbeat.interval.ms": "200",
    ...configs,
  });
  return groupId;
}

/** A ShareReader of `topic` in `groupId`, answering within 200 ms. */
export function shareReader(
  groupId: string,
  topic: string,
  options: Partial<ShareReaderOptions> = {},
): ShareReader {
  return new ShareReader({
    brokers: [BROKER],
    groupId,
    topics: [topic],
    maxWait: 200,
    ...options,
  });
}

/** Reads with `for await` into `seen` until the reader is closed. */
export async function drain(
  reader: ShareReader,
  seen: ShareMessage[],
): Promise<void> {
  for await (const m of reader) seen.push(m);
}

/** Reads `n` messages with a stream reader (no loop end to accept the last). */
export async function readN(
  reader: ShareReader,
  n: number,
): Promise<ShareMessage[]> {
  const r = reader.getReader();
  const out: ShareMessage[] = [];
  try {
    while (out.length < n) {
      const { value, done } = await r.read();
      if (done) break;
      out.push(value);
    }
  } finally {
    r.releaseLock();
  }
  return out;
}

/**
 * What a new member of the group reads within `ms`, and after that until
 * `enough` accepts what it read (for up to 30 s more): joining and the first
 * fetches take longer on a slow broker. Without `enough`, within `ms` only
 * (where nothing should come).
 */
export async function readFor(
  groupId: string,
  topic: string,
  ms: number,
  enough: (seen: ShareMessage[]) => boolean = () => true,
): Promise<ShareMessage[]> {
  const reader = shareReader(groupId, topic);
  const seen: ShareMessage[] = [];
  const reading = drain(reader, seen);
  await sleep(ms);
  const deadline = Date.now() + 30_000;
  while (!enough(seen) && Date.now() < deadline) await sleep(50);
  await reader.close();
  await reading;
  return seen;
}

/**
 * What a new member of `groupId` is handed within 2 s: nothing, once every
 * record of `topic` was accepted.
 */
export async function leftIn(
  groupId: string,
  topic: string,
): Promise<string[]> {
  const late = shareReader(groupId, topic);
  const left: string[] = [];
  const draining = (async () => {
    for await (const m of late) left.push(valueOf(m));
  })();
  await sleep(2000);
  await late.close();
  await draining;
  return left;
}
