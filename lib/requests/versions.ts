/**
 * Features that a request carries only from some version on. Below it the
 * codecs leave the field out, and the broker would do something else than
 * asked (an unfiltered list, a preferred election for an unclean one, a
 * producer id unchecked) without a word, so the call fails instead, naming
 * the version it needs, as Java's clients do.
 *
 * @module
 */

import type { BrokerConnection } from "../connection/connection.ts";
import { UnsupportedVersionError } from "../connection/errors.ts";
import type { Api } from "../protocol/api.ts";

/**
 * Throws an UnsupportedVersionError unless `conn` serves `api` at `min` or
 * later: "Broker h:p does not support `feature` (`Api` v`min`, `since`):
 * it offers `Api` up to v`n`". Returns the version it serves.
 *
 * @param since the release or KIP that brought it, e.g. "Kafka 2.4 or later, KIP-460"
 */
export function requireVersion(
  conn: BrokerConnection,
  // deno-lint-ignore no-explicit-any
  api: Api<any, any>,
  min: number,
  feature: string,
  since: string,
): number {
  const version = conn.pickVersion(api);
  if (version < min) {
    throw new UnsupportedVersionError(
      `Broker ${conn.address} does not support ${feature} (${api.name} v${min}, ${since}): it offers ${api.name} up to v${version}`,
    );
  }
  return version;
}
