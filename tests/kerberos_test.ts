/**
 * SASL GSSAPI (Kerberos) against the test broker's GSSAPI listener and the
 * KDC that `tools/kafka.ts` runs beside it (Apache Kerby, realm
 * STREAMKAFKA.TEST): passwords and keytabs, tickets kept between
 * connections, refusals that say what to check, and a KDC killed with
 * kill -9 and started again.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import process from "node:process";
import { describe, test } from "node:test";
import {
  ConnectionError,
  dial,
  gssapi,
  KafkaError,
  KerberosError,
  Reader,
  Writer,
} from "../mod.ts";
import { main as example } from "../examples/kerberos_produce_consume.ts";
import { kafkaTool, noUnhandledRejections, uniqueTopic } from "./_helpers.ts";

const env = process.env;
const GSSAPI = env.KAFKA_GSSAPI_BROKERS ?? "127.0.0.1:9099";
const KDC = env.KAFKA_KDC ?? "127.0.0.1:9089";
const REALM = "STREAMKAFKA.TEST";
const DIR = new URL("../.kafka/kerberos/", import.meta.url).pathname;
const ALICE = `alice@${REALM}`;
const text = new TextDecoder();

/** A TCP relay to the KDC that counts the connections made through it. */
async function countingRelay(
  target: string,
): Promise<
  { address: string; connections: () => number; close: () => Promise<void> }
> {
  const [host, port] = target.split(":");
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    count++;
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("no port");
  }
  return {
    address: `127.0.0.1:${address.port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The refusal's whole text: the KafkaError's message and its cause's. */
function explained(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" <- ");
}

describe("SASL GSSAPI (Kerberos)", () => {
  test("a password: a Writer and a Reader share one login and one ticket", async () => {
    const relay = await countingRelay(KDC);
    const sasl = gssapi({
      principal: ALICE,
      password: "alice-secret",
      kdc: relay.address,
    });
    const topic = uniqueTopic("kerberos");
    const writer = new Writer({
      brokers: [GSSAPI],
      topic,
      allowAutoTopicCreation: true,
      transport: { sasl },
    });
    const reader = new Reader({
      brokers: [GSSAPI],
      topic,
      partition: 0,
      transport: { sasl },
    });
    try {
      await writer.writeMessages(
        ["one", "two", "three"].map((value) => ({ value })),
      );
      const seen: string[] = [];
      for await (const m of reader) {
        seen.push(text.decode(m.value!));
        if (seen.length === 3) break;
      }
      assert.deepEqual(seen, ["one", "two", "three"]);
      // One login (AS-REQ without, then with pre-authentication) and one
      // ticket for kafka/127.0.0.1, however many connections were made.
      assert.equal(relay.connections(), 3);
    } finally {
      await writer.close();
      await reader.close();
      await relay.close();
    }
  });

  test("connections opened at once share one login and one ticket", async () => {
    const relay = await countingRelay(KDC);
    const sasl = gssapi({
      principal: ALICE,
      password: "alice-secret",
      kdc: relay.address,
    });
    try {
      const conns = await Promise.all(
        Array.from({ length: 5 }, () => dial(GSSAPI, { sasl })),
      );
      for (const conn of conns) conn.close();
      assert.equal(relay.connections(), 3);
    } finally {
      await relay.close();
    }
  });

  test("a keytab, as bytes or as a path, with the realm given apart", async () => {
    const keytab = readFileSync(`${DIR}alice.keytab`);
    for (
      const options of [
        { principal: ALICE, keytab: new Uint8Array(keytab), kdc: KDC },
        {
          principal: "alice",
          realm: REALM,
          keytab: `${DIR}alice.keytab`,
          kdc: KDC,
        },
      ]
    ) {
      const conn = await dial(GSSAPI, { sasl: gssapi(options) });
      try {
        assert.ok((await conn.brokers()).length >= 1);
      } finally {
        conn.close();
      }
    }
  });

  test("examples/kerberos_produce_consume.ts writes and reads back as alice", async () => {
    await noUnhandledRejections(async () => {
      const topic = uniqueTopic("kerberos-example");
      const messages = await example(GSSAPI, topic, {
        principal: ALICE,
        keytab: `${DIR}alice.keytab`,
        kdc: KDC,
      });
      assert.deepEqual(
        messages.map((
          m,
        ) => [text.decode(m.key!), text.decode(m.value!), m.offset]),
        [
          ["1", "first, with a ticket", 0],
          ["2", "second, with a ticket", 1],
          ["3", "third, with a ticket", 2],
        ],
      );
    });
  });

  test("a kinit session's credential cache: its principal, its ticket-granting ticket, no password", async () => {
    const relay = await countingRelay(KDC);
    const sasl = gssapi({
      ticketCache: `${DIR}bob.ccache`,
      kdc: relay.address,
    });
    const topic = uniqueTopic("kerberos-ccache");
    const writer = new Writer({
      brokers: [GSSAPI],
      topic,
      allowAutoTopicCreation: true,
      transport: { sasl },
    });
    try {
      await writer.writeMessages([{ value: "from bob's kinit session" }]);
      // No login: one TGS exchange for the broker's ticket.
      assert.equal(relay.connections(), 1);
    } finally {
      await writer.close();
      await relay.close();
    }
    // The cache holds bob's ticket only.
    await assert.rejects(
      dial(GSSAPI, {
        sasl: gssapi({
          principal: ALICE,
          ticketCache: `${DIR}bob.ccache`,
          kdc: KDC,
        }),
      }),
      (error) => {
        assert.match(
          explained(error),
          /holds no ticket-granting ticket \(krbtgt\/STREAMKAFKA\.TEST@STREAMKAFKA\.TEST\) for alice@STREAMKAFKA\.TEST: run kinit/,
        );
        return true;
      },
    );
    // KRB5CCNAME names the default cache.
    const before = env.KRB5CCNAME;
    env.KRB5CCNAME = `FILE:${DIR}bob.ccache`;
    try {
      (await dial(GSSAPI, { sasl: gssapi({ ticketCache: true, kdc: KDC }) }))
        .close();
    } finally {
      if (before === undefined) delete env.KRB5CCNAME;
      else env.KRB5CCNAME = before;
    }
  });

  test("serviceHost names the broker's principal, and may be async (a DNS lookup)", async () => {
    const asked: string[] = [];
    const lookup = async (host: string) => {
      asked.push(host);
      await new Promise((r) => setTimeout(r, 5));
      return host;
    };
    const conn = await dial(GSSAPI, {
      sasl: gssapi({
        principal: ALICE,
        password: "alice-secret",
        kdc: KDC,
        serviceHost: lookup,
      }),
    });
    conn.close();
    assert.deepEqual(asked, ["127.0.0.1"]);
    await assert.rejects(
      dial(GSSAPI, {
        sasl: gssapi({
          principal: ALICE,
          password: "alice-secret",
          kdc: KDC,
          serviceHost: () => Promise.resolve("broker9.example.com"),
        }),
      }),
      (error) => {
        assert.match(
          explained(error),
          /ticket for kafka\/broker9\.example\.com@STREAMKAFKA\.TEST: KDC_ERR_S_PRINCIPAL_UNKNOWN/,
        );
        return true;
      },
    );
  });

  test("without a kdc option, the realm's KDC comes from KRB5_CONFIG", async () => {
    const before = env.KRB5_CONFIG;
    env.KRB5_CONFIG = `/nonexistent/krb5.conf:${DIR}krb5.conf`;
    try {
      const conn = await dial(GSSAPI, {
        sasl: gssapi({ principal: ALICE, password: "alice-secret" }),
      });
      conn.close();
      env.KRB5_CONFIG = "/nonexistent/krb5.conf";
      await assert.rejects(
        dial(GSSAPI, {
          sasl: gssapi({ principal: ALICE, password: "alice-secret" }),
        }),
        (error) => {
          assert.match(
            explained(error),
            /no KDC of realm STREAMKAFKA\.TEST in \/nonexistent\/krb5\.conf/,
          );
          return true;
        },
      );
    } finally {
      if (before === undefined) delete env.KRB5_CONFIG;
      else env.KRB5_CONFIG = before;
    }
  });

  test("refusals name the principal, the Kerberos error and what to check", async () => {
    const cases: [Parameters<typeof gssapi>[0], RegExp][] = [
      [
        { principal: ALICE, password: "wrong", kdc: KDC },
        /alice@STREAMKAFKA\.TEST could not log in: .*wrong password or keytab key.*check the password or keytab/,
      ],
      [
        { principal: `carol@${REALM}`, password: "x", kdc: KDC },
        /carol@STREAMKAFKA\.TEST could not log in: KDC_ERR_C_PRINCIPAL_UNKNOWN \(6\)/,
      ],
      [
        {
          principal: ALICE,
          password: "alice-secret",
          kdc: KDC,
          serviceName: "kafka-nope",
        },
        /ticket for kafka-nope\/127\.0\.0\.1@STREAMKAFKA\.TEST: KDC_ERR_S_PRINCIPAL_UNKNOWN \(7\).*service name/,
      ],
      [
        { principal: `bob@${REALM}`, keytab: `${DIR}alice.keytab`, kdc: KDC },
        /the keytab holds no key for bob@STREAMKAFKA\.TEST; it holds alice@STREAMKAFKA\.TEST/,
      ],
      [
        { principal: ALICE, keytab: `${DIR}missing.keytab`, kdc: KDC },
        /cannot read the keytab ".*missing\.keytab"/,
      ],
    ];
    for (const [options, expected] of cases) {
      await assert.rejects(dial(GSSAPI, { sasl: gssapi(options) }), (error) => {
        assert.ok(error instanceof KafkaError, String(error));
        assert.equal(error.name, "SASL_AUTHENTICATION_FAILED");
        assert.equal(error.retriable, false);
        assert.match(explained(error), expected);
        assert.match(error.message, /broker 127\.0\.0\.1:9099, GSSAPI/);
        return true;
      });
    }
    // A wrong password's cause is the KDC's refusal, with its code.
    await assert.rejects(
      dial(GSSAPI, {
        sasl: gssapi({ principal: ALICE, password: "wrong", kdc: KDC }),
      }),
      (error) =>
        error instanceof KafkaError && error.cause instanceof KerberosError &&
        [24, 31].includes(error.cause.code),
    );
  });

  test("bad options are refused before any connection", () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /takes an options object, got undefined/],
      [
        { principal: "", password: "x" },
        /"principal" must be a non-empty string/,
      ],
      [{ principal: "alice", password: "x" }, /names no realm/],
      [
        { principal: ALICE },
        /exactly one of "password", "keytab" and "ticketCache" for alice@STREAMKAFKA\.TEST, got none/,
      ],
      [
        { principal: ALICE, password: "x", keytab: "k" },
        /got password and keytab/,
      ],
      [{ password: "x" }, /"principal" must be a non-empty string/],
      [
        { ticketCache: "" },
        /"ticketCache" must be a credential cache's path or true/,
      ],
      [{ password: "x", ticketCache: true }, /got password and ticketCache/],
      [
        { principal: ALICE, keytab: 42 },
        /"keytab" must be a file path or a Uint8Array/,
      ],
      [
        { principal: ALICE, password: "x", kdc: [] },
        /"kdc" must be "host\[:port\]"/,
      ],
      [
        { principal: ALICE, password: "x", serviceName: "" },
        /"serviceName" must be a non-empty string/,
      ],
      [
        { principal: "alice@A", realm: "B", password: "x" },
        /names realm A, but "realm" is "B"/,
      ],
      [{ principal: "kafka//h@A", password: "x" }, /has an empty name part/],
      [
        { principal: ALICE, password: "x", kdc: "udp/kdc.example.com" },
        /asks for UDP; .* TCP only/,
      ],
      [{
        principal: ALICE,
        password: "x",
        kdc: "https://kdc.example.com/KdcProxy",
      }, /is a URL/],
      [
        { principal: ALICE, password: "x", kdc: "kdc:abc" },
        /has a port that is not a number/,
      ],
      [
        { principal: ALICE, password: "x", kdc: "kdc:70000" },
        /has a port outside 1-65535/,
      ],
      [
        { principal: ALICE, keytab: new Uint8Array([5, 1]) },
        /must start with 0x0502/,
      ],
      [
        { principal: ALICE, password: "x", kdcTimeout: "1000" },
        /"kdcTimeout" must be a positive number of milliseconds up to 2147483647, got "1000"$/,
      ],
    ];
    // A number out of range is a RangeError.
    for (const kdcTimeout of [3e9, -1]) {
      assert.throws(
        () => gssapi({ principal: ALICE, password: "x", kdcTimeout }),
        new RangeError(
          `Cannot use GSSAPI: "kdcTimeout" must be a positive number of milliseconds up to 2147483647, got ${kdcTimeout}`,
        ),
      );
    }
    // Accepted: IPv6 with and without brackets, krb5.conf's tcp/ prefix.
    for (const kdc of ["[::1]:88", "::1", "tcp/kdc.example.com:750", "kdc"]) {
      gssapi({ principal: ALICE, password: "x", kdc });
    }
    for (const [options, expected] of cases) {
      assert.throws(
        () => gssapi(options as Parameters<typeof gssapi>[0]),
        (error) => error instanceof TypeError && expected.test(error.message),
        String(expected),
      );
    }
  });

  test("a KDC nobody answers at is a retriable connection failure naming it", async () => {
    await assert.rejects(
      dial(GSSAPI, {
        sasl: gssapi({
          principal: ALICE,
          password: "alice-secret",
          kdc: "127.0.0.1:1",
          kdcTimeout: 2000,
        }),
      }),
      (error) => {
        assert.ok(error instanceof ConnectionError, String(error));
        assert.equal(error.retriable, true);
        assert.match(
          error.message,
          /ticket for kafka\/127\.0\.0\.1@STREAMKAFKA\.TEST.*KDC 127\.0\.0\.1:1|127\.0\.0\.1:1/,
        );
        return true;
      },
    );
  });

  test("a kdc address where something else answers fails at once, not retried", async () => {
    // An HTTP server's bytes where a KDC's answer belongs.
    const server = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as { port: number };
    try {
      await assert.rejects(
        dial(GSSAPI, {
          sasl: gssapi({
            principal: ALICE,
            password: "alice-secret",
            kdc: `127.0.0.1:${port}`,
          }),
        }),
        (error) => {
          assert.equal((error as { retriable?: boolean }).retriable, false);
          assert.match(
            explained(error),
            new RegExp(
              `KDC 127\\.0\\.0\\.1:${port} answered with something that is not Kerberos .*HTTP.*check the "kdc" address`,
            ),
          );
          return true;
        },
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("the KDC killed with kill -9: tickets got before keep working, new logins retry until it is back", async () => {
    const sasl = gssapi({
      principal: ALICE,
      password: "alice-secret",
      kdc: KDC,
    });
    (await dial(GSSAPI, { sasl })).close();
    await kafkaTool("kill-kdc");
    try {
      // The ticket is kept: no KDC needed for another connection.
      const conn = await dial(GSSAPI, { sasl });
      conn.close();
      // A new login cannot reach the KDC: retriable, so a Writer waits.
      const fresh = gssapi({
        principal: ALICE,
        password: "alice-secret",
        kdc: KDC,
        kdcTimeout: 1000,
      });
      await assert.rejects(
        dial(GSSAPI, { sasl: fresh }),
        (error) => error instanceof ConnectionError && error.retriable,
      );
      const topic = uniqueTopic("kerberos-kdc");
      const writer = new Writer({
        brokers: [GSSAPI],
        topic,
        allowAutoTopicCreation: true,
        transport: { sasl: fresh },
      });
      try {
        const written = writer.writeMessages([{
          value: "after the KDC came back",
        }]);
        await new Promise((r) => setTimeout(r, 1500));
        await kafkaTool("up");
        await written;
      } finally {
        await writer.close();
      }
    } finally {
      await kafkaTool("up");
    }
  });
});
