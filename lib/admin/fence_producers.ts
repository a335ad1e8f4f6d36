/**
 * Fencing transactional producers from outside (Java's `fenceProducers`):
 * InitProducerId for each transactional id bumps its epoch, so the
 * producer that holds it now fails its next request (PRODUCER_FENCED) and
 * its open transaction is aborted. For taking over a transactional id
 * whose owner is stuck or unreachable, before a new one starts with it.
 *
 * @module
 */

import {
  type CallOptions,
  itemFailure,
  type Router,
} from "../cluster/route.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { initProducerId } from "../requests/transactions.ts";
import { badArgument, checkList } from "../requests/arguments.ts";

/**
 * The outcome for one transactional id.
 *
 * @example
 * ```ts
 * import type { FencedProducer } from "./fence_producers.ts";
 *
 * const f: FencedProducer = { transactionalId: "tx-1", producerId: 7, producerEpoch: 3, error: null };
 * console.log(f.producerEpoch);
 * ```
 */
export interface FencedProducer {
  /** The transactional id. */
  transactionalId: string;
  /** The id's producer id, -1 when it failed. */
  producerId: number;
  /** Its epoch now, above the fenced producer's; -1 when it failed. */
  producerEpoch: number;
  /** Why it could not be fenced, or null. */
  error: KafkaError | null;
}

/** Fences the producers of these transactional ids; one result each, in order. */
export async function fenceProducers(
  router: Router,
  transactionalIds: readonly string[],
  options: CallOptions = {},
): Promise<FencedProducer[]> {
  const m = "fenceProducers";
  checkList(
    m,
    "transactionalIds",
    transactionalIds,
    "an array of transactional ids",
  );
  transactionalIds.forEach((id, i) => {
    if (typeof id !== "string" || id === "") {
      throw badArgument(m, `transactionalIds[${i}]`, id, "a transactional id");
    }
  });
  const call = router.call(options);
  return await Promise.all(transactionalIds.map(async (transactionalId) => {
    try {
      const { producerId, producerEpoch } = await initProducerId(
        router,
        { transactionalId },
        { signal: options.signal, timeout: router.left(call) },
      );
      return { transactionalId, producerId, producerEpoch, error: null };
    } catch (error) {
      return {
        transactionalId,
        producerId: -1,
        producerEpoch: -1,
        error: itemFailure(error, call, { apiName: "InitProducerId" }),
      };
    }
  }));
}
