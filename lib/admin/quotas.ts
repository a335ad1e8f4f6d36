/**
 * Client quotas: describing and altering the byte-rate, request-rate and
 * connection-rate limits of users, client ids and IP addresses. Requests
 * go to any broker, as Java's AdminClient sends them (least loaded node);
 * a KRaft broker forwards the changes to the controller.
 *
 * An entity is written `{ user: "alice", "client-id": "app" }`; a null
 * name stands for the entity type's default (e.g. every client id without
 * a quota of its own).
 *
 * @module
 */

import type { KafkaError } from "../protocol/errors.ts";
import { AlterClientQuotas } from "../protocol/messages/alter_client_quotas.ts";
import { DescribeClientQuotas } from "../protocol/messages/describe_client_quotas.ts";
import {
  answerError,
  type CallOptions,
  itemError,
  type Router,
} from "../cluster/route.ts";
import { badArgument, checkList, isObject } from "../requests/arguments.ts";

/**
 * The kinds of entity a quota applies to.
 *
 * @example
 * ```ts
 * import type { QuotaEntityType } from "./quotas.ts";
 *
 * const type: QuotaEntityType = "client-id";
 * console.log(type);
 * ```
 */
export type QuotaEntityType = "user" | "client-id" | "ip";

/**
 * Who a quota applies to: a name per entity type, null for the type's
 * default entity.
 *
 * @example
 * ```ts
 * import type { QuotaEntity } from "./quotas.ts";
 *
 * const entity: QuotaEntity = { user: "alice", "client-id": null };
 * console.log(entity.user);
 * ```
 */
export type QuotaEntity = { [type in QuotaEntityType]?: string | null };

/**
 * One part of a `describeClientQuotas` filter, on one entity type: `name`
 * a string matches that entity, null the type's default entity, and left
 * out any named entity of the type.
 *
 * @example
 * ```ts
 * import type { QuotaFilterComponent } from "./quotas.ts";
 *
 * const byName: QuotaFilterComponent = { entityType: "client-id", name: "app" };
 * const anyUser: QuotaFilterComponent = { entityType: "user" };
 * console.log(byName.name, anyUser.entityType);
 * ```
 */
export interface QuotaFilterComponent {
  /** The entity type this part is about. */
  entityType: QuotaEntityType;
  /** The name to match, null for the default entity, left out for any name. */
  name?: string | null | undefined;
}

/**
 * Options of `describeClientQuotas`.
 *
 * @example
 * ```ts
 * import type { DescribeClientQuotasOptions } from "./quotas.ts";
 *
 * const options: DescribeClientQuotasOptions = { strict: true };
 * console.log(options.strict);
 * ```
 */
export interface DescribeClientQuotasOptions extends CallOptions {
  /**
   * Only entities with no entity type beyond the filter's (default false:
   * `{ "client-id": "app" }` also matches `{ user: "u", "client-id": "app" }`).
   */
  strict?: boolean | undefined;
}

/**
 * An entity and its quotas, as `describeClientQuotas` reports them.
 *
 * @example
 * ```ts
 * import type { ClientQuota } from "./quotas.ts";
 *
 * const quota: ClientQuota = {
 *   entity: { "client-id": "app" },
 *   values: { producer_byte_rate: 1048576 },
 * };
 * console.log(quota.values.producer_byte_rate);
 * ```
 */
export interface ClientQuota {
  /** The entity. */
  entity: QuotaEntity;
  /** Its quotas by key, e.g. `{ consumer_byte_rate: 2097152 }`. */
  values: Record<string, number>;
}

/**
 * One change of a quota: set `key` to `value`, or remove it.
 *
 * @example
 * ```ts
 * import type { QuotaOp } from "./quotas.ts";
 *
 * const ops: QuotaOp[] = [
 *   { key: "producer_byte_rate", value: 1048576 },
 *   { key: "request_percentage", remove: true },
 * ];
 * console.log(ops.length);
 * ```
 */
export type QuotaOp =
  | { key: string; value: number; remove?: false }
  | { key: string; remove: true };

/**
 * Changes to one entity's quotas, for `alterClientQuotas`.
 *
 * @example
 * ```ts
 * import type { QuotaAlteration } from "./quotas.ts";
 *
 * const change: QuotaAlteration = {
 *   entity: { "client-id": "app" },
 *   ops: [{ key: "producer_byte_rate", value: 1048576 }],
 * };
 * console.log(change.ops[0].key);
 * ```
 */
export interface QuotaAlteration {
  /** The entity whose quotas change. */
  entity: QuotaEntity;
  /** The changes (keys: producer_byte_rate, consumer_byte_rate, ...). */
  ops: readonly QuotaOp[];
}

/**
 * Options of `alterClientQuotas`.
 *
 * @example
 * ```ts
 * import type { AlterClientQuotasOptions } from "./quotas.ts";
 *
 * const options: AlterClientQuotasOptions = { validateOnly: true };
 * console.log(options.validateOnly);
 * ```
 */
export interface AlterClientQuotasOptions extends CallOptions {
  /** Only check that the changes could be made (default false). */
  validateOnly?: boolean | undefined;
}

/**
 * What became of one entity of `alterClientQuotas`.
 *
 * @example
 * ```ts
 * import type { QuotaAlterationResult } from "./quotas.ts";
 *
 * const result: QuotaAlterationResult = { entity: { user: "alice" }, error: null };
 * console.log(result.error === null);
 * ```
 */
export interface QuotaAlterationResult {
  /** The entity, as given. */
  entity: QuotaEntity;
  /** Why its quotas were not changed (e.g. INVALID_REQUEST), or null. */
  error: KafkaError | null;
}

const ENTITY_TYPES: readonly string[] = ["user", "client-id", "ip"];
const TYPES_TEXT = `"user", "client-id" or "ip"`;

/** An entity's parts, checked: entity type and name (null: the default). */
function entityParts(
  method: string,
  argument: string,
  entity: unknown,
): { entityType: string; entityName: string | null }[] {
  if (!isObject(entity)) {
    throw badArgument(
      method,
      argument,
      entity,
      `an entity object such as { "client-id": "app" }, keyed by ${TYPES_TEXT}`,
    );
  }
  return Object.entries(entity as Record<string, unknown>).map(
    ([entityType, entityName]) => {
      if (!ENTITY_TYPES.includes(entityType)) {
        throw badArgument(
          method,
          `${argument} key`,
          entityType,
          `an entity type, ${TYPES_TEXT}`,
        );
      }
      if (entityName !== null && typeof entityName !== "string") {
        throw badArgument(
          method,
          `${argument}["${entityType}"]`,
          entityName,
          "a name, or null for the default entity",
        );
      }
      return { entityType, entityName };
    },
  );
}

/** One string per entity, whatever the order of its parts. */
function entityKey(
  parts: readonly { entityType: string; entityName: string | null }[],
): string {
  return JSON.stringify(
    parts.map((p) => [p.entityType, p.entityName]).sort((a, b) =>
      String(a[0]) < String(b[0]) ? -1 : 1
    ),
  );
}

/**
 * The quotas of the entities matching every component of the filter (all
 * entities with quotas when there is none). Throws the broker's error.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { describeClientQuotas } from "./quotas.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const quotas = await describeClientQuotas(new Router(cluster, 10_000), [
 *   { entityType: "client-id" },
 * ]);
 * for (const q of quotas) console.log(q.entity, q.values);
 * await cluster.close();
 * ```
 */
export async function describeClientQuotas(
  router: Router,
  components: readonly QuotaFilterComponent[] = [],
  options: DescribeClientQuotasOptions = {},
): Promise<ClientQuota[]> {
  const m = "describeClientQuotas";
  checkList(m, "components", components, "an array of { entityType, name? }");
  const body = components.map((c, i) => {
    if (!isObject(c) || !ENTITY_TYPES.includes(c.entityType)) {
      throw badArgument(
        m,
        `components[${i}].entityType`,
        c?.entityType,
        `an entity type, ${TYPES_TEXT}`,
      );
    }
    if (c.name !== undefined && c.name !== null && typeof c.name !== "string") {
      throw badArgument(
        m,
        `components[${i}].name`,
        c.name,
        "a name, null for the default entity, or left out for any name",
      );
    }
    // matchType: 0 exact name, 1 default entity, 2 any named entity.
    const matchType = c.name === undefined ? 2 : c.name === null ? 1 : 0;
    return { entityType: c.entityType, matchType, match: c.name ?? null };
  });
  const call = router.call(options);
  const r = await router.any(DescribeClientQuotas, {
    components: body,
    strict: options.strict ?? false,
  }, call);
  const error = itemError(r.errorCode, r.errorMessage, {
    apiName: "DescribeClientQuotas",
  });
  if (error) throw error;
  return (r.entries ?? []).map((e) => {
    const entity: QuotaEntity = {};
    for (const p of e.entity) {
      entity[p.entityType as QuotaEntityType] = p.entityName;
    }
    const values: Record<string, number> = {};
    for (const v of e.values) values[v.key] = v.value;
    return { entity, values };
  });
}

/**
 * Sets and removes quotas; one result per entity, in order, each with its
 * error (e.g. INVALID_REQUEST for an unknown quota key).
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { Router } from "../cluster/route.ts";
 * import { alterClientQuotas } from "./quotas.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const [result] = await alterClientQuotas(new Router(cluster, 10_000), [{
 *   entity: { "client-id": "docs-quota-app" },
 *   ops: [{ key: "producer_byte_rate", value: 1048576 }],
 * }], { validateOnly: true });
 * console.log(result.error?.message ?? "valid");
 * await cluster.close();
 * ```
 */
export async function alterClientQuotas(
  router: Router,
  entries: readonly QuotaAlteration[],
  options: AlterClientQuotasOptions = {},
): Promise<QuotaAlterationResult[]> {
  const m = "alterClientQuotas";
  checkList(m, "entries", entries, "an array of { entity, ops }");
  const body = entries.map((e, i) => {
    if (!isObject(e)) {
      throw badArgument(m, `entries[${i}]`, e, "an object { entity, ops }");
    }
    const entity = entityParts(m, `entries[${i}].entity`, e.entity);
    if (entity.length === 0) {
      throw badArgument(
        m,
        `entries[${i}].entity`,
        e.entity,
        `an entity with at least one part, such as { "client-id": "app" }, keyed by ${TYPES_TEXT}`,
      );
    }
    checkList(
      m,
      `entries[${i}].ops`,
      e.ops,
      "an array of { key, value } or { key, remove: true }",
    );
    const ops = e.ops.map((op, k) => {
      const at = `entries[${i}].ops[${k}]`;
      if (!isObject(op) || typeof op.key !== "string" || op.key === "") {
        throw badArgument(m, `${at}.key`, op?.key, "a quota key");
      }
      if (op.remove === true) return { key: op.key, value: 0, remove: true };
      if (
        typeof op.value !== "number" || !Number.isFinite(op.value) ||
        op.value < 0
      ) {
        throw badArgument(
          m,
          `${at}.value`,
          op.value,
          "a finite number of at least 0 (or remove: true)",
        );
      }
      return { key: op.key, value: op.value, remove: false };
    });
    return { entity, ops };
  });
  if (body.length === 0) return [];
  const call = router.call(options);
  const r = await router.any(AlterClientQuotas, {
    entries: body,
    validateOnly: options.validateOnly ?? false,
  }, call);
  // The broker answers per distinct entity, in no set order.
  const answers = new Map<string, typeof r.entries>();
  for (const a of r.entries) {
    const key = entityKey(a.entity);
    const list = answers.get(key);
    if (list) list.push(a);
    else answers.set(key, [a]);
  }
  return entries.map(({ entity }, i) => {
    const list = answers.get(entityKey(body[i].entity));
    const a = list && list.length > 1 ? list.shift() : list?.[0];
    return {
      entity,
      error: answerError(a, "entity", { apiName: "AlterClientQuotas" }),
    };
  });
}
