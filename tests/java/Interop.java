// Kafka's own Java client (kafka-clients, from the broker's jars) as a peer of
// tests/codecs_interop_test.ts. Java 17 runs this single file without a build:
//
//   java -cp '.kafka/4.4.0/libs/*' tests/java/Interop.java 127.0.0.1:9092
//
// One JVM serves every test: it reads commands on stdin, one per line, and
// answers each with "ok" (after any records) or "error<TAB>message":
//
//   produce<TAB>topic<TAB>codec<TAB>count   then `count` record lines; sends
//                                           them to partition 0 and waits for
//                                           the acknowledgements
//   consume<TAB>topic<TAB>count             prints the first `count` records
//                                           of partition 0
//
// A record line is "key<TAB>value<TAB>headers" (consume puts the offset
// first): key and value in base64, or "-" for null; headers are
// comma-separated "key:value" pairs in the same encoding.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class Interop {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: java -cp '<kafka libs>/*' Interop.java <broker>");
      System.exit(2);
    }
    String broker = args[0];
    var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    var out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    for (String line; (line = in.readLine()) != null; ) {
      String[] command = line.split("\t", -1);
      try {
        switch (command[0]) {
          case "produce" -> {
            List<String> records = new ArrayList<>();
            for (int i = Integer.parseInt(command[3]); i > 0; i--) records.add(in.readLine());
            produce(broker, command[1], command[2], records);
          }
          case "consume" -> consume(broker, command[1], Integer.parseInt(command[2]), out);
          default -> throw new IllegalArgumentException("unknown command " + command[0]);
        }
        out.println("ok");
      } catch (Exception e) {
        out.println("error\t" + e.toString().replaceAll("\\s+", " "));
      }
      out.flush();
    }
  }

  /** Sends the records to partition 0 and waits until all are acknowledged. */
  private static void produce(String broker, String topic, String codec, List<String> records)
      throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", broker);
    props.put("compression.type", codec);
    props.put("acks", "all");
    // One batch for all the records: flush() sends it without the wait.
    props.put("linger.ms", "1000");
    props.put("batch.size", String.valueOf(1 << 20));
    props.put("max.request.size", String.valueOf(8 << 20));
    try (var producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (String line : records) {
        String[] fields = line.split("\t", -1);
        var record = new ProducerRecord<>(topic, 0, decode(fields[0]), decode(fields[1]));
        for (String pair : fields[2].isEmpty() ? new String[0] : fields[2].split(",")) {
          String[] kv = pair.split(":", -1);
          String key = new String(decode(kv[0]), StandardCharsets.UTF_8);
          record.headers().add(new RecordHeader(key, decode(kv[1])));
        }
        sent.add(producer.send(record));
      }
      producer.flush();
      for (var future : sent) future.get();
    }
  }

  /** Prints the first `count` records of partition 0, or fails after TIMEOUT. */
  private static void consume(String broker, String topic, int count, PrintStream out) {
    Properties props = new Properties();
    props.put("bootstrap.servers", broker);
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    List<String> lines = new ArrayList<>();
    try (var consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      var partition = new TopicPartition(topic, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (lines.size() < count) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "only " + lines.size() + " of " + count + " records in " + topic + " after "
                  + TIMEOUT.toSeconds() + " s");
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (lines.size() == count) break;
          List<String> headers = new ArrayList<>();
          for (Header header : record.headers()) {
            byte[] key = header.key().getBytes(StandardCharsets.UTF_8);
            headers.add(encode(key) + ":" + encode(header.value()));
          }
          lines.add(record.offset() + "\t" + encode(record.key()) + "\t"
              + encode(record.value()) + "\t" + String.join(",", headers));
        }
      }
    }
    lines.forEach(out::println);
  }

  private static byte[] decode(String field) {
    return field.equals("-") ? null : Base64.getDecoder().decode(field);
  }

  private static String encode(byte[] bytes) {
    return bytes == null ? "-" : Base64.getEncoder().encodeToString(bytes);
  }
}
