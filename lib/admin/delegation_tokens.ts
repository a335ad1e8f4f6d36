/**
 * Delegation tokens (KIP-48): short-lived credentials a principal creates
 * for others (workers, jobs) to authenticate as it, with SASL SCRAM
 * (`delegationToken(token)` as the `sasl` option), without handing out its
 * password or key. Creating, renewing, expiring and describing them; any
 * broker answers (a KRaft broker forwards changes to the controller).
 *
 * The broker needs `delegation.token.secret.key` set, and the requests
 * must come over a SASL connection not itself authenticated with a token.
 *
 * @module
 */

import {
  type Call,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import { sleep } from "../cluster/retry.ts";
import { UnsupportedVersionError } from "../connection/errors.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { CreateDelegationToken } from "../protocol/messages/create_delegation_token.ts";
import { DescribeDelegationToken } from "../protocol/messages/describe_delegation_token.ts";
import { ExpireDelegationToken } from "../protocol/messages/expire_delegation_token.ts";
import { RenewDelegationToken } from "../protocol/messages/renew_delegation_token.ts";
import { badArgument, checkList } from "../requests/arguments.ts";

/**
 * A delegation token: `tokenId` and `hmac` are what a client authenticates
 * with (`delegationToken(token)`); keep the HMAC secret.
 *
 * @example
 * ```ts
 * import type { DelegationToken } from "./delegation_tokens.ts";
 *
 * const t: DelegationToken = {
 *   tokenId: "Yh3k", hmac: new Uint8Array(64), owner: "User:alice",
 *   requester: "User:alice", renewers: [], issueTimestamp: 0,
 *   expiryTimestamp: 86_400_000, maxTimestamp: 604_800_000,
 * };
 * console.log(t.owner);
 * ```
 */
export interface DelegationToken {
  /** The token's id: the SCRAM user name of those who use it. */
  tokenId: string;
  /** The token's HMAC: its base64 is their SCRAM password. */
  hmac: Uint8Array;
  /** Whom the token authenticates as, e.g. "User:alice". */
  owner: string;
  /** Who created it (the owner, unless created for another). */
  requester: string;
  /** Principals that may renew it besides its owner. */
  renewers: string[];
  /** When it was created (ms since epoch). */
  issueTimestamp: number;
  /** When it expires unless renewed. */
  expiryTimestamp: number;
  /** When it expires for good, renewed or not. */
  maxTimestamp: number;
}

/**
 * Options of `createDelegationToken`.
 *
 * @example
 * ```ts
 * import type { CreateDelegationTokenOptions } from "./delegation_tokens.ts";
 *
 * const options: CreateDelegationTokenOptions = {
 *   renewers: ["User:scheduler"],
 *   maxLifetime: 3_600_000,
 * };
 * console.log(options.maxLifetime);
 * ```
 */
export interface CreateDelegationTokenOptions extends CallOptions {
  /** Principals that may renew it ("User:name"); the owner always may. */
  renewers?: readonly string[] | undefined;
  /**
   * Its longest life in milliseconds (default: the broker's
   * `delegation.token.max.lifetime.ms`, 7 days, which also caps it).
   */
  maxLifetime?: number | undefined;
  /**
   * Whom it authenticates as, when created for another principal
   * ("User:name"; Kafka 3.3 on, and the requester needs the CreateTokens
   * permission on that user). Default: the requester.
   */
  owner?: string | undefined;
}

const CREATE = "createDelegationToken";

/** Creates a delegation token. */
export async function createDelegationToken(
  router: Router,
  options: CreateDelegationTokenOptions = {},
): Promise<DelegationToken> {
  const renewers = options.renewers ?? [];
  checkList(
    CREATE,
    "renewers",
    renewers,
    'an array of principals ("User:name")',
  );
  const parsedRenewers = renewers.map((r, i) =>
    principal(CREATE, `renewers[${i}]`, r)
  );
  const owner = options.owner === undefined
    ? null
    : principal(CREATE, "owner", options.owner);
  const maxLifetime = options.maxLifetime ?? -1;
  if (
    maxLifetime !== -1 &&
    (!Number.isSafeInteger(maxLifetime) || maxLifetime < 1)
  ) {
    throw badArgument(
      CREATE,
      "maxLifetime",
      options.maxLifetime,
      "a positive number of milliseconds",
    );
  }
  const call = router.call(options);
  const r = await router.any(CreateDelegationToken, (conn) => {
    // Before v3 the owner is not sent, and the token would silently be
    // the requester's.
    if (owner !== null && conn.pickVersion(CreateDelegationToken) < 3) {
      throw new UnsupportedVersionError(
        `Broker ${conn.address} cannot create a token for another owner (${options.owner}): that needs CreateDelegationToken v3, Kafka 3.3 or later`,
      );
    }
    return {
      ownerPrincipalType: owner?.principalType ?? null,
      ownerPrincipalName: owner?.principalName ?? null,
      renewers: parsedRenewers,
      maxLifetimeMs: maxLifetime,
    };
  }, call);
  throwIfRefused(r.errorCode, "CreateDelegationToken");
  const ownerName = `${r.principalType}:${r.principalName}`;
  await untilEveryBrokerSees(
    router,
    call,
    "created",
    r.hmac,
    r.expiryTimestampMs,
  );
  return {
    tokenId: r.tokenId,
    hmac: r.hmac.slice(),
    owner: ownerName,
    requester: r.tokenRequesterPrincipalName
      ? `${r.tokenRequesterPrincipalType}:${r.tokenRequesterPrincipalName}`
      : ownerName,
    renewers: parsedRenewers.map((p) =>
      `${p.principalType}:${p.principalName}`
    ),
    issueTimestamp: r.issueTimestampMs,
    expiryTimestamp: r.expiryTimestampMs,
    maxTimestamp: r.maxTimestampMs,
  };
}

/**
 * Renews a token (by its HMAC) for `renewPeriod` ms from now (default -1:
 * the broker's `delegation.token.expiry.time.ms`, 1 day), never past its
 * max lifetime; returns its new expiry time.
 */
export async function renewDelegationToken(
  router: Router,
  hmac: Uint8Array,
  options: CallOptions & { renewPeriod?: number } = {},
): Promise<number> {
  const method = "renewDelegationToken";
  checkHmac(method, hmac);
  const period = checkPeriod(method, "renewPeriod", options.renewPeriod);
  const call = router.call(options);
  const r = await router.any(RenewDelegationToken, {
    hmac,
    renewPeriodMs: period,
  }, call);
  throwIfRefused(r.errorCode, "RenewDelegationToken");
  await untilEveryBrokerSees(
    router,
    call,
    "renewed",
    hmac,
    r.expiryTimestampMs,
  );
  return r.expiryTimestampMs;
}

/**
 * Expires a token (by its HMAC) `expiryTimePeriod` ms from now (default
 * -1: at once); clients authenticating with it are refused from then on,
 * and connections made with it are closed when they reauthenticate.
 * Returns its expiry time.
 */
export async function expireDelegationToken(
  router: Router,
  hmac: Uint8Array,
  options: CallOptions & { expiryTimePeriod?: number } = {},
): Promise<number> {
  const method = "expireDelegationToken";
  checkHmac(method, hmac);
  const period = checkPeriod(
    method,
    "expiryTimePeriod",
    options.expiryTimePeriod,
  );
  const call = router.call(options);
  const r = await router.any(ExpireDelegationToken, {
    hmac,
    expiryTimePeriodMs: period,
  }, call);
  throwIfRefused(r.errorCode, "ExpireDelegationToken");
  // Expired at once (a negative period), the controller removes it.
  await untilEveryBrokerSees(
    router,
    call,
    "expired",
    hmac,
    period < 0 ? undefined : r.expiryTimestampMs,
  );
  return r.expiryTimestampMs;
}

/**
 * The tokens of some owners ("User:name"), or every token the caller may
 * see (its own, those it may renew, all with DescribeTokens permission).
 */
export async function describeDelegationTokens(
  router: Router,
  options: CallOptions & { owners?: readonly string[] } = {},
): Promise<DelegationToken[]> {
  const method = "describeDelegationTokens";
  let owners: { principalType: string; principalName: string }[] | null = null;
  if (options.owners !== undefined) {
    checkList(
      method,
      "owners",
      options.owners,
      'an array of principals ("User:name")',
    );
    owners = options.owners.map((o, i) => principal(method, `owners[${i}]`, o));
  }
  const call = router.call(options);
  const r = await router.any(DescribeDelegationToken, { owners }, call);
  throwIfRefused(r.errorCode, "DescribeDelegationToken");
  return r.tokens.map((t) => {
    const owner = `${t.principalType}:${t.principalName}`;
    return {
      tokenId: t.tokenId,
      hmac: t.hmac.slice(),
      owner,
      requester: t.tokenRequesterPrincipalName
        ? `${t.tokenRequesterPrincipalType}:${t.tokenRequesterPrincipalName}`
        : owner,
      renewers: t.renewers.map((p) => `${p.principalType}:${p.principalName}`),
      issueTimestamp: t.issueTimestamp,
      expiryTimestamp: t.expiryTimestamp,
      maxTimestamp: t.maxTimestamp,
    };
  });
}

/** How long one round of `untilEveryBrokerSees` may wait for the brokers. */
const ROUND_MS = 2_000;

/**
 * Waits until every broker lists the token (by its HMAC) with this expiry
 * time, or, with none, no longer lists it. Each broker learns a change
 * from the metadata log a moment after the controller made it, and until
 * then authenticates by the old state: refusing a new token as it would a
 * wrong password, refusing a renewed one at its old expiry, accepting an
 * expired one.
 */
async function untilEveryBrokerSees(
  router: Router,
  call: Call,
  change: "created" | "renewed" | "expired",
  hmac: Uint8Array,
  expiry: number | undefined,
): Promise<void> {
  const holds = (
    tokens: readonly { hmac: Uint8Array; expiryTimestamp: number }[],
  ) => {
    const token = tokens.find((t) => equalBytes(t.hmac, hmac));
    return expiry === undefined
      ? token === undefined
      : token?.expiryTimestamp === expiry;
  };
  for (let attempt = 1;; attempt++) {
    if (call.deadline - Date.now() <= 0) {
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, {
        apiName: "DescribeDelegationToken",
        detail:
          `the delegation token was ${change}, but the brokers did not all learn it within the call's timeout`,
      });
    }
    // Every token the caller may see: its own and those it may renew,
    // which are the ones it may create, renew or expire. Each round is
    // short, so that a broker that cannot be reached does not hold the
    // others' answers until the deadline.
    const round = {
      deadline: Math.min(call.deadline, Date.now() + ROUND_MS),
      signal: call.signal,
    };
    const answers = await router.eachBroker(
      DescribeDelegationToken,
      { owners: null },
      round,
    );
    // A broker that cannot answer (or refuses) learns it when it can; but
    // one at least must have answered.
    const answered = answers.filter((a) =>
      a.response !== undefined && a.response.errorCode === 0
    );
    if (
      answered.length > 0 && answered.every((a) => holds(a.response!.tokens))
    ) return;
    await sleep(Math.min(50 * attempt, 500), call.signal);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws the refusal, with what to check for the usual ones. */
function throwIfRefused(code: number, apiName: string): void {
  const hints: Record<number, string> = {
    [ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED]:
      "token requests are taken only over SASL connections not authenticated with a delegation token: give the Client `sasl` credentials and a SASL listener's address",
    [ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED]:
      "the broker has no `delegation.token.secret.key`",
  };
  const error = itemError(code, hints[code], { apiName });
  if (error) throw error;
}

function principal(
  method: string,
  at: string,
  value: unknown,
): { principalType: string; principalName: string } {
  const colon = typeof value === "string" ? value.indexOf(":") : -1;
  if (colon <= 0 || colon === (value as string).length - 1) {
    throw badArgument(method, at, value, 'a principal such as "User:alice"');
  }
  return {
    principalType: (value as string).slice(0, colon),
    principalName: (value as string).slice(colon + 1),
  };
}

function checkHmac(method: string, hmac: unknown): void {
  if (!(hmac instanceof Uint8Array)) {
    throw badArgument(method, "hmac", hmac, "the token's HMAC (a Uint8Array)");
  }
  if (hmac.length === 0) {
    throw new TypeError(
      `Client.${method}: "hmac" is empty; expected the token's HMAC, as createDelegationToken returned it`,
    );
  }
}

function checkPeriod(method: string, at: string, value: unknown): number {
  if (value === undefined) return -1;
  if (!Number.isSafeInteger(value) || (value as number) < -1) {
    throw badArgument(method, at, value, "milliseconds (an integer), or -1");
  }
  return value as number;
}
