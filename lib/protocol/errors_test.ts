import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ErrorCode,
  errorName,
  ERRORS,
  isRetriable,
  KafkaError,
  throwIfError,
} from "./errors.ts";

test("known codes have Kafka's names and retriable flags", () => {
  // [code, name, retriable], checked against Kafka's Errors.java and the
  // exception classes it maps each code to.
  const expected: [number, string, boolean][] = [
    [-1, "UNKNOWN_SERVER_ERROR", false],
    [1, "OFFSET_OUT_OF_RANGE", false],
    [2, "CORRUPT_MESSAGE", true],
    [3, "UNKNOWN_TOPIC_OR_PARTITION", true],
    [5, "LEADER_NOT_AVAILABLE", true],
    [6, "NOT_LEADER_OR_FOLLOWER", true],
    [7, "REQUEST_TIMED_OUT", true],
    [8, "BROKER_NOT_AVAILABLE", false],
    [10, "MESSAGE_TOO_LARGE", false],
    [13, "NETWORK_EXCEPTION", true],
    [15, "COORDINATOR_NOT_AVAILABLE", true],
    [16, "NOT_COORDINATOR", true],
    [22, "ILLEGAL_GENERATION", false],
    [25, "UNKNOWN_MEMBER_ID", false],
    [27, "REBALANCE_IN_PROGRESS", false],
    [29, "TOPIC_AUTHORIZATION_FAILED", false],
    [35, "UNSUPPORTED_VERSION", false],
    [36, "TOPIC_ALREADY_EXISTS", false],
    [41, "NOT_CONTROLLER", true],
    [45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false],
    [46, "DUPLICATE_SEQUENCE_NUMBER", false],
    [47, "INVALID_PRODUCER_EPOCH", false],
    [51, "CONCURRENT_TRANSACTIONS", true],
    [56, "KAFKA_STORAGE_ERROR", true],
    [58, "SASL_AUTHENTICATION_FAILED", false],
    [74, "FENCED_LEADER_EPOCH", true],
    [75, "UNKNOWN_LEADER_EPOCH", true],
    [89, "THROTTLING_QUOTA_EXCEEDED", true],
    [90, "PRODUCER_FENCED", false],
    [100, "UNKNOWN_TOPIC_ID", true],
    [120, "TRANSACTION_ABORTABLE", false],
    [129, "REBOOTSTRAP_REQUIRED", false],
    [133, "SHARE_SESSION_LIMIT_REACHED", true],
  ];
  for (const [code, name, retriable] of expected) {
    assert.equal(errorName(code), name, `name of ${code}`);
    assert.equal(isRetriable(code), retriable, `retriable of ${name}`);
    assert.equal(ERRORS.get(code)?.retriable, retriable);
  }
});

test("ErrorCode maps names to codes from the same table", () => {
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(ErrorCode.LEADER_NOT_AVAILABLE, 5);
  assert.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 45);
  assert.equal(ErrorCode.DUPLICATE_SEQUENCE_NUMBER, 46);
  assert.equal(Object.keys(ErrorCode).length, ERRORS.size);
  for (const [code, info] of ERRORS) {
    assert.equal(ErrorCode[info.name as keyof typeof ErrorCode], code);
  }
  assert.ok(Object.isFrozen(ErrorCode));
});

test("the table is contiguous from -1 with unique names", () => {
  const codes = [...ERRORS.keys()].sort((a, b) => a - b);
  assert.equal(codes[0], -1);
  const max = codes[codes.length - 1];
  assert.ok(max >= 133, `max code ${max}`);
  assert.deepEqual(codes, Array.from({ length: max + 2 }, (_, i) => i - 1));
  const names = [...ERRORS.values()].map((info) => info.name);
  assert.equal(new Set(names).size, names.length);
  for (const info of ERRORS.values()) {
    assert.match(info.name, /^[A-Z][A-Z0-9_]*$/);
    assert.ok(info.description.length > 0, `${info.name} has a description`);
  }
});

test("unknown codes get a placeholder name and are not retriable", () => {
  assert.equal(errorName(9999), "UNKNOWN_ERROR_9999");
  assert.equal(errorName(-7), "UNKNOWN_ERROR_-7");
  assert.equal(isRetriable(9999), false);
  const err = new KafkaError(9999);
  assert.equal(err.name, "UNKNOWN_ERROR_9999");
  assert.equal(err.retriable, false);
  assert.match(err.message, /^UNKNOWN_ERROR_9999 \(9999\): /);
});

test("throwIfError passes 0 and throws the KafkaError of any other code", () => {
  throwIfError(0, { apiName: "Metadata" });
  assert.throws(
    () => throwIfError(ErrorCode.LEADER_NOT_AVAILABLE, { topic: "t" }),
    (err) => {
      assert.ok(err instanceof KafkaError);
      assert.equal(err.code, 5);
      assert.equal(err.retriable, true);
      assert.equal(err.topic, "t");
      return true;
    },
  );
});

test("the error carries its name, code and flag", () => {
  const err = new KafkaError(6);
  assert.equal(err.name, "NOT_LEADER_OR_FOLLOWER");
  assert.equal(err.code, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(err.retriable, true);
  assert.match(err.message, /^NOT_LEADER_OR_FOLLOWER \(6\): \S/);
  assert.ok(String(err).startsWith("NOT_LEADER_OR_FOLLOWER: "));
  assert.ok(err.stack?.includes("NOT_LEADER_OR_FOLLOWER"));
});

test("messages include the context", () => {
  const err = new KafkaError(3, {
    apiName: "Produce",
    topic: "orders",
    partition: 3,
    detail: "the broker said so",
  });
  assert.ok(err.message.startsWith("UNKNOWN_TOPIC_OR_PARTITION (3): "));
  assert.ok(
    err.message.endsWith(
      ' [Produce, topic "orders" partition 3]: the broker said so',
    ),
    err.message,
  );
  assert.equal(err.apiName, "Produce");
  assert.equal(err.topic, "orders");
  assert.equal(err.partition, 3);
  assert.equal(err.detail, "the broker said so");

  const topicOnly = new KafkaError(29, { topic: "audit" });
  assert.ok(topicOnly.message.endsWith(' [topic "audit"]'), topicOnly.message);
  const apiOnly = new KafkaError(58, { apiName: "SaslAuthenticate" });
  assert.ok(apiOnly.message.endsWith(" [SaslAuthenticate]"), apiOnly.message);
  const bare = new KafkaError(10);
  assert.ok(!bare.message.includes("["), bare.message);
});

test("the cause is kept", () => {
  const cause = new Error("socket closed");
  const err = new KafkaError(13, { cause });
  assert.equal(err.cause, cause);
  assert.equal(new KafkaError(13).cause, undefined);
});
