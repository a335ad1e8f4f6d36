import assert from "node:assert/strict";
import { test } from "node:test";
import { clientThrottles } from "./quotas.ts";
import { Produce } from "./messages/produce.ts";
import { Fetch } from "./messages/fetch.ts";
import { ShareFetch } from "./messages/share_fetch.ts";

test("the client waits out a throttle from KIP-219's versions on, where the broker answered first", () => {
  // Before them the broker held its answer for the throttle itself.
  assert.equal(clientThrottles(Produce.key, 5), false);
  assert.equal(clientThrottles(Produce.key, 6), true);
  assert.equal(clientThrottles(Fetch.key, 7), false);
  assert.equal(clientThrottles(Fetch.key, 8), true);
  // APIs newer than KIP-219: every version.
  assert.equal(clientThrottles(ShareFetch.key, ShareFetch.minVersion), true);
});
