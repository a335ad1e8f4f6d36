/**
 * The admin Client's security calls against the real broker (which runs
 * StandardAuthorizer and SASL SCRAM on its SASL_PLAINTEXT listener):
 * ACLs (describeAcls, createAcls, deleteAcls), client quotas
 * (describeClientQuotas, alterClientQuotas) and SCRAM users
 * (describeUserScramCredentials, alterUserScramCredentials), with their
 * per-item errors and argument checks. Every ACL, quota and user here is
 * made up for the test (other tests share the broker) and removed at the
 * end.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, describe, test } from "node:test";
import { Client, Cluster, dial, ErrorCode, KafkaError } from "../mod.ts";
import type { AclBinding, NewAcl } from "../mod.ts";
import { BROKER, noUnhandledRejections, sleep } from "./_helpers.ts";

const SASL = process.env.KAFKA_SASL_BROKERS ?? "127.0.0.1:9094";

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${
    Math.random().toString(36).slice(2, 8)
  }`;
}

/**
 * Calls `get` until `done` accepts its result (the brokers apply metadata
 * changes a moment after the controller accepts them), for up to 15 s.
 */
async function until<T>(
  get: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await get();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}

/** Whether a SCRAM-SHA-256 login of `username` with `password` succeeds. */
async function canLogIn(username: string, password: string): Promise<boolean> {
  try {
    const conn = await dial(SASL, {
      sasl: { mechanism: "SCRAM-SHA-256", username, password },
      timeout: 5000,
    });
    try {
      return (await conn.brokers()).length >= 1;
    } finally {
      conn.close();
    }
  } catch (error) {
    assert.match(String(error), /SASL_AUTHENTICATION_FAILED|SCRAM/);
    return false;
  }
}

const byText = (a: AclBinding, b: AclBinding) =>
  JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;

describe("admin Client: ACLs, quotas, SCRAM users", () => {
  const cluster = new Cluster({ brokers: [BROKER] });
  const client = new Client({ cluster, timeout: 20_000 });
  const principal = `User:${unique("acl-test")}`;
  const clientId = unique("quota-test");
  const user = unique("scram-test");
  after(async () => {
    // Leave nothing behind, even when a test failed half way.
    await client.deleteAcls([{ principal }]).catch(() => {});
    await client.alterClientQuotas([{
      entity: { "client-id": clientId },
      ops: [{ key: "producer_byte_rate", remove: true }],
    }]).catch(() => {});
    await client.alterUserScramCredentials([], [
      { user, mechanism: "SCRAM-SHA-256" },
    ]).catch(() => {});
    await cluster.close();
  });

  test("createAcls, describeAcls, deleteAcls: per-ACL and per-filter results", async () => {
    const topic = unique("acl-test-topic");
    const acls: NewAcl[] = [
      {
        resourceType: "topic",
        resourceName: topic,
        principal,
        operation: "read",
        permission: "allow",
      },
      {
        resourceType: "group",
        resourceName: `${topic}-group-`,
        patternType: "prefixed",
        principal,
        host: "127.0.0.1",
        operation: "describe",
        permission: "allow",
      },
      {
        // The cluster resource is named "kafka-cluster": the broker refuses
        // this one alone.
        resourceType: "cluster",
        resourceName: topic,
        principal,
        operation: "alter",
        permission: "allow",
      },
    ];
    // A principal must be "Type:name": refused before anything is sent.
    await assert.rejects(
      client.createAcls([{
        ...acls[0],
        principal: principal.slice("User:".length),
      }]),
      /^TypeError: Client\.createAcls: "acls\[0\]\.principal" must be "Type:name" of a principal, e\.g\. "User:alice" or "User:\*", got string "[^"]+"$/,
    );
    const created = await client.createAcls(acls);
    assert.deepEqual(created.map((c) => c.acl), acls);
    assert.equal(created[0].error, null);
    assert.equal(created[1].error, null);
    assert.ok(created[2].error instanceof KafkaError);
    assert.equal(created[2].error.code, ErrorCode.INVALID_REQUEST);

    const expected: AclBinding[] = [
      {
        resourceType: "topic",
        resourceName: topic,
        patternType: "literal",
        principal,
        host: "*",
        operation: "read",
        permission: "allow",
      },
      {
        resourceType: "group",
        resourceName: `${topic}-group-`,
        patternType: "prefixed",
        principal,
        host: "127.0.0.1",
        operation: "describe",
        permission: "allow",
      },
    ];
    expected.sort(byText);
    const described = await until(
      () => client.describeAcls({ principal }),
      (found) => found.length === 2,
    );
    assert.deepEqual(described.sort(byText), expected);
    // Filters narrow: by resource type, and "match" finds the literal ACL.
    assert.deepEqual(
      await client.describeAcls({ principal, resourceType: "group" }),
      expected.filter((a) => a.resourceType === "group"),
    );
    assert.deepEqual(
      await client.describeAcls({
        resourceType: "topic",
        resourceName: topic,
        patternType: "match",
        principal,
      }),
      expected.filter((a) => a.resourceType === "topic"),
    );

    const nobody = { principal: `User:${unique("acl-test-nobody")}` };
    const deleted = await client.deleteAcls([
      { principal, resourceType: "topic", operation: "read" },
      nobody,
    ]);
    assert.equal(deleted.length, 2);
    assert.equal(deleted[0].error, null);
    assert.deepEqual(
      deleted[0].deleted,
      [{ acl: expected.find((a) => a.resourceType === "topic"), error: null }],
    );
    assert.deepEqual(deleted[1], { filter: nobody, deleted: [], error: null });
    const rest = await client.deleteAcls([{ principal }]);
    assert.deepEqual(rest[0].deleted.map((d) => [d.acl, d.error]), [
      [expected.find((a) => a.resourceType === "group"), null],
    ]);
    assert.deepEqual(
      await until(
        () => client.describeAcls({ principal }),
        (found) => found.length === 0,
      ),
      [],
    );
  });

  test("ACL arguments are checked before anything is sent", async () => {
    const acl: NewAcl = {
      resourceType: "topic",
      resourceName: "t",
      principal,
      operation: "read",
      permission: "allow",
    };
    await assert.rejects(
      client.createAcls([acl, {
        ...acl,
        resourceType: "any" as NewAcl["resourceType"],
      }]),
      {
        name: "TypeError",
        message:
          /Client\.createAcls: "acls\[1\]\.resourceType" must be one of "topic", .*"user" \("any" and "match" are only for filters\), got string "any"/,
      },
    );
    await assert.rejects(
      client.createAcls([{ ...acl, principal: "" }]),
      /"acls\[0\]\.principal" must be "Type:name" of a principal, e\.g\. "User:alice" or "User:\*", got string ""/,
    );
    await assert.rejects(
      client.describeAcls({ operation: "reed" as "read" }),
      /Client\.describeAcls: "filter\.operation" must be one of "any", "all", "read", .*got string "reed"/,
    );
    await assert.rejects(
      client.deleteAcls({ principal } as never),
      /Client\.deleteAcls: "filters" must be an array of ACL filters, got object/,
    );
    assert.deepEqual(await client.createAcls([]), []);
    assert.deepEqual(await client.deleteAcls([]), []);
    // Nothing was created by the refused calls.
    assert.deepEqual(await client.describeAcls({ principal }), []);
  });

  test("client quotas: set, describe, validate only, remove; an invalid entity fails alone", async () => {
    const other = unique("quota-test-other");
    const results = await client.alterClientQuotas([
      {
        entity: { "client-id": clientId },
        ops: [{ key: "producer_byte_rate", value: 1048576 }],
      },
      {
        entity: { "client-id": other },
        ops: [{ key: "no_such_quota", value: 1 }],
      },
    ]);
    assert.deepEqual(results.map((r) => r.entity), [
      { "client-id": clientId },
      { "client-id": other },
    ]);
    assert.equal(results[0].error, null);
    assert.ok(results[1].error instanceof KafkaError);
    assert.equal(results[1].error.code, ErrorCode.INVALID_REQUEST);
    assert.match(results[1].error.message, /no_such_quota/);

    const filter = [{ entityType: "client-id" as const, name: clientId }];
    assert.deepEqual(
      await until(
        () => client.describeClientQuotas(filter, { strict: true }),
        (found) => found.length === 1,
      ),
      [{
        entity: { "client-id": clientId },
        values: { producer_byte_rate: 1048576 },
      }],
    );
    // Every named client id: ours is among them, the refused one is not.
    const named = await client.describeClientQuotas([
      { entityType: "client-id" },
    ]);
    assert.ok(named.some((q) => q.entity["client-id"] === clientId));
    assert.ok(!named.some((q) => q.entity["client-id"] === other));

    const [checked] = await client.alterClientQuotas([{
      entity: { "client-id": clientId },
      ops: [{ key: "consumer_byte_rate", value: 2048 }],
    }], { validateOnly: true });
    assert.equal(checked.error, null);
    const [removed] = await client.alterClientQuotas([{
      entity: { "client-id": clientId },
      ops: [{ key: "producer_byte_rate", remove: true }],
    }]);
    assert.equal(removed.error, null);
    assert.deepEqual(
      await until(
        () => client.describeClientQuotas(filter, { strict: true }),
        (found) => found.length === 0,
      ),
      [],
    );
  });

  test("quota arguments are checked before anything is sent", async () => {
    await assert.rejects(
      client.alterClientQuotas([{
        entity: { client: "x" } as never,
        ops: [{ key: "producer_byte_rate", value: 1 }],
      }]),
      /Client\.alterClientQuotas: "entries\[0\]\.entity key" must be an entity type, "user", "client-id" or "ip", got string "client"/,
    );
    await assert.rejects(
      client.alterClientQuotas([{
        entity: { "client-id": clientId },
        ops: [{ key: "producer_byte_rate", value: "1" as never }],
      }]),
      /"entries\[0\]\.ops\[0\]\.value" must be a finite number of at least 0 \(or remove: true\), got string "1"/,
    );
    await assert.rejects(
      client.describeClientQuotas([{ entityType: "users" as "user" }]),
      /Client\.describeClientQuotas: "components\[0\]\.entityType" must be an entity type/,
    );
    assert.deepEqual(await client.alterClientQuotas([]), []);
  });

  test("SCRAM users: upsert, describe, log in with it, delete, log in refused", async () => {
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const weak = unique("scram-test-weak");
    const unknown = unique("scram-test-nobody");
    const [before] = await client.describeUserScramCredentials([user]);
    assert.equal(before.error?.code, ErrorCode.RESOURCE_NOT_FOUND);

    const results = await client.alterUserScramCredentials([
      { user, mechanism: "SCRAM-SHA-256", password, iterations: 8192 },
      // Kafka refuses fewer than 4096 iterations: this user fails alone.
      { user: weak, mechanism: "SCRAM-SHA-512", password, iterations: 1 },
    ]);
    assert.deepEqual(results.map((r) => r.user), [user, weak]);
    assert.equal(results[0].error, null);
    assert.ok(results[1].error instanceof KafkaError);
    assert.equal(results[1].error.code, ErrorCode.UNACCEPTABLE_CREDENTIAL);

    const described = await until(
      () => client.describeUserScramCredentials([user, unknown, weak]),
      (found) => found[0].error === null,
    );
    assert.deepEqual(described.map((d) => d.user), [user, unknown, weak]);
    assert.deepEqual(described[0], {
      user,
      credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 8192 }],
      error: null,
    });
    assert.equal(described[1].error?.code, ErrorCode.RESOURCE_NOT_FOUND);
    assert.deepEqual(described[1].credentials, []);
    assert.equal(described[2].error?.code, ErrorCode.RESOURCE_NOT_FOUND);
    const all = await client.describeUserScramCredentials(null);
    assert.ok(all.some((d) => d.user === user && d.error === null));

    // The salted password the client computed is the one the broker checks.
    assert.equal(await until(() => canLogIn(user, password), (ok) => ok), true);
    assert.equal(await canLogIn(user, `${password}-wrong`), false);

    const deleted = await client.alterUserScramCredentials([], [
      { user, mechanism: "SCRAM-SHA-256" },
      // Deleting what does not exist fails for that user alone.
      { user: unknown, mechanism: "SCRAM-SHA-256" },
    ]);
    assert.deepEqual(deleted.map((d) => [d.user, d.error?.code ?? null]), [
      [user, null],
      [unknown, ErrorCode.RESOURCE_NOT_FOUND],
    ]);
    assert.equal(
      await until(() => canLogIn(user, password), (ok) => !ok),
      false,
    );
    const [after] = await client.describeUserScramCredentials([user]);
    assert.equal(after.error?.code, ErrorCode.RESOURCE_NOT_FOUND);
  });

  test("SCRAM arguments are checked before anything is sent; no rejection is left unhandled", async () => {
    await noUnhandledRejections(async () => {
      await assert.rejects(
        client.alterUserScramCredentials([{
          user,
          mechanism: "SCRAM-SHA-1" as "SCRAM-SHA-256",
          password: "p",
        }]),
        /Client\.alterUserScramCredentials: "upsertions\[0\]\.mechanism" must be "SCRAM-SHA-256" or "SCRAM-SHA-512", got string "SCRAM-SHA-1"/,
      );
      await assert.rejects(
        client.alterUserScramCredentials([{
          user,
          mechanism: "SCRAM-SHA-256",
          password: "p",
          iterations: 1.5,
        }]),
        /"upsertions\[0\]\.iterations" must be a positive integer up to 16384 \(Kafka accepts 4096 to 16384\), got number 1.5/,
      );
      // Hashing 2^31 - 1 iterations would take hours: refused at once.
      const started = Date.now();
      await assert.rejects(
        client.alterUserScramCredentials([{
          user,
          mechanism: "SCRAM-SHA-256",
          password: "p",
          iterations: 2 ** 31 - 1,
        }]),
        /"upsertions\[0\]\.iterations" must be a positive integer up to 16384 \(Kafka accepts 4096 to 16384\), got number 2147483647/,
      );
      assert.ok(Date.now() - started < 1000);
      await assert.rejects(
        client.alterUserScramCredentials([{
          user,
          mechanism: "SCRAM-SHA-256",
          password: 42 as never,
        }]),
        (error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /"upsertions\[0\]\.password" must be/);
          assert.doesNotMatch(error.message, /42/); // a password is not shown
          return true;
        },
      );
      await assert.rejects(
        client.alterUserScramCredentials([], [{
          user: "",
          mechanism: "SCRAM-SHA-256",
        }]),
        /"deletions\[0\]\.user" must be a user name, got string ""/,
      );
      await assert.rejects(
        client.describeUserScramCredentials("alice" as never),
        /"users" must be an array of user names, or null, got string "alice"/,
      );
      assert.deepEqual(await client.describeUserScramCredentials([]), []);
      assert.deepEqual(await client.alterUserScramCredentials([], []), []);
    });
  });
});
