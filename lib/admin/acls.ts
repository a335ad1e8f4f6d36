/**
 * ACLs: describing, creating and deleting the access control bindings of
 * the broker's authorizer (`authorizer.class.name`). Requests go to any
 * broker, as Java's AdminClient sends them (least loaded node); a KRaft
 * broker forwards the changes to the controller.
 *
 * Kafka's numeric codes appear as camelCase strings: resource types
 * ("topic", "transactionalId"...), pattern types ("literal", "prefixed"),
 * operations ("read", "describeConfigs"...) and permissions ("allow",
 * "deny"); filters add "any" (and "match" for the pattern type).
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { CreateAcls } from "../protocol/messages/create_acls.ts";
import { DeleteAcls } from "../protocol/messages/delete_acls.ts";
import {
  DescribeAcls,
  type DescribeAclsRequest,
} from "../protocol/messages/describe_acls.ts";
import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import {
  badArgument,
  checkFields,
  checkList,
  isObject,
} from "../requests/arguments.ts";
import { optionNames } from "../options.ts";

/**
 * The kind of resource an ACL is about.
 *
 * @example
 * ```ts
 * import type { AclResourceType } from "./acls.ts";
 *
 * const type: AclResourceType = "transactionalId";
 * console.log(type);
 * ```
 */
export type AclResourceType =
  | "topic"
  | "group"
  | "cluster"
  | "transactionalId"
  | "delegationToken"
  | "user";

/**
 * How an ACL's resource name matches: the name itself ("literal", "*"
 * meaning every resource) or every name it starts ("prefixed").
 *
 * @example
 * ```ts
 * import type { AclPatternType } from "./acls.ts";
 *
 * const pattern: AclPatternType = "prefixed";
 * console.log(pattern);
 * ```
 */
export type AclPatternType = "literal" | "prefixed";

/**
 * What an ACL allows or denies ("all" covers every operation).
 *
 * @example
 * ```ts
 * import type { AclOperation } from "./acls.ts";
 *
 * const operation: AclOperation = "describeConfigs";
 * console.log(operation);
 * ```
 */
export type AclOperation =
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "clusterAction"
  | "describeConfigs"
  | "alterConfigs"
  | "idempotentWrite"
  | "createTokens"
  | "describeTokens"
  | "twoPhaseCommit";

/**
 * Whether an ACL allows or denies its operation (a deny wins).
 *
 * @example
 * ```ts
 * import type { AclPermission } from "./acls.ts";
 *
 * const permission: AclPermission = "allow";
 * console.log(permission);
 * ```
 */
export type AclPermission = "allow" | "deny";

/**
 * An ACL to create: who (`principal`, from `host`) may or may not do
 * `operation` on which resources.
 *
 * @example
 * ```ts
 * import type { NewAcl } from "./acls.ts";
 *
 * const acl: NewAcl = {
 *   resourceType: "topic",
 *   resourceName: "orders-",
 *   patternType: "prefixed",
 *   principal: "User:billing",
 *   operation: "read",
 *   permission: "allow",
 * };
 * console.log(acl.principal);
 * ```
 */
export interface NewAcl {
  /** The kind of resource. */
  resourceType: AclResourceType;
  /** The resource's name, its prefix, or "*" for all (literal only). */
  resourceName: string;
  /** How `resourceName` matches (default "literal"). */
  patternType?: AclPatternType | undefined;
  /** "Type:name" of the principal, e.g. "User:alice" or "User:*". */
  principal: string;
  /** The client host it applies to (default "*", any host). */
  host?: string | undefined;
  /** The operation. */
  operation: AclOperation;
  /** Allow or deny. */
  permission: AclPermission;
}

/**
 * An ACL as the broker reports it; codes this client does not know read
 * "unknown".
 *
 * @example
 * ```ts
 * import type { AclBinding } from "./acls.ts";
 *
 * const acl: AclBinding = {
 *   resourceType: "group", resourceName: "billing", patternType: "literal",
 *   principal: "User:billing", host: "*", operation: "read", permission: "allow",
 * };
 * console.log(acl.operation);
 * ```
 */
export interface AclBinding {
  /** The kind of resource. */
  resourceType: AclResourceType | "unknown";
  /** The resource's name or prefix. */
  resourceName: string;
  /** How `resourceName` matches. */
  patternType: AclPatternType | "unknown";
  /** "Type:name" of the principal. */
  principal: string;
  /** The client host, "*" for any. */
  host: string;
  /** The operation. */
  operation: AclOperation | "unknown";
  /** Allow or deny. */
  permission: AclPermission | "unknown";
}

/**
 * Which ACLs to describe or delete. A field left out (or null) matches
 * any value; `patternType` "match" matches every pattern that applies to
 * `resourceName` (literal, "*" and prefixes of it), "any" (the default)
 * every pattern type with exactly that name.
 *
 * @example
 * ```ts
 * import type { AclFilter } from "./acls.ts";
 *
 * const filter: AclFilter = { principal: "User:billing", resourceType: "topic" };
 * console.log(filter.principal);
 * ```
 */
export interface AclFilter {
  /** The kind of resource (default "any"). */
  resourceType?: AclResourceType | "any" | undefined;
  /** The resource name, or null for any. */
  resourceName?: string | null | undefined;
  /** The pattern type (default "any"). */
  patternType?: AclPatternType | "match" | "any" | undefined;
  /** The principal, or null for any. */
  principal?: string | null | undefined;
  /** The host, or null for any. */
  host?: string | null | undefined;
  /** The operation (default "any"). */
  operation?: AclOperation | "any" | undefined;
  /** The permission (default "any"). */
  permission?: AclPermission | "any" | undefined;
}

/**
 * What became of one ACL of `createAcls`.
 *
 * @example
 * ```ts
 * import type { CreatedAcl, NewAcl } from "./acls.ts";
 *
 * const acl: NewAcl = {
 *   resourceType: "topic", resourceName: "orders", principal: "User:billing",
 *   operation: "read", permission: "allow",
 * };
 * console.log(({ acl, error: null } satisfies CreatedAcl).error);
 * ```
 */
export interface CreatedAcl {
  /** The ACL, as given. */
  acl: NewAcl;
  /** Why it was not created (e.g. INVALID_REQUEST), or null. */
  error: KafkaError | null;
}

/**
 * One ACL a filter of `deleteAcls` matched, and whether it was deleted.
 *
 * @example
 * ```ts
 * import type { DeletedAcl } from "./acls.ts";
 *
 * const deleted: DeletedAcl = {
 *   acl: {
 *     resourceType: "topic", resourceName: "orders", patternType: "literal",
 *     principal: "User:billing", host: "*", operation: "read", permission: "allow",
 *   },
 *   error: null,
 * };
 * console.log(deleted.acl.resourceName);
 * ```
 */
export interface DeletedAcl {
  /** The matching ACL. */
  acl: AclBinding;
  /** Why this ACL was not deleted, or null. */
  error: KafkaError | null;
}

/**
 * What one filter of `deleteAcls` deleted.
 *
 * @example
 * ```ts
 * import type { AclFilterDeletion } from "./acls.ts";
 *
 * const result: AclFilterDeletion = { filter: { principal: "User:x" }, deleted: [], error: null };
 * console.log(result.deleted.length);
 * ```
 */
export interface AclFilterDeletion {
  /** The filter, as given. */
  filter: AclFilter;
  /** The ACLs it matched, each with its own error. */
  deleted: DeletedAcl[];
  /** Why the filter failed as a whole (then `deleted` is empty), or null. */
  error: KafkaError | null;
}

/**
 * Each field's names; Kafka's codes are their indexes (ResourceType,
 * PatternType, AclOperation, AclPermissionType).
 */
const CODES = {
  resourceType:
    "unknown any topic group cluster transactionalId delegationToken user",
  patternType: "unknown any match literal prefixed",
  operation: "unknown any all read write create delete alter describe " +
    "clusterAction describeConfigs alterConfigs idempotentWrite " +
    "createTokens describeTokens twoPhaseCommit",
  permission: "unknown any deny allow",
} as const;
type Field = keyof typeof CODES;
const NAMES = Object.fromEntries(
  Object.entries(CODES).map(([field, names]) => [field, names.split(" ")]),
) as Record<Field, string[]>;

/** Values only filters take: a binding must name definite ones. */
const FILTER_ONLY = new Set(["any", "match"]);

/** The code of `value` for `field`, or a TypeError naming what is allowed. */
function code(
  method: string,
  argument: string,
  field: Field,
  value: unknown,
  filter: boolean,
): number {
  const allowed = NAMES[field].filter((v) =>
    v !== "unknown" && (filter || !FILTER_ONLY.has(v))
  );
  if (typeof value !== "string" || !allowed.includes(value)) {
    const note = filter ? "" : ` ("any" and "match" are only for filters)`;
    throw badArgument(
      method,
      `${argument}.${field}`,
      value,
      `one of ${allowed.map((v) => `"${v}"`).join(", ")}${note}`,
    );
  }
  return NAMES[field].indexOf(value);
}

/** Throws unless `value` is a non-empty string (or null/undefined if `orAny`). */
function text(
  method: string,
  argument: string,
  value: unknown,
  orAny: boolean,
): string | null {
  if (orAny && (value === undefined || value === null)) return null;
  if (typeof value !== "string" || value === "") {
    throw badArgument(
      method,
      argument,
      value,
      orAny ? "a non-empty string, or null for any" : "a non-empty string",
    );
  }
  return value;
}

/** The fields of an ACL and of an ACL filter. */
const ACL_FIELDS = optionNames<AclFilter>()(
  "resourceType",
  "resourceName",
  "patternType",
  "principal",
  "host",
  "operation",
  "permission",
);

/** A filter's request fields, checked. */
function filterBody(
  method: string,
  argument: string,
  f: AclFilter,
): DescribeAclsRequest {
  if (!isObject(f)) {
    throw badArgument(method, argument, f, "an ACL filter object");
  }
  // A misspelt field would widen the filter: deleteAcls would delete more.
  checkFields(method, argument, f, ACL_FIELDS);
  const c = (field: Field) =>
    code(method, argument, field, f[field] ?? "any", true);
  const t = (field: "resourceName" | "principal" | "host") =>
    text(method, `${argument}.${field}`, f[field], true);
  return {
    resourceTypeFilter: c("resourceType"),
    resourceNameFilter: t("resourceName"),
    patternTypeFilter: c("patternType"),
    principalFilter: t("principal"),
    hostFilter: t("host"),
    operation: c("operation"),
    permissionType: c("permission"),
  };
}

/** An ACL of a response, its codes named. */
function binding(a: {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}): AclBinding {
  const name = (field: Field, c: number) => NAMES[field][c] ?? "unknown";
  return {
    resourceType: name("resourceType", a.resourceType),
    resourceName: a.resourceName,
    patternType: name("patternType", a.patternType),
    principal: a.principal,
    host: a.host,
    operation: name("operation", a.operation),
    permission: name("permission", a.permissionType),
  } as AclBinding;
}

/**
 * The error of a response's code and message (a missing result is one),
 * with a hint on SECURITY_DISABLED, which means no authorizer.
 */
function aclError(
  apiName: string,
  result: { errorCode: number; errorMessage: string | null } | undefined,
): KafkaError | null {
  if (!result) {
    return itemError(-1, "the broker's answer left it out", { apiName });
  }
  const { errorCode: code, errorMessage: message } = result;
  if (code !== ErrorCode.SECURITY_DISABLED) {
    return itemError(code, message, { apiName });
  }
  return new KafkaError(code, {
    apiName,
    detail: `${
      message ? `${message}; ` : ""
    }the broker has no authorizer (set its authorizer.class.name, e.g. org.apache.kafka.metadata.authorizer.StandardAuthorizer, to use ACLs)`,
  });
}

/**
 * The ACLs matching `filter` (all of them when it is left out). Throws the
 * broker's error, e.g. SECURITY_DISABLED when it has no authorizer.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { describeAcls } from "./acls.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const acls = await describeAcls(new Router(cluster, 10_000), {
 *   principal: "User:billing",
 * });
 * for (const a of acls) console.log(a.permission, a.operation, a.resourceName);
 * await cluster.close();
 * ```
 */
export async function describeAcls(
  router: Router,
  filter: AclFilter = {},
  options: CallOptions = {},
): Promise<AclBinding[]> {
  const body = filterBody("describeAcls", "filter", filter);
  const call = router.call(options);
  const r = await router.any(DescribeAcls, body, call);
  const error = aclError("DescribeAcls", r);
  if (error) throw error;
  return r.resources.flatMap((res) =>
    res.acls.map((a) =>
      binding({
        ...a,
        resourceType: res.resourceType,
        resourceName: res.resourceName,
        patternType: res.patternType,
      })
    )
  );
}

/**
 * Creates ACLs; one result per ACL, in order, each with its error (e.g.
 * INVALID_REQUEST for a principal without "Type:"). Values only filters
 * take ("any", "match") are refused up front with a TypeError.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createAcls, deleteAcls } from "./acls.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * const [result] = await createAcls(router, [{
 *   resourceType: "topic", resourceName: "docs-acls", principal: "User:docs-acls",
 *   operation: "read", permission: "allow",
 * }]);
 * console.log(result.error?.message ?? "created");
 * await deleteAcls(router, [{ principal: "User:docs-acls" }]);
 * await cluster.close();
 * ```
 */
export async function createAcls(
  router: Router,
  acls: readonly NewAcl[],
  options: CallOptions = {},
): Promise<CreatedAcl[]> {
  const m = "createAcls";
  checkList(m, "acls", acls, "an array of ACLs");
  const creations = acls.map((a, i) => {
    const at = `acls[${i}]`;
    if (!isObject(a)) throw badArgument(m, at, a, "an ACL object");
    checkFields(m, at, a, ACL_FIELDS);
    const c = (field: Field, value: unknown) =>
      code(m, at, field, value, false);
    const t = (field: string, value: unknown) =>
      text(m, `${at}.${field}`, value, false)!;
    return {
      resourceType: c("resourceType", a.resourceType),
      resourceName: t("resourceName", a.resourceName),
      resourcePatternType: c("patternType", a.patternType ?? "literal"),
      principal: principal(m, `${at}.principal`, a.principal),
      host: t("host", a.host ?? "*"),
      operation: c("operation", a.operation),
      permissionType: c("permission", a.permission),
    };
  });
  if (creations.length === 0) return [];
  const call = router.call(options);
  const r = await router.any(CreateAcls, { creations }, call);
  return acls.map((acl, i) => ({
    acl,
    error: aclError("CreateAcls", r.results[i]),
  }));
}

/**
 * A principal as ACLs name one, "Type:name" ("User:alice", "User:*"): the
 * broker refuses "alice" as a request it cannot parse.
 */
function principal(method: string, at: string, value: unknown): string {
  const colon = typeof value === "string" ? value.indexOf(":") : -1;
  if (colon <= 0 || colon === (value as string).length - 1) {
    throw badArgument(
      method,
      at,
      value,
      `"Type:name" of a principal, e.g. "User:alice" or "User:*"`,
    );
  }
  return value as string;
}

/**
 * Deletes the ACLs matching each filter; one result per filter, in order,
 * listing the ACLs it matched (each with its own error) and the filter's
 * error. A filter matching everything deletes every ACL of the cluster.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { deleteAcls } from "./acls.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const [result] = await deleteAcls(new Router(cluster, 10_000), [
 *   { principal: "User:docs-acls", resourceType: "topic" },
 * ]);
 * console.log(result.deleted.map((d) => d.acl.resourceName));
 * await cluster.close();
 * ```
 */
export async function deleteAcls(
  router: Router,
  filters: readonly AclFilter[],
  options: CallOptions = {},
): Promise<AclFilterDeletion[]> {
  const m = "deleteAcls";
  checkList(m, "filters", filters, "an array of ACL filters");
  const bodies = filters.map((f, i) => filterBody(m, `filters[${i}]`, f));
  if (bodies.length === 0) return [];
  const call = router.call(options);
  const r = await router.any(DeleteAcls, { filters: bodies }, call);
  return filters.map((filter, i) => {
    const result = r.filterResults[i];
    const error = aclError("DeleteAcls", result);
    return {
      filter,
      deleted: error ? [] : result.matchingAcls.map((a) => ({
        acl: binding(a),
        error: aclError("DeleteAcls", a),
      })),
      error,
    };
  });
}
