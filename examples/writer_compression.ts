/**
 * The seed's compression example: the Writer compresses each batch; readers
 * detect the codec from the batch attributes, nothing to configure. gzip and
 * zstd take a level too (`compressionLevel`: gzip 1 to 9, zstd -131072 to
 * 22), trading batch size for CPU.
 *
 * Run: deno run -A examples/writer_compression.ts [topic] [codec] [level]
 */

import { type CompressionName, Writer } from "../mod.ts";

export async function main(
  brokers = (Deno.env.get("KAFKA_BROKERS") ?? "localhost:9092").split(","),
  topic = "topic-A",
  compression: CompressionName = "snappy",
  compressionLevel?: number,
): Promise<void> {
  const w = new Writer({ brokers, topic, compression, compressionLevel });
  try {
    await w.writeMessages(
      ...Array.from(
        { length: 100 },
        (_, i) => ({ value: `compressible message number ${i}` }),
      ),
    );
  } finally {
    await w.close();
  }
}

if (import.meta.main) {
  await main(
    undefined,
    Deno.args[0],
    Deno.args[1] as CompressionName | undefined,
    Deno.args[2] === undefined ? undefined : Number(Deno.args[2]),
  );
}
