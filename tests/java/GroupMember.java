// One member of a consumer group, with Kafka's own Java client
// (kafka-clients, from the broker's jars), for tests/group_interop_test.ts.
// Java 17 runs this single file without a build:
//
//   java -cp '.kafka/4.4.0/libs/*' tests/java/GroupMember.java \
//     127.0.0.1:9092 <topic> <group> <range|roundrobin>
//
// It joins <group> with the classic protocol, offering only the named
// assignment strategy, reads <topic> from the committed offsets (the
// earliest where there are none), and commits synchronously after handling
// each batch that poll() returns. It runs until its stdin closes, then
// closes the consumer (which leaves the group) and exits 0.
//
// On stdout, one event per line (anything else there, such as log lines,
// is to be ignored):
//
//   member<TAB>assigned<TAB>p,p,...   a rebalance gave these partitions
//   member<TAB>revoked<TAB>p,p,...    they are taken back before a rebalance
//   member<TAB>lost<TAB>p,p,...       the member was dropped from the group
//   member<TAB>read<TAB>partition<TAB>offset<TAB>value
//   member<TAB>committed<TAB>count    a commit of `count` records succeeded
//   member<TAB>closed                 the consumer has closed and left

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class GroupMember {
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println(
          "usage: java -cp '<kafka libs>/*' GroupMember.java <broker> <topic> <group> <range|roundrobin>");
      System.exit(2);
    }
    String broker = args[0];
    String topic = args[1];
    String group = args[2];
    String strategy = switch (args[3]) {
      case "range" -> RangeAssignor.class.getName();
      case "roundrobin" -> RoundRobinAssignor.class.getName();
      default -> throw new IllegalArgumentException("unknown strategy " + args[3]);
    };

    Properties props = new Properties();
    props.put("bootstrap.servers", broker);
    props.put("group.id", group);
    props.put("client.id", "java-group-member");
    props.put("group.protocol", "classic");
    props.put("partition.assignment.strategy", strategy);
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    // Quick rebalances for a test; the session outlives a slow JVM start.
    props.put("session.timeout.ms", "10000");
    props.put("heartbeat.interval.ms", "500");
    props.put("max.poll.interval.ms", "30000");

    // Closing stdin asks the member to stop: the poll loop sees the flag
    // within one poll, after committing what it handled.
    AtomicBoolean running = new AtomicBoolean(true);
    Thread stdin = new Thread(() -> {
      try {
        InputStream in = System.in;
        while (in.read() != -1) {
          // Nothing is sent on stdin; only its end matters.
        }
      } catch (Exception e) {
        // A broken stdin means the test is gone: stop as well.
      }
      running.set(false);
    });
    stdin.setDaemon(true);
    stdin.start();

    try (var consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          OUT.println("member\tassigned\t" + list(partitions));
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          // Everything handled is committed already (after each batch).
          OUT.println("member\trevoked\t" + list(partitions));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
          OUT.println("member\tlost\t" + list(partitions));
        }
      });
      while (running.get()) {
        var records = consumer.poll(Duration.ofMillis(100));
        if (records.isEmpty()) continue;
        for (ConsumerRecord<byte[], byte[]> record : records) {
          String value = new String(record.value(), StandardCharsets.UTF_8);
          OUT.println("member\tread\t" + record.partition() + "\t" + record.offset() + "\t" + value);
        }
        consumer.commitSync();
        OUT.println("member\tcommitted\t" + records.count());
      }
    }
    OUT.println("member\tclosed");
  }

  private static String list(Collection<TopicPartition> partitions) {
    return partitions.stream()
        .map(TopicPartition::partition)
        .sorted()
        .map(String::valueOf)
        .collect(Collectors.joining(","));
  }
}
