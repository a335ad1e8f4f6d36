/**
 * The idempotent producer's identity: one producer id and epoch from
 * InitProducerId, asked for once and shared by every partition, and given
 * up for a new one when a partition's sequence can no longer be known.
 *
 * @module
 */

import type { Cluster } from "../cluster/cluster.ts";
import { retry, type RetryOptions } from "../cluster/retry.ts";
import { ErrorCode, KafkaError, throwIfError } from "../protocol/errors.ts";
import { InitProducerId } from "../protocol/messages/init_producer_id.ts";

/** A producer id and its epoch, as InitProducerId returned them. */
export interface ProducerId {
  producerId: number;
  producerEpoch: number;
}

/** What the identity needs from its Writer. */
export interface IdentitySettings {
  cluster: Cluster;
  /** true: required; false: off; undefined: used when the broker has it. */
  idempotent: boolean | undefined;
  /** The retry policy until `deadline`, for the InitProducerId request. */
  retryOptions: (what: string, deadline: number) => RetryOptions;
  log: (message: string) => void;
}

/** The producer id every batch is stamped with, or null when not idempotent. */
export class ProducerIdentity {
  private readonly settings: IdentitySettings;
  private current: Promise<ProducerId | null> | null = null;

  constructor(settings: IdentitySettings) {
    this.settings = settings;
  }

  /**
   * The producer id, asked for on first use (retried until `deadline`);
   * null when idempotence is off or the broker lacks it and it was not
   * required.
   */
  get(deadline: number): Promise<ProducerId | null> {
    if (this.current === null) {
      const asking = this.init(deadline);
      this.current = asking;
      // A failed request is asked again by the next batch.
      asking.catch(() => {
        if (this.current === asking) this.current = null;
      });
    }
    return this.current;
  }

  /**
   * Gives up the id: a batch may have been written without our hearing of
   * it, so its partition's next sequence number is unknown. The next batch
   * asks for a new id, which starts every partition's sequence at 0.
   */
  reset(): void {
    this.current = null;
  }

  private async init(deadline: number): Promise<ProducerId | null> {
    if (this.settings.idempotent === false) return null;
    // A fresh broker answers COORDINATOR_LOAD_IN_PROGRESS for a while.
    return await retry(
      () => this.request(),
      this.settings.retryOptions("InitProducerId", deadline),
    );
  }

  private async request(): Promise<ProducerId | null> {
    const conn = await this.settings.cluster.anyConnection("produce");
    if (!conn.apiVersions().some((v) => v.apiKey === InitProducerId.key)) {
      if (this.settings.idempotent) {
        throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, {
          apiName: "InitProducerId",
          detail:
            `broker ${conn.address} does not support idempotent producers`,
        });
      }
      return null;
    }
    const response = await conn.request(InitProducerId, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    throwIfError(response.errorCode, { apiName: "InitProducerId" });
    this.settings.log(
      `kafka writer: idempotent producer id ${response.producerId}, epoch ${response.producerEpoch}`,
    );
    return {
      producerId: response.producerId,
      producerEpoch: response.producerEpoch,
    };
  }
}
