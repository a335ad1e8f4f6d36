// Command kafka-go-bench runs one benchmark job with github.com/segmentio/kafka-go
// and prints one JSON line, like the JavaScript clients in ../clients.
//
//	kafka-go-bench '<job as JSON>'
//
// Produce uses Writer.WriteMessages with the job's chunk and window (window
// goroutines, each writing chunk messages per call). kafka-go has no
// idempotent producer, so acks=all runs without it and says so in "notes".
// Consume uses one Reader per partition. The group workload uses one Reader
// with GroupID and ReadMessage, committing every second (CommitInterval; its
// default, 0, commits each message synchronously: BENCH_KAFKAGO_COMMIT_INTERVAL
// in milliseconds sets another interval, 0 included).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Job mirrors the Job interface of ../clients/_common.ts.
type Job struct {
	Kind           string   `json:"kind"`
	Brokers        []string `json:"brokers"`
	Topic          string   `json:"topic"`
	Partitions     int      `json:"partitions"`
	Messages       int      `json:"messages"`
	ValueSize      int      `json:"valueSize"`
	ValuesFile     string   `json:"valuesFile"`
	Acks           int      `json:"acks"`
	Idempotent     bool     `json:"idempotent"`
	Compression    string   `json:"compression"`
	LingerMs       int      `json:"lingerMs"`
	BatchMessages  int      `json:"batchMessages"`
	BatchBytes     int64    `json:"batchBytes"`
	Chunk          int      `json:"chunk"`
	Window         int      `json:"window"`
	Warmup         int      `json:"warmup"`
	FetchMinBytes  int      `json:"fetchMinBytes"`
	FetchMaxBytes  int      `json:"fetchMaxBytes"`
	FetchMaxWaitMs int      `json:"fetchMaxWaitMs"`
	Group          string   `json:"group"`
}

// Outcome mirrors the Outcome interface of ../clients/_common.ts.
type Outcome struct {
	Messages  int            `json:"messages"`
	Seconds   float64        `json:"seconds"`
	P50Ms     *float64       `json:"p50_ms,omitempty"`
	P99Ms     *float64       `json:"p99_ms,omitempty"`
	PeakRSSMb float64        `json:"peak_rss_mb"`
	Notes     map[string]any `json:"notes,omitempty"`
}

var codecs = map[string]kafka.Compression{
	"gzip":   kafka.Gzip,
	"snappy": kafka.Snappy,
	"lz4":    kafka.Lz4,
	"zstd":   kafka.Zstd,
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("missing the job: pass it as JSON in the first argument"))
	}
	var job Job
	if err := json.Unmarshal([]byte(os.Args[1]), &job); err != nil {
		fail(err)
	}
	var outcome Outcome
	var err error
	switch job.Kind {
	case "produce":
		outcome, err = produce(job)
	case "latency":
		outcome, err = latency(job)
	case "consume":
		outcome, err = consume(job)
	case "group":
		outcome, err = groupConsume(job)
	default:
		err = fmt.Errorf("unknown job kind %q", job.Kind)
	}
	if err != nil {
		fail(err)
	}
	outcome.PeakRSSMb = peakRSSMb()
	line, _ := json.Marshal(outcome)
	fmt.Println(string(line))
}

func newWriter(job Job) *kafka.Writer {
	w := &kafka.Writer{
		Addr:         kafka.TCP(job.Brokers...),
		Topic:        job.Topic,
		Balancer:     &kafka.RoundRobin{},
		BatchSize:    job.BatchMessages,
		BatchBytes:   job.BatchBytes,
		BatchTimeout: time.Duration(job.LingerMs) * time.Millisecond,
		RequiredAcks: kafka.RequiredAcks(job.Acks),
		Compression:  codecs[job.Compression],
	}
	if job.LingerMs == 0 {
		// A zero BatchTimeout means kafka-go's default of one second; a batch
		// of one message is how it sends each write at once.
		w.BatchSize = 1
		w.BatchTimeout = time.Millisecond
	}
	return w
}

func notes(job Job, api string) map[string]any {
	n := map[string]any{"api": api}
	if job.Idempotent {
		n["idempotent"] = "unsupported by kafka-go; ran acks=all without it"
	}
	return n
}

func produce(job Job) (Outcome, error) {
	values, err := readValues(job)
	if err != nil {
		return Outcome{}, err
	}
	w := newWriter(job)
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	slots := make(chan struct{}, job.Window)
	for from := 0; from < job.Messages; from += job.Chunk {
		to := min(job.Messages, from+job.Chunk)
		messages := make([]kafka.Message, to-from)
		for i := from; i < to; i++ {
			messages[i-from].Value = values[i%len(values)]
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := w.WriteMessages(context.Background(), messages...); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return Outcome{}, firstErr
	}
	seconds := time.Since(start).Seconds()
	return Outcome{Messages: job.Messages, Seconds: seconds, Notes: notes(job, "WriteMessages")}, nil
}

func latency(job Job) (Outcome, error) {
	values, err := readValues(job)
	if err != nil {
		return Outcome{}, err
	}
	w := newWriter(job)
	defer w.Close()
	ctx := context.Background()
	write := func(i int) error {
		return w.WriteMessages(ctx, kafka.Message{Value: values[i%len(values)]})
	}
	for i := 0; i < job.Warmup; i++ {
		if err := write(i); err != nil {
			return Outcome{}, err
		}
	}
	samples := make([]float64, 0, job.Messages)
	for i := 0; i < job.Messages; i++ {
		t := time.Now()
		if err := write(job.Warmup + i); err != nil {
			return Outcome{}, err
		}
		samples = append(samples, float64(time.Since(t).Nanoseconds())/1e6)
	}
	// As a rate: the measured writes back to back, as the JavaScript clients report it.
	seconds := 0.0
	for _, ms := range samples {
		seconds += ms / 1000
	}
	p50, p99 := percentile(samples, 50), percentile(samples, 99)
	return Outcome{
		Messages: job.Messages, Seconds: seconds, P50Ms: &p50, P99Ms: &p99,
		Notes: notes(job, "WriteMessages"),
	}, nil
}

func consume(job Job) (Outcome, error) {
	start := time.Now()
	var total atomic.Int64
	errs := make(chan error, job.Partitions)
	ends := make([]time.Time, job.Partitions)
	var wg sync.WaitGroup
	for p := 0; p < job.Partitions; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			ends[p], err = readPartition(job, p, &total)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return Outcome{}, err
		}
	}
	last := start
	for _, end := range ends {
		if end.After(last) {
			last = end
		}
	}
	seconds := last.Sub(start).Seconds()
	if n := int(total.Load()); n != job.Messages {
		return Outcome{}, fmt.Errorf("read %d messages, expected %d", n, job.Messages)
	}
	return Outcome{Messages: job.Messages, Seconds: seconds, Notes: map[string]any{"api": "Reader per partition"}}, nil
}

// readPartition reads one partition from its start up to its high watermark
// and returns when its last message arrived: Close waits for the prefetch
// in flight (up to MaxWait), which the clock leaves out.
func readPartition(job Job, partition int, total *atomic.Int64) (time.Time, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   job.Brokers,
		Topic:     job.Topic,
		Partition: partition,
		MinBytes:  job.FetchMinBytes,
		MaxBytes:  job.FetchMaxBytes,
		MaxWait:   time.Duration(job.FetchMaxWaitMs) * time.Millisecond,
	})
	defer r.Close()
	ctx := context.Background()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return time.Time{}, err
		}
		total.Add(1)
		if m.Offset+1 >= m.HighWaterMark {
			return time.Now(), nil
		}
	}
}

// groupConsume reads the topic as the one member of a fresh group, with
// ReadMessage and periodic commits, and returns when the last message
// arrived: Close (final commit, LeaveGroup) is left out of the clock.
func groupConsume(job Job) (Outcome, error) {
	interval := time.Second
	if raw := os.Getenv("BENCH_KAFKAGO_COMMIT_INTERVAL"); raw != "" {
		ms, err := strconv.Atoi(raw)
		if err != nil || ms < 0 {
			return Outcome{}, fmt.Errorf("BENCH_KAFKAGO_COMMIT_INTERVAL must be milliseconds, got %q", raw)
		}
		interval = time.Duration(ms) * time.Millisecond
	}
	start := time.Now()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        job.Brokers,
		GroupID:        job.Group,
		Topic:          job.Topic,
		MinBytes:       job.FetchMinBytes,
		MaxBytes:       job.FetchMaxBytes,
		MaxWait:        time.Duration(job.FetchMaxWaitMs) * time.Millisecond,
		CommitInterval: interval,
		StartOffset:    kafka.FirstOffset,
	})
	defer r.Close()
	ctx := context.Background()
	for n := 0; n < job.Messages; n++ {
		if _, err := r.ReadMessage(ctx); err != nil {
			return Outcome{}, err
		}
	}
	seconds := time.Since(start).Seconds()
	return Outcome{
		Messages: job.Messages,
		Seconds:  seconds,
		Notes: map[string]any{
			"api":                "Reader with GroupID, ReadMessage",
			"commit_interval_ms": interval.Milliseconds(),
		},
	}, nil
}

func readValues(job Job) ([][]byte, error) {
	data, err := os.ReadFile(job.ValuesFile)
	if err != nil {
		return nil, err
	}
	var values [][]byte
	for at := 0; at+job.ValueSize <= len(data); at += job.ValueSize + 1 {
		values = append(values, data[at:at+job.ValueSize])
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("no %d-byte values in %s", job.ValueSize, job.ValuesFile)
	}
	return values, nil
}

func percentile(samples []float64, p float64) float64 {
	sorted := append([]float64(nil), samples...)
	sort.Float64s(sorted)
	rank := int(float64(len(sorted))*p/100 + 0.999999)
	rank = max(1, min(len(sorted), rank))
	return sorted[rank-1]
}

var vmHWM = regexp.MustCompile(`^VmHWM:\s+(\d+) kB`)

// peakRSSMb is this process's VmHWM in MiB, as the JavaScript clients report it.
func peakRSSMb() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		if m := vmHWM.FindStringSubmatch(scanner.Text()); m != nil {
			kb, _ := strconv.ParseFloat(m[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func fail(err error) {
	line, _ := json.Marshal(map[string]any{"error": err.Error(), "peak_rss_mb": peakRSSMb()})
	fmt.Println(string(line))
	os.Exit(1)
}
