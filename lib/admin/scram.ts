/**
 * SCRAM users: describing and altering the SCRAM-SHA-256/512 credentials
 * the brokers check SASL logins against. An upsertion's password never
 * leaves the client: it computes a random salt and the salted password
 * (RFC 5802's Hi, PBKDF2 through WebCrypto) and sends those. Descriptions
 * go to any broker, alterations to the controller, as Java's AdminClient
 * sends them.
 *
 * @module
 */

import { saltedPassword } from "../connection/sasl.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { AlterUserScramCredentials } from "../protocol/messages/alter_user_scram_credentials.ts";
import { DescribeUserScramCredentials } from "../protocol/messages/describe_user_scram_credentials.ts";
import {
  answerError,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import { badArgument, checkList, isObject } from "../requests/arguments.ts";

/**
 * The SCRAM mechanisms a credential can be stored for.
 *
 * @example
 * ```ts
 * import type { ScramMechanism } from "./scram.ts";
 *
 * const mechanism: ScramMechanism = "SCRAM-SHA-512";
 * console.log(mechanism);
 * ```
 */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/**
 * A credential to create or replace: `user` logs in with `password` over
 * `mechanism`.
 *
 * @example
 * ```ts
 * import type { ScramUpsertion } from "./scram.ts";
 *
 * const upsertion: ScramUpsertion = {
 *   user: "billing",
 *   mechanism: "SCRAM-SHA-256",
 *   password: "billing-secret",
 *   iterations: 8192,
 * };
 * console.log(upsertion.user);
 * ```
 */
export interface ScramUpsertion {
  /** The user name. */
  user: string;
  /** The mechanism the credential is for. */
  mechanism: ScramMechanism;
  /** The password (NFKC-normalized, as the client's SCRAM login does). */
  password: string;
  /** PBKDF2 iterations (default 4096; Kafka accepts 4096 to 16384, and more than 16384 is refused here). */
  iterations?: number | undefined;
  /** The salt (default: 32 random bytes). */
  salt?: Uint8Array | undefined;
}

/**
 * A credential to delete: one mechanism of one user.
 *
 * @example
 * ```ts
 * import type { ScramDeletion } from "./scram.ts";
 *
 * const deletion: ScramDeletion = { user: "billing", mechanism: "SCRAM-SHA-256" };
 * console.log(deletion.mechanism);
 * ```
 */
export interface ScramDeletion {
  /** The user name. */
  user: string;
  /** The mechanism whose credential goes. */
  mechanism: ScramMechanism;
}

/**
 * One user's SCRAM credentials: their mechanisms and iterations (never
 * the secrets).
 *
 * @example
 * ```ts
 * import type { ScramUserDescription } from "./scram.ts";
 *
 * const user: ScramUserDescription = {
 *   user: "billing",
 *   credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }],
 *   error: null,
 * };
 * console.log(user.credentials[0].iterations);
 * ```
 */
export interface ScramUserDescription {
  /** The user name. */
  user: string;
  /** One per mechanism the user has a credential for. */
  credentials: {
    mechanism: ScramMechanism | "unknown";
    iterations: number;
  }[];
  /** The user's error (e.g. RESOURCE_NOT_FOUND: no credential), or null. */
  error: KafkaError | null;
}

/**
 * What became of one user's alterations in `alterUserScramCredentials`.
 *
 * @example
 * ```ts
 * import type { ScramAlterationResult } from "./scram.ts";
 *
 * const result: ScramAlterationResult = { user: "billing", error: null };
 * console.log(result.error === null);
 * ```
 */
export interface ScramAlterationResult {
  /** The user name. */
  user: string;
  /**
   * Why the user's alterations were not made (all of them fail together,
   * e.g. UNACCEPTABLE_CREDENTIAL, RESOURCE_NOT_FOUND), or null.
   */
  error: KafkaError | null;
}

// Kafka's ScramMechanism codes are the indexes.
const MECHANISMS = ["unknown", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
const MECHANISMS_TEXT = `"SCRAM-SHA-256" or "SCRAM-SHA-512"`;

function checkUser(method: string, argument: string, user: unknown): string {
  if (typeof user !== "string" || user === "") {
    throw badArgument(method, argument, user, "a user name");
  }
  return user;
}

function mechanismCode(
  method: string,
  argument: string,
  mechanism: unknown,
): number {
  const i = MECHANISMS.indexOf(mechanism as ScramMechanism);
  if (typeof mechanism !== "string" || i < 1) {
    throw badArgument(method, argument, mechanism, MECHANISMS_TEXT);
  }
  return i;
}

/**
 * The SCRAM credentials of some users, one result per user in order, or of
 * every user that has one when `users` is null or left out. A user
 * without credentials gets RESOURCE_NOT_FOUND; a message-level error is
 * thrown.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { describeUserScramCredentials } from "./scram.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const users = await describeUserScramCredentials(new Router(cluster, 10_000));
 * for (const u of users) console.log(u.user, u.credentials);
 * await cluster.close();
 * ```
 */
export async function describeUserScramCredentials(
  router: Router,
  users: readonly string[] | null = null,
  options: CallOptions = {},
): Promise<ScramUserDescription[]> {
  const m = "describeUserScramCredentials";
  if (users !== null) {
    checkList(m, "users", users, "an array of user names, or null");
    users.forEach((u, i) => checkUser(m, `users[${i}]`, u));
    if (users.length === 0) return [];
  }
  const call = router.call(options);
  const r = await router.any(DescribeUserScramCredentials, {
    users: users === null ? null : users.map((name) => ({ name })),
  }, call);
  const error = itemError(r.errorCode, r.errorMessage, {
    apiName: "DescribeUserScramCredentials",
  });
  if (error) throw error;
  const describe = (
    result: (typeof r.results)[number],
  ): ScramUserDescription => ({
    user: result.user,
    credentials: result.credentialInfos.map((c) => ({
      mechanism: MECHANISMS[c.mechanism] ?? "unknown",
      iterations: c.iterations,
    })),
    error: itemError(result.errorCode, result.errorMessage, {
      apiName: "DescribeUserScramCredentials",
    }),
  });
  if (users === null) return r.results.map(describe);
  return users.map((user) => {
    const result = r.results.find((x) => x.user === user);
    return result ? describe(result) : {
      user,
      credentials: [],
      error: itemError(-1, "the broker's answer left the user out", {
        apiName: "DescribeUserScramCredentials",
      }),
    };
  });
}

/**
 * Creates or replaces (upsertions) and deletes SCRAM credentials; one
 * result per user, in the order users first appear (upsertions, then
 * deletions). The broker applies a user's alterations together: one bad
 * alteration fails all of that user's, and no other user's.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { alterUserScramCredentials } from "./scram.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * const [created] = await alterUserScramCredentials(router, [
 *   { user: "docs-scram", mechanism: "SCRAM-SHA-256", password: "s3cret" },
 * ]);
 * console.log(created.error?.message ?? "created");
 * await alterUserScramCredentials(router, [], [
 *   { user: "docs-scram", mechanism: "SCRAM-SHA-256" },
 * ]);
 * await cluster.close();
 * ```
 */
export async function alterUserScramCredentials(
  router: Router,
  upsertions: readonly ScramUpsertion[],
  deletions: readonly ScramDeletion[] = [],
  options: CallOptions = {},
): Promise<ScramAlterationResult[]> {
  const m = "alterUserScramCredentials";
  checkList(
    m,
    "upsertions",
    upsertions,
    "an array of { user, mechanism, password, iterations? }",
  );
  checkList(m, "deletions", deletions, "an array of { user, mechanism }");
  const checked = upsertions.map((u, i) => {
    const at = (field: string) => `upsertions[${i}].${field}`;
    if (!isObject(u)) {
      throw badArgument(m, `upsertions[${i}]`, u, "an object");
    }
    const name = checkUser(m, at("user"), u.user);
    const mechanism = mechanismCode(m, at("mechanism"), u.mechanism);
    if (typeof u.password !== "string" || u.password === "") {
      // The value is not shown: it is a password.
      throw new TypeError(
        `Client.${m}: "${at("password")}" must be a non-empty string, got ${
          u.password === "" ? "an empty string" : typeof u.password
        }`,
      );
    }
    const iterations = u.iterations ?? 4096;
    // Kafka accepts 4096 to 16384 and refuses other counts user by user
    // (UNACCEPTABLE_CREDENTIAL); a count above that is refused here, as
    // hashing it (2^31 - 1 takes hours) would outlast any timeout.
    if (
      !Number.isInteger(iterations) || iterations < 1 || iterations > 16384
    ) {
      throw badArgument(
        m,
        at("iterations"),
        iterations,
        "a positive integer up to 16384 (Kafka accepts 4096 to 16384)",
      );
    }
    if (u.salt !== undefined && !(u.salt instanceof Uint8Array)) {
      throw badArgument(m, at("salt"), u.salt, "a Uint8Array");
    }
    return { name, mechanism, iterations, u };
  });
  const deleted = deletions.map((d, i) => {
    if (!isObject(d)) throw badArgument(m, `deletions[${i}]`, d, "an object");
    return {
      name: checkUser(m, `deletions[${i}].user`, d.user),
      mechanism: mechanismCode(m, `deletions[${i}].mechanism`, d.mechanism),
    };
  });
  const users = [...new Set([...checked, ...deleted].map((a) => a.name))];
  if (users.length === 0) return [];
  const call = router.call(options);
  const upserted = await router.within(
    call,
    "Hashing the passwords",
    Promise.all(
      checked.map(async ({ name, mechanism, iterations, u }) => {
        const salt = u.salt ?? crypto.getRandomValues(new Uint8Array(32));
        const hash = mechanism === 2 ? "SHA-512" : "SHA-256";
        return {
          name,
          mechanism,
          iterations,
          salt,
          saltedPassword: await saltedPassword(
            hash,
            u.password,
            salt,
            iterations,
          ),
        };
      }),
    ),
  );
  const r = await router.controller(
    AlterUserScramCredentials,
    { upsertions: upserted, deletions: deleted },
    call,
    (response) => response.results.map((x) => x.errorCode),
  );
  return users.map((user) => {
    const result = r.results.find((x) => x.user === user);
    return {
      user,
      error: answerError(result, "user", {
        apiName: "AlterUserScramCredentials",
      }),
    };
  });
}
