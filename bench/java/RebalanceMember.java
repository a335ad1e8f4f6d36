// One member of a consumer group for bench/rebalance.ts, with Kafka's own
// Java client (kafka-clients from the broker's jars). Java 17 runs this
// single file without a build:
//
//   java -cp '.kafka/4.4.0/libs/*' bench/java/RebalanceMember.java \
//     <broker> <topic> <group> <session.timeout.ms> <heartbeat.interval.ms> <fetch.max.wait.ms>
//
// It polls the topic (classic group protocol, the default assignors, which
// make the group use RangeAssignor with eager rebalances; auto-commit as by
// default) and prints the same event lines as bench/clients/group_member.ts,
// each with System.currentTimeMillis():
//
//   revoked <ms> <p,p,...|->    partitions given up to rejoin (a rebalance)
//   assigned <ms> <p,p,...|->   partitions assigned in a new generation
//   first <ms> <partition>      the first record of a partition since then
//   closing <ms>                about to close (commit, LeaveGroup)
//   closed <ms>                 closed
//
// A line "close" on stdin closes the consumer; SIGKILL is the other way out.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class RebalanceMember {
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
  private static volatile boolean closeRequested = false;

  private static String list(Collection<TopicPartition> partitions) {
    String list = partitions.stream().map(TopicPartition::partition).sorted()
        .map(String::valueOf).collect(Collectors.joining(","));
    return list.isEmpty() ? "-" : list;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println(
          "usage: RebalanceMember <broker> <topic> <group> <session.timeout.ms>"
              + " <heartbeat.interval.ms> <fetch.max.wait.ms>");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("group.id", args[2]);
    props.put("group.protocol", "classic");
    props.put("session.timeout.ms", args[3]);
    props.put("heartbeat.interval.ms", args[4]);
    props.put("fetch.max.wait.ms", args[5]);
    props.put("auto.offset.reset", "earliest");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());

    Thread stdin = new Thread(() -> {
      try (var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.trim().equals("close")) {
            closeRequested = true;
            return;
          }
        }
      } catch (Exception e) {
        // stdin gone: keep consuming until killed.
      }
    });
    stdin.setDaemon(true);
    stdin.start();

    Set<Integer> seen = new HashSet<>();
    try (var consumer = new KafkaConsumer<byte[], byte[]>(props)) {
      consumer.subscribe(List.of(args[1]), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          if (!closeRequested) {
            OUT.println("revoked " + System.currentTimeMillis() + " " + list(partitions));
          }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          seen.clear();
          OUT.println("assigned " + System.currentTimeMillis() + " " + list(partitions));
        }
      });
      while (!closeRequested) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        for (TopicPartition tp : records.partitions()) {
          if (seen.add(tp.partition())) {
            OUT.println("first " + System.currentTimeMillis() + " " + tp.partition());
          }
        }
      }
      OUT.println("closing " + System.currentTimeMillis());
    }
    OUT.println("closed " + System.currentTimeMillis());
  }
}
