/**
 * kafkajs's transactional producer for `bench/transactions.ts`:
 * `node bench/clients/kafkajs_txn.ts <broker> <topic> <perTxn> <txns>`.
 * Prints one JSON line: milliseconds and CPU microseconds of the timed
 * transactions (after one to warm up).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import { Kafka, logLevel } from "kafkajs";

const [broker, topic, perTxn, txns] = process.argv.slice(2);
const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING });
const producer = kafka.producer({
  transactionalId: topic,
  maxInFlightRequests: 1,
  idempotent: true,
});
await producer.connect();
const value = Buffer.alloc(100, 120);
const messages = Array.from({ length: Number(perTxn) }, (_, i) => ({
  key: `${i}`,
  value,
}));
const once = async () => {
  const tx = await producer.transaction();
  await tx.send({ topic, messages });
  await tx.commit();
};
await once();
const start = performance.now();
const cpu = process.cpuUsage();
for (let t = 0; t < Number(txns); t++) await once();
const ms = performance.now() - start;
const used = process.cpuUsage(cpu);
await producer.disconnect();
console.log(JSON.stringify({ ms, cpuUs: used.user + used.system }));
