/**
 * Delegation tokens (KIP-48) against the broker's SASL_PLAINTEXT listener:
 * a Client authenticated with a password creates a token; a Writer and a
 * Reader authenticate with it (SCRAM with `tokenauth=true`) and act as its
 * owner; describing, renewing and expiring it; an expired token refused at
 * once with what to check; and the refusals (a plaintext connection, a
 * token-authenticated one, bad arguments).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import {
  Client,
  type DelegationToken,
  delegationToken,
  KafkaError,
  Reader,
  Writer,
} from "../mod.ts";
import { BROKER, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

const SASL = process.env.KAFKA_SASL_BROKERS ?? "127.0.0.1:9094";
const alice = {
  mechanism: "SCRAM-SHA-256",
  username: "alice",
  password: "alice-secret",
} as const;

const isKafka = (name: string) => (e: unknown) =>
  e instanceof KafkaError && e.name === name;

describe("delegation tokens", () => {
  test("created with a password, used by a Writer and a Reader, described, renewed, expired", async () => {
    await noUnhandledRejections(async () => {
      const admin = new Client({ brokers: [SASL], transport: { sasl: alice } });
      let token: DelegationToken | undefined;
      try {
        const before = Date.now();
        token = await admin.createDelegationToken({
          renewers: ["User:bob"],
          maxLifetime: 3_600_000,
        });
        assert.match(token.tokenId, /^[A-Za-z0-9_-]{22}$/);
        assert.ok(token.hmac.length >= 32);
        assert.equal(token.owner, "User:alice");
        assert.equal(token.requester, "User:alice");
        assert.deepEqual(token.renewers, ["User:bob"]);
        assert.ok(token.issueTimestamp >= before - 5000);
        assert.equal(token.maxTimestamp - token.issueTimestamp, 3_600_000);

        // Usable at once: creating waits until the brokers know it.
        const topic = uniqueTopic("token");
        await admin.createTopics([{ topic }]);
        const sasl = delegationToken(token);
        const writer = new Writer({
          brokers: [SASL],
          topic,
          transport: { sasl },
        });
        await writer.writeMessages([{ value: "a" }, { value: "b" }]);
        await writer.close();
        const reader = new Reader({
          brokers: [SASL],
          topic,
          partition: 0,
          maxWait: 200,
          transport: { sasl: delegationToken(token, "SCRAM-SHA-512") },
        });
        const text = new TextDecoder();
        const read = [await reader.readMessage(), await reader.readMessage()];
        assert.deepEqual(read.map((m) => text.decode(m.value!)), ["a", "b"]);
        await reader.close();

        const [listed] = (await admin.describeDelegationTokens({
          owners: ["User:alice"],
        })).filter((t) => t.tokenId === token!.tokenId);
        assert.ok(listed, "described");
        assert.deepEqual(listed.hmac, token.hmac);
        assert.deepEqual(listed.renewers, ["User:bob"]);
        assert.equal(listed.owner, "User:alice");
        assert.ok(
          (await admin.describeDelegationTokens()).some((t) =>
            t.tokenId === token!.tokenId
          ),
        );

        const renewedAt = Date.now();
        const expiry = await admin.renewDelegationToken(token.hmac, {
          renewPeriod: 60_000,
        });
        assert.ok(
          Math.abs(expiry - (renewedAt + 60_000)) < 5000,
          `expires ${expiry - renewedAt} ms after the renewal`,
        );

        await admin.expireDelegationToken(token.hmac);
        const started = Date.now();
        const late = new Writer({
          brokers: [SASL],
          topic,
          transport: { sasl: delegationToken(token) },
        });
        try {
          await assert.rejects(
            late.writeMessages({ value: "c" }),
            (e: Error) =>
              /SASL_AUTHENTICATION_FAILED/.test(e.message) &&
              e.message.includes(`Check delegation token ${token!.tokenId}`),
          );
          assert.ok(Date.now() - started < 10_000, "refused at once");
        } finally {
          await late.close().catch(() => {});
        }
        assert.ok(
          !(await admin.describeDelegationTokens()).some((t) =>
            t.tokenId === token!.tokenId
          ),
          "an expired token is gone",
        );
        await assert.rejects(
          admin.renewDelegationToken(token.hmac),
          isKafka("DELEGATION_TOKEN_NOT_FOUND"),
        );
        await admin.deleteTopics([topic]);
      } finally {
        await admin.close();
      }
    });
  });

  test("refused over plaintext and from a token-authenticated connection; bad arguments", async () => {
    await noUnhandledRejections(async () => {
      const plaintext = new Client({ brokers: [BROKER] });
      const admin = new Client({ brokers: [SASL], transport: { sasl: alice } });
      try {
        await assert.rejects(
          plaintext.createDelegationToken(),
          (e: Error) =>
            isKafka("DELEGATION_TOKEN_REQUEST_NOT_ALLOWED")(e) &&
            e.message.includes("give the Client `sasl` credentials"),
        );
        const token = await admin.createDelegationToken();
        const byToken = new Client({
          brokers: [SASL],
          transport: { sasl: delegationToken(token) },
        });
        try {
          await assert.rejects(
            byToken.createDelegationToken(),
            isKafka("DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"),
          );
          // Otherwise the token acts as alice.
          assert.ok((await byToken.describeCluster()).brokers.length > 0);
        } finally {
          await byToken.close();
        }
        await admin.expireDelegationToken(token.hmac);

        for (
          const [call, what] of [
            [
              () => admin.createDelegationToken({ renewers: ["bob"] }),
              '"renewers[0]"',
            ],
            [
              () => admin.createDelegationToken({ maxLifetime: 0 }),
              '"maxLifetime"',
            ],
            [() => admin.createDelegationToken({ owner: "User:" }), '"owner"'],
            [() => admin.renewDelegationToken("x" as never), '"hmac"'],
            [
              () =>
                admin.expireDelegationToken(token.hmac, {
                  expiryTimePeriod: 1.5,
                }),
              '"expiryTimePeriod"',
            ],
            [
              () =>
                admin.describeDelegationTokens({
                  owners: "User:alice" as never,
                }),
              '"owners"',
            ],
          ] as const
        ) {
          await assert.rejects(
            call(),
            (e: Error) => e instanceof TypeError && e.message.includes(what),
          );
        }
        assert.throws(
          () => delegationToken({ tokenId: "", hmac: new Uint8Array(1) }),
          /"token" must be \{ tokenId, hmac \}/,
        );
        assert.throws(
          () => delegationToken(token, "PLAIN" as never),
          /"mechanism" must be "SCRAM-SHA-256" or "SCRAM-SHA-512"/,
        );
      } finally {
        await Promise.all([plaintext.close(), admin.close()]);
      }
    });
  });
});
