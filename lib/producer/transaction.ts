/**
 * A transactional Writer's transactions (KIP-98): the producer id its
 * transactional id holds, the partitions and group offsets each
 * transaction takes in, and how a transaction ends.
 *
 * One transaction is open at a time. Before a partition's first batch is
 * sent, the partition is added to the transaction (AddPartitionsToTxn,
 * one request for the partitions that ask in the same turn). A failed
 * write makes the transaction abort-only; a newer Writer with the same
 * transactional id fences this one, for good.
 *
 * The requests are the ones the admin Client sends (`requests/transactions.ts`), sent to
 * the transactional id's coordinator and retried while it moves, loads or
 * finishes the previous transaction.
 *
 * @module
 */

import { Router } from "../cluster/route.ts";
import {
  addOffsetsToTxn,
  addPartitionsToTxn,
  endTxn,
  initProducerId,
  type TxnOffset,
  txnOffsetCommit,
} from "../requests/transactions.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ClosedError } from "../connection/errors.ts";
import {
  checkNumber,
  checkOptionNames,
  describeValue,
  optionNames,
} from "../options.ts";
import { INT32_MAX } from "./options.ts";
import type { ProducerId } from "./idempotence.ts";
import { type GroupMetadata, partitionsText } from "../message.ts";
export type { GroupMetadata } from "../message.ts";

/**
 * A consumed position to commit with a transaction: `offset` is the next
 * offset to read, the last processed message's offset + 1.
 *
 * @example
 * ```ts
 * import type { TransactionOffset } from "jsr:@streamkafka/client";
 *
 * const processed = { topic: "orders", partition: 0, offset: 41 };
 * const next: TransactionOffset = { ...processed, offset: processed.offset + 1 };
 * console.log(next.offset); // 42
 * ```
 */
export interface TransactionOffset {
  /** The topic read. */
  topic: string;
  /** The partition read. */
  partition: number;
  /** The next offset to read: the last processed + 1. */
  offset: number;
  /** Text kept with the offset (default ""). */
  metadata?: string | undefined;
}

/**
 * Errors after which the transactional id is no longer this Writer's. A
 * Produce answered INVALID_PRODUCER_EPOCH is not among them: the
 * coordinator bumped the epoch because the transaction timed out
 * (KIP-588), and the Writer can abort it and go on with a new epoch.
 */
const FATAL = new Set<number>([
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ErrorCode.INVALID_TXN_STATE,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.UNSUPPORTED_VERSION,
]);

/** What the transactions need from their Writer. */
export interface TransactionSettings {
  cluster: Cluster;
  transactionalId: string;
  /** The coordinator's timeout for an open transaction, in ms. */
  transactionTimeout: number;
  /** Milliseconds one coordinator call may take, retries included. */
  callTimeout: number;
  log: (message: string) => void;
}

/** The transactions of one Writer, and the producer id they use. */
export class Transactions {
  private readonly settings: TransactionSettings;
  private readonly router: Router;
  private producerId: ProducerId | null = null;
  /**
   * "idle": no transaction; "beginning": asking for the producer id;
   * "open"; "ending": being committed or aborted.
   */
  private state: "idle" | "beginning" | "open" | "ending" = "idle";
  /** Whether the transaction being ended is aborted (its unsent batches dropped). */
  aborting = false;
  /** The failure that leaves the open transaction only abortable. */
  private abortable: Error | null = null;
  /** The failure that ended this Writer's transactions for good. */
  private fatal: Error | null = null;
  /** Partitions in the open transaction, "topic\0partition". */
  private readonly added = new Set<string>();
  /** Partitions being added, and the request adding them. */
  private readonly adding = new Map<string, Promise<void>>();
  private gathered: { topic: string; partition: number }[] = [];
  /** Whether the open transaction took in group offsets. */
  private offsetsAdded = false;
  /** Whether the epoch must be bumped before the next transaction (KIP-360). */
  private bump = false;

  constructor(settings: TransactionSettings) {
    this.settings = settings;
    // The next transaction's first request usually meets the previous
    // one still writing its markers (CONCURRENT_TRANSACTIONS) for a few
    // ms: ask again within 2 ms, doubling, rather than after 100.
    this.router = new Router(
      settings.cluster,
      settings.callTimeout,
      "produce",
      {
        min: 2,
        max: 1000,
      },
    );
  }

  /** Whether a transaction is open (not idle, not failed for good). */
  get isOpen(): boolean {
    return this.state === "open" && this.fatal === null;
  }

  /** The transactional id. */
  get id(): string {
    return this.settings.transactionalId;
  }

  /** The producer id and epoch the open transaction's batches carry. */
  producer(): ProducerId {
    if (this.producerId === null) {
      throw new Error("no producer id: no transaction was begun");
    }
    return this.producerId;
  }

  /**
   * Throws unless writes may join a transaction now: one is open, not
   * ending, and nothing failed for good. `what` names the caller.
   */
  checkWritable(what: string): void {
    this.checkUsable(what);
    if (this.state === "idle") {
      throw new TypeError(
        `Cannot ${what}: the Writer has transactionalId "${this.id}", so writes go in a transaction; call beginTransaction() first`,
      );
    }
    if (this.state === "beginning") {
      throw new TypeError(
        `Cannot ${what}: the transaction is still beginning; await beginTransaction() first`,
      );
    }
    if (this.state === "ending") {
      throw new TypeError(
        `Cannot ${what}: the transaction is being ${
          this.aborting ? "aborted" : "committed"
        }; begin the next one when that call resolves`,
      );
    }
    if (this.abortable) {
      throw this.abortOnly(what, this.abortable);
    }
  }

  /** The error of a call that an abort-only transaction refuses. */
  private abortOnly(what: string, cause: Error): KafkaError {
    return new KafkaError(ErrorCode.TRANSACTION_ABORTABLE, {
      apiName: what,
      detail:
        `part of this transaction failed (${cause.message}); call abortTransaction()`,
      cause,
    });
  }

  /** Throws the error that fenced this Writer, if one did. */
  private checkUsable(what: string): void {
    if (this.fatal) {
      throw new KafkaError(
        this.fatal instanceof KafkaError
          ? this.fatal.code
          : ErrorCode.UNKNOWN_SERVER_ERROR,
        {
          apiName: what,
          detail:
            `transactional id "${this.id}" can no longer be used by this Writer (${this.fatal.message}); close it and create a new one`,
          cause: this.fatal,
        },
      );
    }
  }

  /**
   * Begins a transaction; the first one asks the coordinator for the
   * producer id (which aborts what an earlier holder of the id left open).
   */
  async begin(): Promise<void> {
    this.checkUsable("beginTransaction");
    if (this.state !== "idle") {
      throw new TypeError(
        `Cannot beginTransaction: a transaction is already ${this.state}; ${
          this.state === "open" ? "commit or abort it" : "await that call"
        } first`,
      );
    }
    this.state = "beginning";
    try {
      if (this.producerId === null || this.bump) await this.init();
    } catch (error) {
      this.state = "idle";
      throw this.raise(error, "beginTransaction");
    }
    this.state = "open";
    this.abortable = null;
    this.offsetsAdded = false;
    this.added.clear();
  }

  private async init(): Promise<void> {
    const held = this.producerId;
    const producer = await initProducerId(this.router, {
      transactionalId: this.id,
      transactionTimeoutMs: this.settings.transactionTimeout,
      // After a lost sequence, the same id with its epoch bumped (KIP-360).
      producerId: held?.producerId ?? -1,
      producerEpoch: held?.producerEpoch ?? -1,
    });
    this.producerId = producer;
    this.bump = false;
    this.settings.log(
      `kafka writer: transactional id "${this.id}": producer id ${producer.producerId}, epoch ${producer.producerEpoch}`,
    );
  }

  /**
   * Adds a partition to the open transaction before its first batch goes
   * out; null when it is in already. Partitions asking in the same turn
   * share one request.
   */
  add(topic: string, partition: number): Promise<void> | null {
    const key = `${topic}\0${partition}`;
    if (this.added.has(key)) return null;
    const pending = this.adding.get(key);
    if (pending) return pending;
    if (this.gathered.length === 0) {
      const batch = this.gathered;
      const sent = Promise.resolve().then(() => this.addGathered(batch));
      // Each partition's caller awaits its own promise below.
      sent.catch(() => {});
      this.adding.set(key, sent);
      this.gathered.push({ topic, partition });
      return sent;
    }
    // Joins the request the first caller of this turn scheduled.
    const [first] = this.gathered;
    const shared = this.adding.get(`${first.topic}\0${first.partition}`)!;
    this.adding.set(key, shared);
    this.gathered.push({ topic, partition });
    return shared;
  }

  private async addGathered(
    partitions: { topic: string; partition: number }[],
  ): Promise<void> {
    if (this.gathered === partitions) this.gathered = [];
    try {
      const producer = this.producer();
      const results = await (
        addPartitionsToTxn(this.router, {
          transactionalId: this.id,
          ...producer,
          partitions,
        })
      );
      const failed = results.find((r) => r.error !== null);
      if (failed) throw failed.error;
      for (const { topic, partition } of partitions) {
        this.added.add(`${topic}\0${partition}`);
      }
    } catch (error) {
      throw this.raise(error, "writeMessages");
    } finally {
      for (const { topic, partition } of partitions) {
        this.adding.delete(`${topic}\0${partition}`);
      }
    }
  }

  /**
   * Commits consumed offsets with the open transaction: they count only if
   * it commits (AddOffsetsToTxn, then TxnOffsetCommit to the group's
   * coordinator).
   */
  async sendOffsets(
    offsets: readonly TransactionOffset[],
    group: GroupMetadata,
  ): Promise<void> {
    this.checkWritable("sendOffsets");
    if (offsets.length === 0) return;
    // Before anything is sent: the coordinator's refusal of one offset
    // would leave the whole transaction to abort.
    await this.checkPartitionsExist(offsets);
    const producer = this.producer();
    try {
      if (!this.offsetsAdded) {
        await (
          addOffsetsToTxn(this.router, {
            transactionalId: this.id,
            ...producer,
            groupId: group.groupId,
          })
        );
        this.offsetsAdded = true;
      }
      const results = await (
        txnOffsetCommit(this.router, {
          transactionalId: this.id,
          ...producer,
          groupId: group.groupId,
          generationId: group.generationId,
          memberId: group.memberId,
          groupInstanceId: group.groupInstanceId,
          offsets: offsets.map((o): TxnOffset => ({
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
            metadata: o.metadata ?? "",
          })),
        })
      );
      const failed = results.find((r) => r.error !== null);
      if (failed) throw failed.error;
    } catch (error) {
      throw this.raise(error, "sendOffsets");
    }
  }

  /**
   * Throws a RangeError naming the first offset whose topic or partition
   * the cluster does not have (after refreshing its metadata once), with
   * nothing sent: the transaction can still commit.
   */
  private async checkPartitionsExist(
    offsets: readonly TransactionOffset[],
  ): Promise<void> {
    const cluster = this.router.cluster;
    const counts = new Map<string, number>();
    const countOf = async (topic: string, fresh: boolean) => {
      try {
        const info = await cluster.topic(topic, fresh ? { maxAge: 0 } : {});
        return info.partitions.length;
      } catch (error) {
        if (
          error instanceof KafkaError &&
          error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        ) return 0;
        throw error;
      }
    };
    for (let i = 0; i < offsets.length; i++) {
      const { topic, partition } = offsets[i];
      let count = counts.get(topic) ?? await countOf(topic, false);
      // A partition or topic created since the metadata was read.
      if (partition >= count) count = await countOf(topic, true);
      counts.set(topic, count);
      if (partition < count) continue;
      throw new RangeError(
        `Cannot sendOffsets: "offsets[${i}]" names ${
          count === 0
            ? `topic "${topic}", which the cluster does not have`
            : `partition ${partition}, not a partition of topic "${topic}" ${
              partitionsText(count)
            }`
        }; nothing was sent, and the transaction can still commit`,
      );
    }
  }

  /**
   * Marks the start of the end: new writes are refused from now on. Throws
   * when there is no open transaction to end.
   */
  startEnding(commit: boolean): void {
    const what = commit ? "commitTransaction" : "abortTransaction";
    this.checkUsable(what);
    if (this.state !== "open") {
      throw new TypeError(
        `Cannot ${what}: ${
          this.state === "idle"
            ? "no transaction is open; call beginTransaction() first"
            : "the transaction is already being ended"
        }`,
      );
    }
    if (commit && this.abortable) {
      throw this.abortOnly(what, this.abortable);
    }
    this.state = "ending";
    this.aborting = !commit;
  }

  /**
   * Ends the transaction once its batches settled (EndTxn; nothing to send
   * when it took in nothing). A commit that a failed write spoiled throws,
   * and leaves the transaction open for `abortTransaction`.
   */
  async end(commit: boolean): Promise<void> {
    const what = commit ? "commitTransaction" : "abortTransaction";
    try {
      if (commit && this.abortable) {
        throw this.abortOnly(what, this.abortable);
      }
      this.checkUsable(what);
      if (this.added.size > 0 || this.offsetsAdded) {
        const producer = this.producer();
        try {
          // Kafka 4's transaction.version 2 gives a new epoch for the next one.
          this.producerId = await endTxn(this.router, {
            transactionalId: this.id,
            ...producer,
            committed: commit,
          });
        } catch (error) {
          if (!(this.timedOutAbort(commit, error))) {
            throw this.raise(error, what);
          }
        }
      }
    } catch (error) {
      // Still open: a failed commit can be aborted, a failed abort tried again.
      if (!this.fatal) this.state = "open";
      this.aborting = false;
      throw error;
    }
    this.state = "idle";
    this.aborting = false;
    this.added.clear();
    this.offsetsAdded = false;
    this.abortable = null;
    this.settings.log(
      `kafka writer: transaction of "${this.id}" ${
        commit ? "committed" : "aborted"
      }`,
    );
  }

  /**
   * Records a failure of a call (see `failed`) and returns what the call
   * throws: when it ended the Writer's transactions, an error that says so.
   */
  private raise(error: unknown, what: string): Error {
    const cause = this.failed(error);
    try {
      this.checkUsable(what);
    } catch (fenced) {
      return fenced as Error;
    }
    return cause;
  }

  /**
   * Whether a failed EndTxn was an abort of a transaction the coordinator
   * had aborted already, when it timed out: Kafka 3 answers it with
   * PRODUCER_FENCED (Kafka 4 accepts it). The next begin bumps the epoch,
   * or learns then that the Writer was fenced indeed.
   */
  private timedOutAbort(commit: boolean, error: unknown): boolean {
    if (commit || !this.bump || !(error instanceof KafkaError)) return false;
    return error.code === ErrorCode.PRODUCER_FENCED ||
      error.code === ErrorCode.INVALID_PRODUCER_EPOCH;
  }

  /**
   * Records a failure of the open transaction's work: fatal ones end the
   * Writer's transactions, others make the transaction abort-only. Returns
   * the error to throw.
   */
  failed(error: unknown, fromProduce = false): Error {
    const cause = error instanceof Error ? error : new Error(String(error));
    const code = cause instanceof KafkaError ? cause.code : 0;
    if (fromProduce && code === ErrorCode.INVALID_PRODUCER_EPOCH) {
      // Timed out and aborted by the coordinator: abort, then a new epoch.
      this.bump = true;
      this.abortable ??= new KafkaError(code, {
        apiName: "Produce",
        detail:
          `the coordinator aborted the transaction, probably because it ran longer than transactionTimeout (${this.settings.transactionTimeout} ms)`,
        cause,
      });
    } else if (FATAL.has(code)) {
      this.fatal ??= cause;
    } else if (this.state !== "idle") {
      this.abortable ??= cause;
    }
    return cause;
  }

  /**
   * A batch's sequence numbers may have been taken without our knowing:
   * the epoch is bumped before the next transaction, which restarts every
   * partition's sequence.
   */
  sequenceLost(): void {
    this.bump = true;
  }
}

/** The error of a message an aborted transaction dropped before sending it. */
export function abortedError(transactionalId: string): ClosedError {
  return new ClosedError(
    `The transaction of "${transactionalId}" was aborted before this message was sent`,
  );
}

/** The fields of an offset given to sendOffsets. */
const OFFSET_FIELDS = optionNames<TransactionOffset>()(
  "topic",
  "partition",
  "offset",
  "metadata",
);

/** The offsets given to sendOffsets, checked. */
export function checkOffsets(
  offsets: readonly TransactionOffset[],
): readonly TransactionOffset[] {
  if (!Array.isArray(offsets)) {
    throw new TypeError(
      `Cannot sendOffsets: "offsets" must be an array of { topic, partition, offset }, got ${
        describeValue(offsets)
      }`,
    );
  }
  offsets.forEach((o, i) => {
    const at = `Cannot sendOffsets: "offsets[${i}]`;
    if (o === null || typeof o !== "object") {
      throw new TypeError(
        `${at}" must be { topic, partition, offset }, got ${describeValue(o)}`,
      );
    }
    if (typeof o.topic !== "string" || o.topic === "") {
      throw new TypeError(
        `${at}.topic" must be a non-empty string, got ${
          describeValue(o.topic)
        }`,
      );
    }
    checkOptionNames(
      `Cannot sendOffsets: "offsets[${i}]"`,
      o,
      OFFSET_FIELDS,
      {},
      "field",
    );
    checkNumber("Cannot sendOffsets", `offsets[${i}].partition`, o.partition, {
      min: 0,
      max: INT32_MAX,
      required: true,
    });
    checkNumber("Cannot sendOffsets", `offsets[${i}].offset`, o.offset, {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      required: true,
    });
    if (o.metadata !== undefined && typeof o.metadata !== "string") {
      throw new TypeError(
        `${at}.metadata" must be a string, got ${describeValue(o.metadata)}`,
      );
    }
  });
  return offsets;
}

/** The group given to sendOffsets: an id, or a group Reader's metadata. */
export function checkGroup(group: GroupMetadata | string): GroupMetadata {
  if (typeof group === "string" && group !== "") {
    return {
      groupId: group,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
    };
  }
  if (
    group !== null && typeof group === "object" &&
    typeof group.groupId === "string" && group.groupId !== "" &&
    Number.isInteger(group.generationId) && typeof group.memberId === "string"
  ) {
    return group;
  }
  throw new TypeError(
    `Cannot sendOffsets: "group" must be a group id or reader.groupMetadata(), got ${
      describeValue(group)
    }`,
  );
}
