/**
 * Peers that misbehave in ways a real broker cannot be made to: each must
 * give a clear error within the timeout, never a hang and never an
 * unhandled rejection. An in-process fake server plays the peer.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import {
  dial,
  KafkaError,
  Reader,
  ShareReader,
  type TransportOptions,
} from "../mod.ts";
import {
  ConnectionError,
  ProtocolError,
  ThrottledError,
  TimeoutError,
} from "../lib/connection/errors.ts";
import { ByteWriter } from "../lib/protocol/bytes.ts";
import { ApiVersions } from "../lib/protocol/testing/api_versions.ts";
import { Metadata } from "../lib/protocol/messages/metadata.ts";
import { Produce } from "../lib/protocol/messages/produce.ts";
import { produceRequest } from "../lib/requests/produce.ts";
import { BrokerConnection } from "../lib/connection/connection.ts";
import {
  BROKER,
  noUnhandledRejections,
  runScript,
  uniqueTopic,
} from "./_helpers.ts";
import { readFileSync } from "node:fs";
import { CA_PEM, CLIENT_CERT_PEM, CLIENT_KEY_PEM } from "../tools/kafka.ts";

type Behaviour = (socket: net.Socket, request: Uint8Array) => void;

/** A TCP server on a free loopback port that answers each frame with `behave`. */
async function fakeServer(behave: Behaviour): Promise<{
  address: string;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (chunk: Uint8Array) => behave(socket, chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function correlationId(request: Uint8Array): number {
  return new DataView(request.buffer, request.byteOffset).getInt32(8);
}

function frame(...parts: number[][]): Uint8Array {
  const body = parts.flat();
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

function int32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

async function expectFailure(
  behave: Behaviour,
  check: (error: unknown) => boolean,
  timeout = 2000,
): Promise<number> {
  const server = await fakeServer(behave);
  const started = Date.now();
  try {
    await noUnhandledRejections(async () => {
      await assert.rejects(
        dial(server.address, { timeout }),
        (error) => {
          assert.ok(check(error), `unexpected error: ${error}`);
          return true;
        },
      );
    });
  } finally {
    await server.close();
  }
  return Date.now() - started;
}

/** A TCP server that accepts, reads and never answers; it counts connections. */
async function silentPeer(): Promise<{
  address: string;
  accepted(): number;
  open(): number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.resume(); // reading, so that the client's close is seen
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("bad peers", () => {
  test("a closed port fails fast with ConnectionError", async () => {
    const server = await fakeServer(() => {});
    const address = server.address;
    await server.close();
    await noUnhandledRejections(async () => {
      await assert.rejects(dial(address, { timeout: 2000 }), (error) => {
        assert.ok(error instanceof ConnectionError, String(error));
        assert.match(
          (error as Error).message,
          /Cannot connect to 127\.0\.0\.1/,
        );
        return true;
      });
    });
  });

  test("an HTTP server is reported as not Kafka", async () => {
    const elapsed = await expectFailure(
      (socket) => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"),
      (error) =>
        error instanceof ProtocolError &&
        /Cannot read response from 127\.0\.0\.1:\d+: frame size \d+ is outside/
          .test(error.message) &&
        /an HTTP server answered/.test(error.message),
    );
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });

  test("a response cut short is a ConnectionError naming the cut", async () => {
    await expectFailure(
      (socket, request) => {
        const partial = frame(int32(correlationId(request)), [0, 0, 0]);
        // Claim 100 bytes, send a few, then hang up.
        new DataView(partial.buffer).setInt32(0, 100);
        socket.end(partial);
      },
      (error) =>
        error instanceof ConnectionError &&
        /in the middle of a response/.test(error.message),
    );
  });

  test("a garbage body with the right correlation id fails decoding", async () => {
    await expectFailure(
      (socket, request) =>
        socket.write(frame(int32(correlationId(request)), [0xff, 0xff, 0xff])),
      (error) =>
        error instanceof ProtocolError &&
        /Cannot decode ApiVersions.* v\d+.*from 127\.0\.0\.1/.test(
          error.message,
        ),
    );
  });

  test("an unknown correlation id is a ProtocolError", async () => {
    await expectFailure(
      (socket) => socket.write(frame(int32(987654), [0, 0])),
      (error) =>
        error instanceof ProtocolError &&
        /correlation id 987654 was never sent/.test(error.message),
    );
  });

  // Kafka answers in order: an answer repeated, or one that passes over an
  // earlier request, means that request will never be answered. Both fail
  // the connection at once (the requests waited for their timeout).
  for (
    const [what, answerTo, expected] of [
      [
        "an answer repeated",
        (ids: number[]) => [ids[0]],
        /correlation id 1 was never sent, or was answered already$/,
      ],
      [
        "an answer ahead of an earlier request's",
        (ids: number[]) => [ids[2]],
        /correlation id 3 was answered before 2, sent earlier \(a Kafka broker answers in order\)$/,
      ],
    ] as const
  ) {
    test(`${what} is a ProtocolError at once`, async () => {
      const ids: number[] = [];
      const server = await fakeServer((socket, chunk) => {
        // Every frame of the chunk: the two Metadata requests come together.
        for (let at = 0; at < chunk.length;) {
          const size = new DataView(chunk.buffer, chunk.byteOffset + at)
            .getInt32(0);
          ids.push(correlationId(chunk.subarray(at)));
          at += 4 + size;
        }
        if (ids.length === 1) socket.write(apiVersionsAnswer(ids[0]));
        else if (ids.length === 3) {
          for (const id of answerTo(ids)) {
            socket.write(apiVersionsAnswer(id));
          }
        }
      });
      try {
        await noUnhandledRejections(async () => {
          const [host, port] = server.address.split(":");
          const conn = await BrokerConnection.open(host, Number(port), {
            requestTimeout: 20_000,
          });
          const started = Date.now();
          const requests = [1, 2].map(() =>
            conn.request(Metadata, { topics: [] } as never, { version: 0 })
          );
          for (const request of requests) {
            await assert.rejects(request, (error) => {
              assert.ok(error instanceof ProtocolError, String(error));
              assert.match(error.message, expected);
              return true;
            });
          }
          assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
          conn.close();
        });
      } finally {
        await server.close();
      }
    });
  }

  test("a throttle the broker reports holds the connection's next requests until it ends, in order; one cancelled or out of time meanwhile is never written, and closing rejects the rest at once", async () => {
    const arrived = new Map<number, number>();
    const throttles = new Map([[1, 3000], [2, 1500], [5, 1500], [8, 1500]]);
    const throttled = new Map<number, number>();
    const server = await fakeServer((socket, chunk) => {
      for (let at = 0; at < chunk.length;) {
        const size = new DataView(chunk.buffer, chunk.byteOffset + at)
          .getInt32(0);
        const id = correlationId(chunk.subarray(at));
        at += 4 + size;
        arrived.set(id, Date.now());
        const throttle = throttles.get(id) ?? 0;
        if (throttle) throttled.set(id, Date.now());
        socket.write(apiVersionsAnswer(id, [], throttle));
      }
    });
    const ask = (conn: BrokerConnection, options = {}) =>
      conn.request(ApiVersions, {} as never, { version: 3, ...options });
    try {
      await noUnhandledRejections(async () => {
        const [host, port] = server.address.split(":");
        // The handshake's answer (1) says 3 s: no broker throttles one, and
        // a peer that says so does not hold the connection's first request.
        const conn = await BrokerConnection.open(host, Number(port));
        const opened = Date.now();
        await ask(conn); // 2: throttled for 1.5 s
        assert.ok(Date.now() - opened < 1000, `${Date.now() - opened} ms`);
        // 3 may wait 5 s to be written; its 500 ms timeout starts then.
        const third = ask(conn, { timeout: 500, holdFor: 5000 });
        const cancel = new AbortController();
        const fourth = ask(conn, { signal: cancel.signal });
        const fifth = ask(conn); // throttled for 1.5 s
        cancel.abort(new Error("not wanted"));
        await assert.rejects(fourth, /not wanted/);
        await Promise.all([third, fifth]);
        for (const id of [3, 5]) {
          const waited = arrived.get(id)! - throttled.get(2)!;
          assert.ok(waited >= 1400, `request ${id} came ${waited} ms after`);
        }
        assert.equal(arrived.has(4), false, "the cancelled request was sent");
        assert.ok(arrived.get(3)! <= arrived.get(5)!);
        // 6 may wait only its timeout, 200 ms: it fails unsent, and the
        // connection stays (7 goes once the throttle ends).
        const started = Date.now();
        await assert.rejects(ask(conn, { timeout: 200 }), (error) => {
          assert.ok(error instanceof ThrottledError, String(error));
          assert.match(
            error.message,
            /^ApiVersions request to 127\.0\.0\.1:\d+ not sent within 200 ms: the broker throttles this connection for \d+ ms more \(a quota on client id "streamkafka"/,
          );
          return true;
        });
        assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
        await ask(conn); // 7
        assert.equal(arrived.has(6), false, "the request out of time was sent");
        assert.ok(arrived.get(7)! - throttled.get(5)! >= 1400);
        await ask(conn); // 8: throttled
        const held = ask(conn);
        const closing = Date.now();
        conn.close();
        await assert.rejects(held);
        assert.ok(Date.now() - closing < 500, `${Date.now() - closing} ms`);
        assert.equal(arrived.has(9), false);
      });
    } finally {
      await server.close();
    }
  });

  test("a frame larger than maxResponseSize is refused before buffering", async () => {
    const server = await fakeServer((socket) => {
      const header = new Uint8Array(4);
      new DataView(header.buffer).setInt32(0, 64 * 1024 * 1024);
      socket.write(header);
    });
    try {
      await noUnhandledRejections(async () => {
        await assert.rejects(
          dial(server.address, { timeout: 2000, maxResponseSize: 1024 * 1024 }),
          (error) => {
            assert.ok(error instanceof ProtocolError, String(error));
            assert.match(
              (error as Error).message,
              /frame size 67108864 is outside 0\.\.1048576/,
            );
            return true;
          },
        );
      });
    } finally {
      await server.close();
    }
  });

  test("a peer that accepts and never answers times out, saying what to check", async () => {
    const elapsed = await expectFailure(
      () => {},
      (error) =>
        error instanceof TimeoutError &&
        /timed out after .*gave no Kafka answer; check that .* is a Kafka listener/
          .test(error.message),
      500,
    );
    assert.ok(elapsed >= 450 && elapsed < 2000, `took ${elapsed} ms`);
  });

  // A TLS peer that accepts and never answers the handshake: the dial
  // times out, and what it began must end with it. Left under way, the
  // handshake kept the user's process alive for good.
  for (const mode of ["tls", "mtls"] as const) {
    const what = mode === "mtls" ? " (client certificate)" : "";
    test(`a TLS peer that never answers the handshake${what}: the dial times out and the process exits`, async () => {
      const peer = await silentPeer();
      try {
        const started = Date.now();
        const { code, output } = await runScript(
          "dial_exit.ts",
          [peer.address, mode, CA_PEM, CLIENT_CERT_PEM, CLIENT_KEY_PEM],
          15_000,
        );
        assert.equal(code, 0, output);
        assert.match(
          output,
          /failed after \d+ ms: TimeoutError: .*no connection after 500 ms/,
        );
        // Start-up included; the handshake left alone never ended.
        const took = Date.now() - started;
        assert.ok(took < 10_000, `the process exited after ${took} ms`);
      } finally {
        await peer.close();
      }
    });

    // Deno closes a TLS connection only once its handshake ends (or the
    // process does): there the process exits, but a long-lived one holds
    // the socket until the peer gives up. Node.js and Bun close it at once.
    if (!("Deno" in globalThis && !("Bun" in globalThis))) {
      test(`a TLS peer that never answers the handshake${what}: the connection the dial began is closed`, async () => {
        const peer = await silentPeer();
        const tls = {
          ca: readFileSync(CA_PEM, "utf8"),
          ...(mode === "mtls"
            ? {
              cert: readFileSync(CLIENT_CERT_PEM, "utf8"),
              key: readFileSync(CLIENT_KEY_PEM, "utf8"),
            }
            : {}),
        };
        try {
          await noUnhandledRejections(async () => {
            await assert.rejects(
              dial(peer.address, { tls, timeout: 500 }),
              (error) =>
                error instanceof TimeoutError &&
                /no connection after 500 ms/.test(error.message),
            );
            const until = Date.now() + 3000;
            while (peer.open() > 0 || peer.accepted() === 0) {
              assert.ok(
                Date.now() < until,
                `${peer.open()} of ${peer.accepted()} connections left open`,
              );
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          });
        } finally {
          await peer.close();
        }
      });
    }
  }

  test("a broker that stops reading: a request without an answer (acks=0) fails at its timeout, and the connection goes", async () => {
    const server = await fakeServer((socket, request) => {
      socket.write(apiVersionsAnswer(correlationId(request), [Produce.key]));
      // Reads nothing more: the client's writes back up.
      socket.pause();
    });
    try {
      await noUnhandledRejections(async () => {
        const [host, port] = server.address.split(":");
        const conn = await BrokerConnection.open(host, Number(port), {
          requestTimeout: 1000,
        });
        const records = new Uint8Array(1 << 20);
        const started = Date.now();
        let sent = 0;
        const failure = await (async () => {
          for (;;) {
            try {
              await conn.requestNoResponse(
                Produce,
                produceRequest(
                  [{ topic: "t", partition: 0, records }],
                  0,
                  1000,
                ),
              );
              sent++;
            } catch (error) {
              return error;
            }
          }
        })();
        assert.ok(failure instanceof TimeoutError, String(failure));
        assert.match(
          (failure as Error).message,
          /Produce request to 127\.0\.0\.1:\d+ could not be written within 1000 ms/,
        );
        const took = Date.now() - started;
        assert.ok(took < 10_000, `failed after ${took} ms, ${sent} sent`);
        assert.ok(conn.isClosed);
        await assert.rejects(
          conn.requestNoResponse(
            Produce,
            produceRequest([{ topic: "t", partition: 0, records }], 0, 1000),
          ),
          ConnectionError,
        );
      });
    } finally {
      await server.close();
    }
  });

  test("closing a connection while it asks a second one why the first was closed closes that one too", async () => {
    const sockets: net.Socket[] = [];
    const server = await fakeServer((socket, request) => {
      if (!sockets.includes(socket)) sockets.push(socket);
      if (socket !== sockets[0]) return; // the probe: never answered
      const apiKey = new DataView(request.buffer, request.byteOffset).getInt16(
        4,
      );
      if (apiKey !== ApiVersions.key) socket.destroy();
      else socket.write(apiVersionsAnswer(correlationId(request)));
    });
    try {
      await noUnhandledRejections(async () => {
        const conn = await dial(server.address, { timeout: 2000 });
        const asked = conn.brokers().then(() => null, (error) => error);
        // The peer closed at the first request: a probe dials to ask why.
        const until = Date.now() + 3000;
        while (sockets.length < 2) {
          assert.ok(Date.now() < until, "no probe came");
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        conn.close();
        assert.ok(await asked instanceof Error);
        const closing = Date.now() + 1000;
        while (!sockets[1].destroyed && !sockets[1].readableEnded) {
          assert.ok(Date.now() < closing, "the probe's connection stayed open");
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      });
    } finally {
      await server.close();
    }
  });

  test("a broker that drops the connection mid-request fails it at once", async () => {
    const server = await fakeServer((socket, request) => {
      const apiKey = new DataView(request.buffer, request.byteOffset).getInt16(
        4,
      );
      if (apiKey !== ApiVersions.key) {
        socket.destroy();
        return;
      }
      socket.write(apiVersionsAnswer(correlationId(request)));
    });
    try {
      await noUnhandledRejections(async () => {
        const conn = await dial(server.address, { timeout: 2000 });
        const started = Date.now();
        await assert.rejects(conn.brokers(), (error) => {
          assert.ok(error instanceof ConnectionError, String(error));
          assert.match((error as Error).message, /closed the connection/);
          return true;
        });
        assert.ok(Date.now() - started < 1000);
        // The connection is dead: later requests fail the same way at once.
        await assert.rejects(conn.brokers(), ConnectionError);
        conn.close();
      });
    } finally {
      await server.close();
    }
  });
});

/** The readers that join a group, each a way to make one and read from it. */
const GROUP_READERS = [
  "group Reader",
  "consumer-protocol Reader",
  "ShareReader",
] as const;
type GroupReaderKind = typeof GROUP_READERS[number];

/**
 * The error the first read of a `kind` reader on `brokers` rejects with,
 * the milliseconds it took, what `errorLogger` got, and how long `close()`
 * took after. A constructor that refuses the settings counts as failing at
 * once (0 ms): the check may be made there or on the first connection.
 */
async function firstReadFails(
  kind: GroupReaderKind,
  brokers: string[],
  transport?: object,
): Promise<{ error: Error; ms: number; logged: string[]; closeMs: number }> {
  const logged: string[] = [];
  const topic = uniqueTopic("bad-peer");
  const common = {
    brokers,
    groupId: `${topic}-group`,
    errorLogger: (m: string) => logged.push(m),
    // Unchecked: some cases pass what the types refuse.
    transport: transport as TransportOptions | undefined,
  };
  let reader: Reader | ShareReader;
  try {
    reader = kind === "ShareReader"
      ? new ShareReader({ ...common, topics: [topic] })
      : new Reader({
        ...common,
        groupTopics: [topic],
        groupProtocol: kind === "group Reader" ? "classic" : "consumer",
      });
  } catch (error) {
    return { error: error as Error, ms: 0, logged, closeMs: 0 };
  }
  const started = Date.now();
  const read = reader instanceof ShareReader
    ? (async () => {
      for await (const _ of reader) return;
    })()
    : reader.readMessage();
  // Bounded, so that a reader that retries forever fails the test, not
  // the suite's timeout.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    read.then(() => new Error("the read resolved"), (error: Error) => error),
    new Promise<Error>((resolve) => {
      timer = setTimeout(
        () => resolve(new Error("the read still waits after 10 s")),
        10_000,
      );
    }),
  ]);
  clearTimeout(timer);
  const ms = Date.now() - started;
  const closing = Date.now();
  await reader.close();
  return { error: outcome, ms, logged, closeMs: Date.now() - closing };
}

// What retrying cannot fix ends a group's reader at once, as it ends a
// Writer or a partition Reader: never a join or heartbeat retried forever.
describe("bad peers and settings fail a group's reader at once", () => {
  const host = BROKER.split(":")[0];
  // The SASL_PLAINTEXT listener of the test broker (see compose.yaml).
  const saslListener = `${host}:9094`;

  for (const kind of GROUP_READERS) {
    test(`${kind}: an HTTP server is reported as not Kafka`, async () => {
      const server = await fakeServer((socket) =>
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
      );
      try {
        await noUnhandledRejections(async () => {
          const { error, ms, logged, closeMs } = await firstReadFails(kind, [
            server.address,
          ]);
          assert.ok(error instanceof ProtocolError, String(error));
          assert.ok(error.message.includes(server.address), error.message);
          assert.match(error.message, /an HTTP server answered/);
          assert.ok(ms < 3000, `took ${ms} ms`);
          assert.ok(closeMs < 3000, `close took ${closeMs} ms`);
          // Said once, as the reason the reader stopped, not per attempt.
          assert.ok(
            logged.every((m) => !/attempt \d/.test(m)),
            logged.join("\n"),
          );
        });
      } finally {
        await server.close();
      }
    });

    test(`${kind}: SASL on a listener without SASL names the broker`, async () => {
      await noUnhandledRejections(async () => {
        const { error, ms, closeMs } = await firstReadFails(kind, [BROKER], {
          sasl: { mechanism: "PLAIN", username: "alice", password: "x" },
        });
        assert.ok(error instanceof KafkaError, String(error));
        assert.equal(error.name, "ILLEGAL_SASL_STATE");
        assert.ok(error.message.includes(BROKER), error.message);
        assert.ok(ms < 3000, `took ${ms} ms`);
        assert.ok(closeMs < 3000, `close took ${closeMs} ms`);
      });
    });

    test(`${kind}: a wrong password names the broker`, async () => {
      await noUnhandledRejections(async () => {
        const { error, ms } = await firstReadFails(kind, [saslListener], {
          sasl: {
            mechanism: "SCRAM-SHA-256",
            username: "alice",
            password: "no",
          },
        });
        assert.ok(error instanceof KafkaError, String(error));
        assert.equal(error.name, "SASL_AUTHENTICATION_FAILED");
        assert.ok(error.message.includes(saslListener), error.message);
        assert.ok(ms < 3000, `took ${ms} ms`);
      });
    });

    test(`${kind}: close() does not wait out a coordinator nobody reaches`, async () => {
      await noUnhandledRejections(async () => {
        const topic = uniqueTopic("bad-peer");
        const common = {
          // A closed port: connections are refused, which is retried.
          brokers: [`${host}:1`],
          groupId: `${topic}-group`,
          errorLogger: () => {},
        };
        const reader = kind === "ShareReader"
          ? new ShareReader({ ...common, topics: [topic] })
          : new Reader({
            ...common,
            groupTopics: [topic],
            groupProtocol: kind === "group Reader" ? "classic" : "consumer",
          });
        const read = reader instanceof ShareReader
          ? (async () => {
            for await (const _ of reader) return;
          })()
          : reader.readMessage().then(() => {});
        read.catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const closing = Date.now();
        await reader.close();
        const closeMs = Date.now() - closing;
        // It used to take the lookup's 15-27 s of retries.
        assert.ok(closeMs < 3000, `close took ${closeMs} ms`);
        await read.catch(() => {});
      });
    });

    test(`${kind}: a "sasl" that is no SASL setting says so`, async () => {
      await noUnhandledRejections(async () => {
        const { error, ms } = await firstReadFails(kind, [BROKER], {
          sasl: "plain",
        });
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /"sasl" must be/);
        assert.ok(ms < 3000, `took ${ms} ms`);
      });
    });
  }
});

/** A real ApiVersions v3 answer offering Metadata, so dialing succeeds. */
function apiVersionsAnswer(
  correlation: number,
  more: number[] = [],
  throttleTimeMs = 0,
): Uint8Array {
  const w = new ByteWriter();
  const at = w.startLength();
  w.int32(correlation);
  ApiVersions.encodeResponse(w, 3, {
    errorCode: 0,
    throttleTimeMs,
    apiKeys: [
      { apiKey: ApiVersions.key, minVersion: 0, maxVersion: 3 },
      { apiKey: Metadata.key, minVersion: 0, maxVersion: 12 },
      ...more.map((apiKey) => ({ apiKey, minVersion: 3, maxVersion: 9 })),
    ],
  });
  w.endLength(at);
  return w.finish();
}
