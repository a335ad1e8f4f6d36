/**
 * Amazon MSK with IAM access control: a Writer and a Reader that
 * authenticate with SASL AWS_MSK_IAM over TLS (MSK's IAM listeners are
 * TLS only: port 9098 inside the VPC, 9198 for public access).
 *
 * The brokers and region come from MSK_BROKERS (comma-separated
 * "host:port") and AWS_REGION; the credentials from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN.
 * They are read on every authentication, so a process that refreshes them
 * in its environment keeps working across re-authentications; any
 * function returning credentials (STS, an instance profile) fits there.
 * The IAM policy needs kafka-cluster:Connect, WriteData, ReadData and
 * DescribeTopic (and CreateTopic with auto-creation).
 *
 * Run: MSK_BROKERS=b-1.x.kafka.us-east-1.amazonaws.com:9098 AWS_REGION=us-east-1 \
 *        deno run -A examples/iam_msk.ts [topic]
 *  or: bun run examples/iam_msk.ts [topic]
 */

import process from "node:process";
import {
  type AwsCredentials,
  awsMskIam,
  type Message,
  Reader,
  Writer,
} from "../mod.ts";

const text = new TextDecoder();

/** The credentials in the environment, read each time they are asked for. */
function credentialsFromEnv(): Promise<AwsCredentials> {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    return Promise.reject(
      new Error(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)",
      ),
    );
  }
  return Promise.resolve({
    accessKeyId,
    secretAccessKey,
    sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
  });
}

/**
 * Writes three messages to `topic`, then reads the partition from its
 * start to its end; resolves with what it read.
 */
export async function main(
  brokers = (process.env.MSK_BROKERS ?? "").split(",").filter((b) => b !== ""),
  topic = "iam-example",
  region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "",
): Promise<Message[]> {
  if (brokers.length === 0 || region === "") {
    throw new Error(
      "set MSK_BROKERS (host:port of the IAM listener, comma-separated) and AWS_REGION",
    );
  }
  const transport = {
    tls: true,
    sasl: awsMskIam({ region, credentials: credentialsFromEnv }),
  };

  const w = new Writer({
    brokers,
    topic,
    allowAutoTopicCreation: true,
    transport,
  });
  try {
    await w.writeMessages(
      { key: "Key-A", value: "Hello World!" },
      { key: "Key-B", value: "One!" },
      { key: "Key-C", value: "Two!" },
    );
  } finally {
    await w.close();
  }

  const r = new Reader({ brokers, topic, partition: 0, transport });
  const messages: Message[] = [];
  try {
    while (true) {
      const m = await r.readMessage();
      console.log(
        `message at offset ${m.offset}: ${text.decode(m.key!)} = ${
          text.decode(m.value!)
        }`,
      );
      messages.push(m);
      if (m.offset + 1 >= m.highWaterMark) break;
    }
  } finally {
    await r.close();
  }
  return messages;
}

if (import.meta.main) {
  await main(undefined, process.argv[2]);
}
