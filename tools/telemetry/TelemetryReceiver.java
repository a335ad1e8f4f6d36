// The test broker's client telemetry receiver (KIP-714): without one, a
// broker does not offer GetTelemetrySubscriptions and PushTelemetry. Each
// push is decoded with the OTLP classes kafka-clients carries (shaded) and
// appended as one JSON line to <streamkafka.telemetry.dir>/<instance id>.jsonl,
// which tests/telemetry_test.ts reads. A payload that does not decode is
// written as {"error": ...}, so a test sees it. tools/kafka.ts compiles this
// file and names the class in metric.reporters.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.server.telemetry.ClientTelemetry;
import org.apache.kafka.server.telemetry.ClientTelemetryReceiver;
import org.apache.kafka.shaded.io.opentelemetry.proto.common.v1.AnyValue;
import org.apache.kafka.shaded.io.opentelemetry.proto.common.v1.KeyValue;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.Metric;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.MetricsData;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.ScopeMetrics;

@SuppressWarnings("removal")
public class TelemetryReceiver implements MetricsReporter, ClientTelemetry {
    private Path dir;

    @Override
    public void configure(Map<String, ?> configs) {
        Object configured = configs.get("streamkafka.telemetry.dir");
        dir = Paths.get(configured == null ? "telemetry" : configured.toString());
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Override
    public void init(List<KafkaMetric> metrics) {}

    @Override
    public void metricChange(KafkaMetric metric) {}

    @Override
    public void metricRemoval(KafkaMetric metric) {}

    @Override
    public void close() {}

    @Override
    public ClientTelemetryReceiver clientReceiver() {
        return (context, payload) -> {
            StringBuilder line = new StringBuilder("{");
            field(line, "instance", payload.clientInstanceId().toString()).append(',');
            field(line, "clientId", context.clientId()).append(',');
            line.append("\"terminating\":").append(payload.isTerminating()).append(',');
            field(line, "contentType", payload.contentType()).append(',');
            try {
                MetricsData data = MetricsData.parseFrom(payload.data().duplicate());
                describe(line, data);
            } catch (Exception e) {
                field(line, "error", e.toString());
            }
            line.append("}\n");
            write(payload.clientInstanceId().toString(), line.toString());
        };
    }

    private synchronized void write(String instance, String line) {
        try {
            Files.write(dir.resolve(instance + ".jsonl"), line.getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static void describe(StringBuilder out, MetricsData data) {
        out.append("\"resources\":[");
        for (int i = 0; i < data.getResourceMetricsCount(); i++) {
            ResourceMetrics rm = data.getResourceMetrics(i);
            if (i > 0) out.append(',');
            out.append("{\"attributes\":");
            attributes(out, rm.getResource().getAttributesList());
            out.append(",\"scopes\":[");
            for (int j = 0; j < rm.getScopeMetricsCount(); j++) {
                ScopeMetrics sm = rm.getScopeMetrics(j);
                if (j > 0) out.append(',');
                out.append('{');
                field(out, "name", sm.getScope().getName()).append(',');
                field(out, "version", sm.getScope().getVersion()).append(',');
                out.append("\"metrics\":[");
                for (int k = 0; k < sm.getMetricsCount(); k++) {
                    if (k > 0) out.append(',');
                    metric(out, sm.getMetrics(k));
                }
                out.append("]}");
            }
            out.append("]}");
        }
        out.append(']');
    }

    private static void metric(StringBuilder out, Metric m) {
        out.append('{');
        field(out, "name", m.getName()).append(',');
        field(out, "description", m.getDescription()).append(',');
        List<NumberDataPoint> points;
        if (m.hasSum()) {
            field(out, "type", "sum").append(',');
            out.append("\"temporality\":").append(m.getSum().getAggregationTemporalityValue()).append(',');
            out.append("\"monotonic\":").append(m.getSum().getIsMonotonic()).append(',');
            points = m.getSum().getDataPointsList();
        } else if (m.hasGauge()) {
            field(out, "type", "gauge").append(',');
            points = m.getGauge().getDataPointsList();
        } else {
            field(out, "type", m.getDataCase().toString()).append(',');
            points = List.of();
        }
        out.append("\"points\":[");
        for (int i = 0; i < points.size(); i++) {
            NumberDataPoint p = points.get(i);
            if (i > 0) out.append(',');
            out.append("{\"attributes\":");
            attributes(out, p.getAttributesList());
            out.append(",\"start\":\"").append(Long.toUnsignedString(p.getStartTimeUnixNano())).append('"');
            out.append(",\"time\":\"").append(Long.toUnsignedString(p.getTimeUnixNano())).append('"');
            if (p.getValueCase() == NumberDataPoint.ValueCase.AS_INT) {
                out.append(",\"int\":").append(p.getAsInt());
            } else {
                out.append(",\"double\":").append(number(p.getAsDouble()));
            }
            out.append('}');
        }
        out.append("]}");
    }

    private static void attributes(StringBuilder out, List<KeyValue> all) {
        out.append('{');
        for (int i = 0; i < all.size(); i++) {
            if (i > 0) out.append(',');
            KeyValue kv = all.get(i);
            quote(out, kv.getKey()).append(':');
            AnyValue v = kv.getValue();
            switch (v.getValueCase()) {
                case STRING_VALUE: quote(out, v.getStringValue()); break;
                case BOOL_VALUE: out.append(v.getBoolValue()); break;
                case INT_VALUE: out.append(v.getIntValue()); break;
                case DOUBLE_VALUE: out.append(number(v.getDoubleValue())); break;
                default: quote(out, v.getValueCase().toString());
            }
        }
        out.append('}');
    }

    private static String number(double d) {
        return Double.isFinite(d) ? Double.toString(d) : "null";
    }

    private static StringBuilder field(StringBuilder out, String name, String value) {
        quote(out, name).append(':');
        return quote(out, value);
    }

    private static StringBuilder quote(StringBuilder out, String s) {
        out.append('"');
        for (char c : (s == null ? "" : s).toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"');
    }
}
