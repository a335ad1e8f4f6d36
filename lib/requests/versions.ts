/**
 * Features that a request carries only from some version on. Below it the
 * codecs refuse the field (unless Kafka's spec marks it ignorable), and the
 * broker would do something else than asked (an unfiltered list, a
 * preferred election for an unclean one, a producer id unchecked), so the
 * call fails first, naming the feature, the version it needs and the release
 * that brought it, as Java's clients do.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { UnsupportedVersionError } from "../connection/errors.ts";
import type { Api } from "../protocol/api.ts";
import { CreateTopics } from "../protocol/messages/create_topics.ts";

/**
 * The error for a feature that `api` has from version `min` on, where the
 * broker (`who`: "Broker h:p", or a coordinator) serves at most `version`:
 * "`who` does not support `feature` (`Api` v`min`, `since`): it offers
 * `Api` up to v`version`", then `; hint` if given.
 *
 * @param since the release or KIP that brought it, e.g. "Kafka 2.4 or later, KIP-460"
 */
export function unsupportedAt(
  who: string,
  // deno-lint-ignore no-explicit-any
  api: Api<any, any>,
  version: number,
  min: number,
  feature: string,
  since: string,
  hint?: string,
): UnsupportedVersionError {
  return new UnsupportedVersionError(
    `${who} does not support ${feature} (${api.name} v${min}, ${since}): it offers ${api.name} up to v${version}${
      hint ? `; ${hint}` : ""
    }`,
  );
}

/**
 * Throws `unsupportedAt`'s error unless `conn` serves `api` at `min` or
 * later; returns the version it serves.
 */
export function requireVersion(
  conn: BrokerConnection,
  // deno-lint-ignore no-explicit-any
  api: Api<any, any>,
  min: number,
  feature: string,
  since: string,
  hint?: string,
): number {
  const version = conn.pickVersion(api);
  if (version < min) {
    throw unsupportedAt(
      `Broker ${conn.address}`,
      api,
      version,
      min,
      feature,
      since,
      hint,
    );
  }
  return version;
}

/**
 * Throws unless `conn` takes -1 for a new topic's partitions or
 * replication factor (the broker's default), as `topic` asks: CreateTopics
 * v4 (Kafka 2.4, KIP-464). An older broker answers "Number of partitions
 * must be larger than 0", naming nothing the caller set.
 */
export function requireTopicDefaults(
  conn: BrokerConnection,
  topic: string,
): void {
  requireVersion(
    conn,
    CreateTopics,
    4,
    "the broker's default partitions or replication factor",
    "Kafka 2.4 or later, KIP-464",
    `give topic "${topic}" a numPartitions and a replicationFactor`,
  );
}
