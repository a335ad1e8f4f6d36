/**
 * Broker ids in admin calls: the ids the cluster lists, and the error for
 * an id it does not list, given at once rather than after the call's
 * timeout (a broker that is not in the cluster will not answer).
 *
 * @module
 */

import { type Call, itemError, type Router } from "../cluster/route.ts";
import { ErrorCode, type KafkaError } from "../protocol/errors.ts";
import { badArgument } from "../requests/arguments.ts";

/** The ids of the brokers the cluster lists now. */
export async function brokerIds(router: Router, call: Call): Promise<number[]> {
  const brokers = await router.retry(
    call,
    () => router.within(call, "Listing the brokers", router.cluster.brokers()),
  );
  return brokers.map((b) => b.id);
}

/**
 * BROKER_NOT_AVAILABLE for a broker id the cluster does not list (not
 * worth waiting for), or null.
 */
export function notListed(
  broker: number,
  known: readonly number[],
  apiName: string,
): KafkaError | null {
  if (known.includes(broker)) return null;
  return itemError(
    ErrorCode.BROKER_NOT_AVAILABLE,
    `broker ${broker} is not in the cluster (its brokers: ${known.join(", ")})`,
    { apiName },
  );
}

/** Throws the TypeError of `badArgument` unless `id` is a broker id. */
export function checkBrokerId(method: string, at: string, id: unknown): void {
  if (!Number.isInteger(id) || (id as number) < 0) {
    throw badArgument(method, at, id, "a broker id (an integer >= 0)");
  }
}

/**
 * Throws BROKER_NOT_AVAILABLE at once unless the cluster lists `broker`
 * (after checking it is a broker id).
 */
export async function requireListed(
  router: Router,
  call: Call,
  method: string,
  broker: number,
  apiName: string,
): Promise<void> {
  checkBrokerId(method, "broker", broker);
  const missing = notListed(broker, await brokerIds(router, call), apiName);
  if (missing !== null) throw missing;
}
