/** The time a Router gives each request of a call (nothing here connects). */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster } from "./cluster.ts";
import { type Call, Router } from "./route.ts";

/** A call with `left` ms to its deadline. */
function callWith(left: number): Call {
  return { deadline: Date.now() + left };
}

describe("Router request budget", () => {
  test("a request gets half of what is left of its call, at least 5 s, at most requestTimeout", async () => {
    const cluster = new Cluster({ brokers: ["127.0.0.1:1"] });
    const router = new Router(cluster, 30_000);
    const near = (got: number, want: number) =>
      assert.ok(Math.abs(got - want) <= 50, `${got}, not about ${want}`);
    // The Client's default call (30 s): a stalled request leaves 15 s.
    near(router.attemptTimeout(callWith(30_000)), 15_000);
    // Java's default (60 s): the cluster's requestTimeout (30 s).
    near(router.attemptTimeout(callWith(60_000)), 30_000);
    near(router.attemptTimeout(callWith(8_000)), 5_000);
    near(router.attemptTimeout(callWith(3_000)), 3_000);
    // The broker's wait ends before the request's timeout: by a tenth, at
    // most 1 s.
    near(router.brokerWait(callWith(30_000)), 14_000);
    near(router.brokerWait(callWith(3_000)), 2_700);
    assert.equal(router.brokerWait({ deadline: 0 }), 1);
    await cluster.close();

    const short = new Cluster({
      brokers: ["127.0.0.1:1"],
      requestTimeout: 2000,
    });
    near(new Router(short, 30_000).attemptTimeout(callWith(30_000)), 2_000);
    await short.close();
  });
});
