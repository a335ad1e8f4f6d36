/**
 * A user's program under the strictest common TypeScript settings
 * (strict.json: exactOptionalPropertyTypes, noUncheckedIndexedAccess), as
 * `tools/test.ts` type-checks it: options filled from values that may be
 * undefined (environment variables, optional config) must be accepted.
 * Never run.
 */

import {
  Client,
  Cluster,
  Dialer,
  type MessageInput,
  Processor,
  Reader,
  type SaslOptions,
  ShareReader,
  type TlsOptions,
  Writer,
} from "../../mod.ts";

declare function env(name: string): string | undefined;
declare const signal: AbortSignal | undefined;
declare const timeout: number | undefined;

const ca = env("KAFKA_CA");
const tls: TlsOptions | undefined = ca === undefined
  ? undefined
  : { ca, servername: env("KAFKA_TLS_NAME") };
const password = env("KAFKA_PASSWORD");
const sasl: SaslOptions | undefined = password === undefined
  ? undefined
  : { mechanism: "SCRAM-SHA-512", username: "app", password };
const transport = { tls, sasl, clientId: env("CLIENT_ID") };
const brokers = (env("KAFKA_BROKERS") ?? "localhost:9092").split(",");

export async function produce(): Promise<void> {
  const writer = new Writer({
    brokers,
    transport,
    topic: env("TOPIC"),
    compression: undefined,
    deliveryTimeout: timeout,
  });
  const message: MessageInput = {
    key: env("KEY"),
    value: "v",
    partition: undefined,
    headers: [{ key: "h", value: env("HEADER") ?? null }],
  };
  await writer.writeMessages([message], { signal });
  await writer.send([message], { signal });
  await writer.close({ timeout });
}

export async function consume(): Promise<void> {
  const reader = new Reader({
    brokers,
    transport,
    topic: "t",
    groupId: env("GROUP"),
    maxWait: timeout,
    onPartitionsAssigned: undefined,
  });
  await reader.fetchMessage({ signal });
  // The pipe options are the platform's StreamPipeOptions, which take no
  // undefined under exactOptionalPropertyTypes.
  await reader.pipeTo(
    new Processor(async () => {}, { concurrency: undefined }),
    { preventAbort: true },
  );
  const share = new ShareReader({
    brokers,
    transport,
    groupId: "g",
    topics: ["t"],
    maxWait: timeout,
  });
  await share.fetchMessage({ signal });
  await share.close();
}

export async function admin(): Promise<void> {
  const client = new Client({ brokers, transport, timeout });
  await client.createTopics([{ topic: "t", numPartitions: undefined }], {
    signal,
  });
  await client.close();
  const cluster = new Cluster({ brokers, tls, sasl, clientId: undefined });
  await cluster.close();
  const conn = await new Dialer({ tls, sasl }).dial(brokers[0] ?? "", {
    signal,
  });
  conn.close();
}
