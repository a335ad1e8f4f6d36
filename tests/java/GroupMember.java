// One member of a consumer group, with Kafka's own Java client
// (kafka-clients, from the broker's jars), for tests/group_interop_test.ts
// and bench/rebalance.ts. Java 17 runs this single file without a build:
//
//   java -cp '.kafka/4.4.0/libs/*' tests/java/GroupMember.java \
//     127.0.0.1:9092 <topic> <group> <mode> [--flag=value ...]
//
// <mode> is how it joins <group>:
//
//   range, roundrobin   the classic protocol, offering only that assignor:
//                       eager rebalances (every partition is revoked before
//                       each rebalance and the new set assigned after it)
//   cooperative-sticky  the classic protocol with CooperativeStickyAssignor:
//                       incremental rebalances (only the partitions that
//                       move are revoked, and only new ones assigned)
//   consumer            group.protocol=consumer (KIP-848): the broker
//                       assigns, incrementally; the member sends no
//                       assignor, session timeout or heartbeat interval (the
//                       Java client refuses them with this protocol: they
//                       are the group's, consumer.session.timeout.ms and
//                       consumer.heartbeat.interval.ms, set on the broker or
//                       per group with IncrementalAlterConfigs)
//
// Flags, all optional:
//
//   --instance-id=ID          group.instance.id: a static member
//   --client-id=ID            client.id, default java-group-member
//   --remote-assignor=NAME    group.remote.assignor, the broker's assignor
//                             (uniform or range; consumer mode only)
//   --session-timeout=MS      session.timeout.ms, default 10000 (classic only)
//   --heartbeat-interval=MS   heartbeat.interval.ms, default 500 (classic only)
//   --pattern=REGEX           subscribe to the topics matching REGEX instead
//                             of <topic> (which is then ignored; pass "-").
//                             Classic modes: a java.util.regex.Pattern,
//                             matched by the client against its metadata,
//                             which it refreshes every metadata.max.age.ms
//                             (5 minutes by default), so a topic created
//                             later can take that long to be noticed (or
//                             until the next rebalance).
//                             consumer mode: a SubscriptionPattern, sent to
//                             the broker, which matches it (RE2J syntax)
//                             and assigns new matching topics itself. (The
//                             Java client's subscribe(java.util.regex.Pattern)
//                             matches on the client even with this protocol.)
//   --auto-commit=MS          commit automatically every MS ms (and on
//                             close and before giving partitions up) instead
//                             of after each batch; no "committed" lines then
//
// Without flags it behaves as it always has: it reads <topic> from the
// committed offsets (the earliest where there are none), and commits
// synchronously after handling each batch that poll() returns. The broker
// refuses a commit while the group rebalances (REBALANCE_IN_PROGRESS; with
// cooperative-sticky the members read on during a rebalance, so this
// happens): those records are then committed with the next batch, or
// before their partitions are revoked, and counted in that "committed"
// line. It runs until its stdin closes, then closes the consumer and exits
// 0 (on an error it prints the exception and exits 1).
//
// Closing leaves the group, except for a static member (--instance-id):
// the classic protocol sends no LeaveGroup for one, and the consumer
// protocol leaves only "temporarily" (member epoch -2). The member still
// prints "revoked" for its partitions (its listener is told), but the group
// keeps them for it until its session times out, so that a member started
// again under the same id gets them back without a rebalance: the others
// see nothing.
//
// On stdout, one event per line (anything else there, such as log lines,
// is to be ignored):
//
//   member<TAB>assigned<TAB>p,p,...   partitions given to it
//   member<TAB>revoked<TAB>p,p,...    partitions taken back
//   member<TAB>lost<TAB>p,p,...       partitions lost (dropped from the group)
//   member<TAB>read<TAB>partition<TAB>offset<TAB>value
//   member<TAB>committed<TAB>count    a commit of `count` records succeeded
//   member<TAB>closed                 the consumer has closed
//
// These are what the Java rebalance listener gets: with range and
// roundrobin, "assigned" lists the whole assignment and "revoked" all of
// it; with cooperative-sticky and consumer only the partitions that change
// (the member holds what it was assigned minus what was revoked or lost
// since), and "assigned" may come with an empty list when nothing was
// added. With --pattern the partitions may be of several topics, so each
// of those three lines is followed by one naming them,
//
//   member<TAB>assigned-topics<TAB>topic:p,topic:p,...
//   member<TAB>revoked-topics<TAB>topic:p,...
//   member<TAB>lost-topics<TAB>topic:p,...
//
// and each "read" line ends with one more field, <TAB>topic. Without
// --pattern these never appear.

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class GroupMember {
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private static final String USAGE = String.join("\n",
      "usage: java -cp '<kafka libs>/*' GroupMember.java <broker> <topic> <group>",
      "         <range|roundrobin|cooperative-sticky|consumer>",
      "         [--instance-id=ID] [--remote-assignor=uniform|range]",
      "         [--session-timeout=MS] [--heartbeat-interval=MS]",
      "         [--pattern=REGEX] [--auto-commit=MS] [--client-id=ID]");

  private static final Set<String> FLAGS = Set.of(
      "instance-id", "remote-assignor", "session-timeout", "heartbeat-interval", "pattern",
      "auto-commit", "client-id");

  /** Records handled since the last successful commit (without --auto-commit). */
  private static int pending = 0;

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      // Printed here: Java 17's single-file launcher, given an exception
      // with a short stack (as many of the client's are), fails on it and
      // reports its own IllegalArgumentException instead.
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    if (args.length < 4) usage(null);
    String broker = args[0];
    String topic = args[1];
    String group = args[2];
    String mode = args[3];
    Map<String, String> flags = new HashMap<>();
    for (int i = 4; i < args.length; i++) {
      String arg = args[i];
      int eq = arg.indexOf('=');
      if (!arg.startsWith("--") || eq < 0) usage("not a --flag=value: " + arg);
      String name = arg.substring(2, eq);
      if (!FLAGS.contains(name)) usage("unknown flag --" + name);
      flags.put(name, arg.substring(eq + 1));
    }
    boolean consumerProtocol = mode.equals("consumer");
    String strategy = switch (mode) {
      case "range" -> RangeAssignor.class.getName();
      case "roundrobin" -> RoundRobinAssignor.class.getName();
      case "cooperative-sticky" -> CooperativeStickyAssignor.class.getName();
      case "consumer" -> null;
      default -> {
        usage("unknown mode " + mode);
        yield null;
      }
    };
    String pattern = flags.get("pattern");
    if (pattern != null && pattern.isEmpty()) usage("--pattern needs a regex");

    Properties props = new Properties();
    props.put("bootstrap.servers", broker);
    props.put("group.id", group);
    props.put("client.id", flags.getOrDefault("client-id", "java-group-member"));
    props.put("auto.offset.reset", "earliest");
    props.put("max.poll.interval.ms", "30000");
    String autoCommit = flags.get("auto-commit");
    if (autoCommit == null) {
      props.put("enable.auto.commit", "false");
    } else {
      props.put("enable.auto.commit", "true");
      props.put("auto.commit.interval.ms", milliseconds("auto-commit", autoCommit));
    }
    if (flags.containsKey("instance-id")) {
      props.put("group.instance.id", flags.get("instance-id"));
    }
    if (consumerProtocol) {
      props.put("group.protocol", "consumer");
      for (String name : List.of("session-timeout", "heartbeat-interval")) {
        if (flags.containsKey(name)) {
          usage("--" + name + " is for the classic modes: with the consumer protocol the"
              + " group's consumer." + name.replace('-', '.') + ".ms (a broker or group"
              + " config) applies");
        }
      }
      String assignor = flags.get("remote-assignor");
      if (assignor != null) props.put("group.remote.assignor", assignor);
    } else {
      if (flags.containsKey("remote-assignor")) {
        usage("--remote-assignor is for the consumer protocol (mode consumer)");
      }
      props.put("group.protocol", "classic");
      props.put("partition.assignment.strategy", strategy);
      // Quick rebalances for a test; the session outlives a slow JVM start.
      props.put("session.timeout.ms",
          milliseconds("session-timeout", flags.getOrDefault("session-timeout", "10000")));
      props.put("heartbeat.interval.ms",
          milliseconds("heartbeat-interval", flags.getOrDefault("heartbeat-interval", "500")));
    }

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

    boolean byPattern = pattern != null;
    try (var consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          event("assigned", partitions, byPattern);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          // Everything handled is committed already (after each batch), or
          // its commit failed because a rebalance was under way: commit it
          // now, before the partitions go. (Auto-commit commits just before
          // this by itself.)
          if (autoCommit == null && pending > 0) commit(consumer);
          event("revoked", partitions, byPattern);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
          event("lost", partitions, byPattern);
        }
      };
      if (!byPattern) {
        consumer.subscribe(List.of(topic), listener);
      } else if (consumerProtocol) {
        consumer.subscribe(new SubscriptionPattern(pattern), listener);
      } else {
        consumer.subscribe(Pattern.compile(pattern), listener);
      }
      while (running.get()) {
        var records = consumer.poll(Duration.ofMillis(100));
        if (records.isEmpty()) continue;
        for (ConsumerRecord<byte[], byte[]> record : records) {
          String value = new String(record.value(), StandardCharsets.UTF_8);
          OUT.println("member\tread\t" + record.partition() + "\t" + record.offset() + "\t" + value
              + (byPattern ? "\t" + record.topic() : ""));
        }
        if (autoCommit == null) {
          pending += records.count();
          commit(consumer);
        }
      }
    }
    OUT.println("member\tclosed");
  }

  /**
   * Commits what the member has read. During a rebalance (the group's
   * cooperative or consumer protocol lets members read on meanwhile) the
   * broker refuses with REBALANCE_IN_PROGRESS: the records stay pending,
   * for the next commit after the rebalance or the one on revocation.
   */
  private static void commit(KafkaConsumer<byte[], byte[]> consumer) {
    try {
      consumer.commitSync();
    } catch (RebalanceInProgressException e) {
      return;
    }
    OUT.println("member\tcommitted\t" + pending);
    pending = 0;
  }

  private static void event(String kind, Collection<TopicPartition> partitions, boolean topics) {
    OUT.println("member\t" + kind + "\t" + partitions.stream()
        .map(TopicPartition::partition)
        .sorted()
        .map(String::valueOf)
        .collect(Collectors.joining(",")));
    if (topics) {
      OUT.println("member\t" + kind + "-topics\t" + partitions.stream()
          .sorted(Comparator.comparing(TopicPartition::topic)
              .thenComparingInt(TopicPartition::partition))
          .map(tp -> tp.topic() + ":" + tp.partition())
          .collect(Collectors.joining(",")));
    }
  }

  private static String milliseconds(String flag, String value) {
    try {
      if (Integer.parseInt(value) > 0) return value;
    } catch (NumberFormatException e) {
      // Reported below.
    }
    usage("--" + flag + " must be a positive number of milliseconds, not " + value);
    return value;
  }

  private static void usage(String problem) {
    if (problem != null) System.err.println("GroupMember: " + problem);
    System.err.println(USAGE);
    System.exit(2);
  }
}
