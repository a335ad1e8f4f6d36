/**
 * The raw Kafka protocol, for users who need a request the high-level API
 * does not wrap: for every API a client sends to a broker, its request
 * encoder and response decoder (generated from Kafka's message specs, at
 * every version); the consumer protocol's subscription and assignment codecs
 * (`encodeConsumerProtocolSubscription` and friends); the byte primitives,
 * record batches and the error table.
 *
 * @example Send a raw request on a Conn's connection
 * ```ts
 * import { dial } from "jsr:@streamkafka/client";
 * import { DescribeCluster } from "jsr:@streamkafka/client/protocol";
 *
 * const conn = await dial("localhost:9092");
 * const cluster = await conn.raw.request(DescribeCluster, {});
 * console.log(cluster.clusterId);
 * conn.close();
 * ```
 *
 * @module
 */

export * from "./messages/mod.ts";
export { type Api, type Encodable, UnsupportedVersionError } from "./api.ts";
export {
  ByteReader,
  ByteWriter,
  ProtocolError,
  TruncatedError,
  ZERO_UUID,
} from "./bytes.ts";
export {
  type BatchOptions,
  type CompressFn,
  Compression,
  encodeRecordBatch,
  type Record,
  RecordBatchBuilder,
  type RecordHeader,
  type RecordInput,
} from "./records.ts";
export {
  decodeRecords,
  type RecordBatch,
  splitBatches,
  verifyBatchCrc,
} from "./record_batch.ts";
export {
  type AbortedTransaction,
  type Decompress,
  readRecords,
  type ReadRecordsOptions,
  type ReadRecordsResult,
} from "./read_records.ts";
export { crc32, crc32c } from "./crc32c.ts";
export {
  ErrorCode,
  type ErrorCodes,
  type ErrorInfo,
  type ErrorName,
  errorName,
  ERRORS,
  isRetriable,
  KafkaError,
  type KafkaErrorContext,
} from "./errors.ts";
