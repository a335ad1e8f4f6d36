/**
 * Configs of topics, brokers, broker loggers, groups and client metrics:
 * describing them, replacing them (legacy AlterConfigs) and changing them
 * key by key (IncrementalAlterConfigs). As in Java's AdminClient, a broker's
 * or a broker logger's resource goes to that broker (its name is the
 * broker id); the others, and the cluster-wide broker default (name ""),
 * go together to any broker.
 *
 * @module
 */

import type { Api } from "../protocol/api.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AlterConfigs } from "../protocol/messages/alter_configs.ts";
import { DescribeConfigs } from "../protocol/messages/describe_configs.ts";
import { IncrementalAlterConfigs } from "../protocol/messages/incremental_alter_configs.ts";
import {
  type Body,
  type CallOptions,
  itemError,
  itemFailure,
  type Router,
} from "../cluster/route.ts";
import { badArgument, checkList, isList } from "../requests/arguments.ts";

/**
 * The kinds of resource that have configs.
 *
 * @example
 * ```ts
 * import type { ConfigResourceType } from "./configs.ts";
 * const type: ConfigResourceType = "topic";
 * ```
 */
export type ConfigResourceType =
  | "topic"
  | "broker"
  | "brokerLogger"
  | "group"
  | "clientMetrics";

/**
 * Each resource type's id on the wire (Java's `ConfigResource.Type`).
 *
 * @example
 * ```ts
 * import { ConfigResourceTypeIds } from "./configs.ts";
 *
 * console.log(ConfigResourceTypeIds.group); // 32
 * ```
 */
export const ConfigResourceTypeIds: Readonly<
  Record<ConfigResourceType, number>
> = Object.freeze({
  topic: 2,
  broker: 4,
  brokerLogger: 8,
  clientMetrics: 16,
  group: 32,
});

/**
 * Where a config's value comes from (Java's `ConfigEntry.ConfigSource`).
 *
 * @example
 * ```ts
 * import type { ConfigSource } from "./configs.ts";
 * const source: ConfigSource = "DYNAMIC_TOPIC_CONFIG";
 * ```
 */
export type ConfigSource =
  | "UNKNOWN"
  | "DYNAMIC_TOPIC_CONFIG"
  | "DYNAMIC_BROKER_CONFIG"
  | "DYNAMIC_DEFAULT_BROKER_CONFIG"
  | "STATIC_BROKER_CONFIG"
  | "DEFAULT_CONFIG"
  | "DYNAMIC_BROKER_LOGGER_CONFIG"
  | "DYNAMIC_CLIENT_METRICS_CONFIG"
  | "DYNAMIC_GROUP_CONFIG";

/** Sources by their id on the wire. */
const SOURCES = ("UNKNOWN DYNAMIC_TOPIC_CONFIG DYNAMIC_BROKER_CONFIG " +
  "DYNAMIC_DEFAULT_BROKER_CONFIG STATIC_BROKER_CONFIG DEFAULT_CONFIG " +
  "DYNAMIC_BROKER_LOGGER_CONFIG DYNAMIC_CLIENT_METRICS_CONFIG " +
  "DYNAMIC_GROUP_CONFIG").split(" ") as ConfigSource[];

/**
 * A config's data type ("UNKNOWN" before DescribeConfigs v3).
 *
 * @example
 * ```ts
 * import type { ConfigType } from "./configs.ts";
 * const type: ConfigType = "LONG";
 * ```
 */
export type ConfigType =
  | "UNKNOWN"
  | "BOOLEAN"
  | "STRING"
  | "INT"
  | "SHORT"
  | "LONG"
  | "DOUBLE"
  | "LIST"
  | "CLASS"
  | "PASSWORD";

/** Types by their id on the wire. */
const TYPES = ("UNKNOWN BOOLEAN STRING INT SHORT LONG DOUBLE LIST CLASS " +
  "PASSWORD").split(" ") as ConfigType[];

/**
 * A resource whose configs to describe: a topic, a broker (by id, or ""
 * for the cluster-wide default), a broker's loggers, a group or a client
 * metrics subscription.
 *
 * @example
 * ```ts
 * import type { ConfigResource } from "./configs.ts";
 * const resources: ConfigResource[] = [
 *   { type: "topic", name: "orders", configNames: ["retention.ms"] },
 *   { type: "broker", name: "1" },
 * ];
 * ```
 */
export interface ConfigResource {
  /** The kind of resource. */
  type: ConfigResourceType;
  /** Its name: topic, broker id, group id or subscription name. */
  name: string;
  /** Only these configs (default: all). */
  configNames?: readonly string[] | undefined;
}

/**
 * Options of `describeConfigs`.
 *
 * @example
 * ```ts
 * import type { DescribeConfigsOptions } from "./configs.ts";
 * const options: DescribeConfigsOptions = { includeSynonyms: true };
 * ```
 */
export interface DescribeConfigsOptions extends CallOptions {
  /** Also list where else each value could come from (default false). */
  includeSynonyms?: boolean | undefined;
  /** Also give each config's documentation (default false). */
  includeDocumentation?: boolean | undefined;
}

/**
 * One value a config could take from a source, most specific first.
 *
 * @example
 * ```ts
 * import type { ConfigSynonym } from "./configs.ts";
 * const s: ConfigSynonym = { name: "log.retention.hours", value: "168", source: "STATIC_BROKER_CONFIG" };
 * ```
 */
export interface ConfigSynonym {
  /** The synonym's name (a broker config may stand for a topic's). */
  name: string;
  /** Its value, null when sensitive or unset. */
  value: string | null;
  /** Where it comes from. */
  source: ConfigSource;
}

/**
 * One config as `describeConfigs` tells it.
 *
 * @example
 * ```ts
 * import type { DescribedConfig } from "./configs.ts";
 * const c: DescribedConfig = {
 *   name: "retention.ms", value: "604800000", readOnly: false,
 *   source: "DEFAULT_CONFIG", isSensitive: false, synonyms: [],
 *   type: "LONG", documentation: null,
 * };
 * ```
 */
export interface DescribedConfig {
  /** The config's name. */
  name: string;
  /** Its value, null when sensitive or unset. */
  value: string | null;
  /** True when it cannot be changed. */
  readOnly: boolean;
  /** Where the value comes from. */
  source: ConfigSource;
  /** True for passwords and other secrets. */
  isSensitive: boolean;
  /** Other sources of the value (with `includeSynonyms`, else []). */
  synonyms: ConfigSynonym[];
  /** Its data type. */
  type: ConfigType;
  /** Its documentation (with `includeDocumentation`, else null). */
  documentation: string | null;
}

/**
 * One resource's configs, or why they could not be described.
 *
 * @example
 * ```ts
 * import type { ConfigResourceResult } from "./configs.ts";
 * const r: ConfigResourceResult = { type: "topic", name: "orders", configs: [], error: null };
 * ```
 */
export interface ConfigResourceResult {
  /** The resource's type, as asked. */
  type: ConfigResourceType;
  /** The resource's name, as asked. */
  name: string;
  /** Its configs, in the broker's order ([] on error). */
  configs: DescribedConfig[];
  /** Why they were not described (e.g. UNKNOWN_TOPIC_OR_PARTITION), or null. */
  error: KafkaError | null;
}

/**
 * A resource's new whole set of configs for `alterConfigs`: configs left
 * out go back to their defaults.
 *
 * @example
 * ```ts
 * import type { ConfigReplacement } from "./configs.ts";
 * const r: ConfigReplacement = {
 *   type: "topic", name: "orders", configs: { "retention.ms": "3600000" },
 * };
 * ```
 */
export interface ConfigReplacement {
  /** The kind of resource. */
  type: ConfigResourceType;
  /** Its name. */
  name: string;
  /** Every dynamic config it should have, by name. */
  configs: Readonly<Record<string, string>>;
}

/**
 * How `incrementalAlterConfigs` changes a config: set its value, delete it
 * (back to its default), or add to or remove from a list config.
 *
 * @example
 * ```ts
 * import type { ConfigOperation } from "./configs.ts";
 * const op: ConfigOperation = "append";
 * ```
 */
export type ConfigOperation = "set" | "delete" | "append" | "subtract";

const OPERATIONS: Record<ConfigOperation, number> = {
  set: 0,
  delete: 1,
  append: 2,
  subtract: 3,
};

/**
 * One change of `incrementalAlterConfigs`.
 *
 * @example
 * ```ts
 * import type { ConfigChange } from "./configs.ts";
 * const changes: ConfigChange[] = [
 *   { name: "retention.ms", op: "set", value: "3600000" },
 *   { name: "cleanup.policy", op: "delete" },
 * ];
 * ```
 */
export interface ConfigChange {
  /** The config's name. */
  name: string;
  /** What to do with it. */
  op: ConfigOperation;
  /** The value to set, append or subtract (ignored by "delete"). */
  value?: string | undefined;
}

/**
 * A resource's changes for `incrementalAlterConfigs`.
 *
 * @example
 * ```ts
 * import type { ConfigChanges } from "./configs.ts";
 * const c: ConfigChanges = {
 *   type: "broker", name: "1",
 *   changes: [{ name: "log.cleaner.threads", op: "set", value: "2" }],
 * };
 * ```
 */
export interface ConfigChanges {
  /** The kind of resource. */
  type: ConfigResourceType;
  /** Its name. */
  name: string;
  /** The changes, applied together or not at all. */
  changes: readonly ConfigChange[];
}

/**
 * Options of `alterConfigs` and `incrementalAlterConfigs`.
 *
 * @example
 * ```ts
 * import type { AlterConfigsOptions } from "./configs.ts";
 * const options: AlterConfigsOptions = { validateOnly: true };
 * ```
 */
export interface AlterConfigsOptions extends CallOptions {
  /** Only check that the changes are valid (default false). */
  validateOnly?: boolean | undefined;
}

/**
 * What became of one resource of `alterConfigs` or
 * `incrementalAlterConfigs`.
 *
 * @example
 * ```ts
 * import type { AlteredConfigs } from "./configs.ts";
 * const r: AlteredConfigs = { type: "topic", name: "orders", error: null };
 * ```
 */
export interface AlteredConfigs {
  /** The resource's type, as asked. */
  type: ConfigResourceType;
  /** The resource's name, as asked. */
  name: string;
  /** Why it was not changed (e.g. INVALID_CONFIG), or null. */
  error: KafkaError | null;
}

/**
 * The configs of topics, brokers, broker loggers, groups or client metrics
 * subscriptions; one result per resource, in order, each with its error.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { describeConfigs } from "./configs.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-configs" }]);
 * const [topic] = await describeConfigs(router, [
 *   { type: "topic", name: "docs-configs", configNames: ["retention.ms"] },
 * ]);
 * console.log(topic.configs[0]?.value, topic.configs[0]?.source); // 604800000 DEFAULT_CONFIG
 * await deleteTopics(router, ["docs-configs"]);
 * await cluster.close();
 * ```
 */
export async function describeConfigs(
  router: Router,
  resources: readonly ConfigResource[],
  options: DescribeConfigsOptions = {},
): Promise<ConfigResourceResult[]> {
  checkResources("describeConfigs", resources, (r, at) => {
    const names = r.configNames;
    if (
      names !== undefined &&
      (!isList(names) || names.some((n) => typeof n !== "string" || n === ""))
    ) return [`${at}.configNames`, names, "an array of config names"];
  });
  return await byNode(router, options, resources, DescribeConfigs, {
    body: (batch) => (conn) => ({
      includeSynonyms: options.includeSynonyms ?? false,
      // Before v3 (Kafka 2.6) there is none to ask for: left out quietly
      // (each config's documentation is null); it changes nothing else.
      includeDocumentation: conn.pickVersion(DescribeConfigs) >= 3 &&
        (options.includeDocumentation ?? false),
      resources: batch.map((r) => ({
        resourceType: ConfigResourceTypeIds[r.type],
        resourceName: r.name,
        configurationKeys: r.configNames ? [...r.configNames] : null,
      })),
    }),
    answers: (response) => response.results,
    result: (r, answer, error) => ({
      type: r.type,
      name: r.name,
      configs: (answer && !error ? answer.configs : []).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        source: SOURCES[c.configSource] ?? "UNKNOWN",
        isSensitive: c.isSensitive,
        synonyms: c.synonyms.map((s) => ({
          name: s.name,
          value: s.value,
          source: SOURCES[s.source] ?? "UNKNOWN",
        })),
        type: TYPES[c.configType] ?? "UNKNOWN",
        documentation: c.documentation,
      })),
      error,
    }),
  });
}

/**
 * Replaces resources' whole sets of dynamic configs (the legacy
 * AlterConfigs: configs left out go back to their defaults; prefer
 * `incrementalAlterConfigs`). One result per resource, in order.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { alterConfigs } from "./configs.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-alter-configs" }]);
 * const [result] = await alterConfigs(router, [{
 *   type: "topic",
 *   name: "docs-alter-configs",
 *   configs: { "retention.ms": "3600000" },
 * }]);
 * console.log(result.error); // null
 * await deleteTopics(router, ["docs-alter-configs"]);
 * await cluster.close();
 * ```
 */
export async function alterConfigs(
  router: Router,
  resources: readonly ConfigReplacement[],
  options: AlterConfigsOptions = {},
): Promise<AlteredConfigs[]> {
  checkResources("alterConfigs", resources, (r, at) => {
    const configs: unknown = r.configs;
    if (
      typeof configs !== "object" || configs === null || isList(configs) ||
      Object.values(configs).some((v) => typeof v !== "string")
    ) {
      return [
        `${at}.configs`,
        configs,
        'an object of string values, e.g. { "retention.ms": "3600000" }',
      ];
    }
  });
  return await byNode(router, options, resources, AlterConfigs, {
    body: (batch) => ({
      validateOnly: options.validateOnly ?? false,
      resources: batch.map((r) => ({
        resourceType: ConfigResourceTypeIds[r.type],
        resourceName: r.name,
        configs: Object.entries(r.configs).map(([name, value]) => ({
          name,
          value,
        })),
      })),
    }),
    answers: (response) => response.responses,
    result: (r, _, error) => ({ type: r.type, name: r.name, error }),
  });
}

/**
 * Changes configs key by key: sets, deletes (back to the default), or
 * appends to or subtracts from list configs. The changes of one resource
 * apply together or not at all; one result per resource, in order.
 *
 * @example
 * ```ts
 * import { Cluster } from "../cluster/cluster.ts";
 * import { incrementalAlterConfigs } from "./configs.ts";
 * import { Router } from "../cluster/route.ts";
 * import { createTopics, deleteTopics } from "./topics.ts";
 *
 * const cluster = new Cluster({ brokers: ["localhost:9092"] });
 * const router = new Router(cluster, 10_000);
 * await createTopics(router, [{ topic: "docs-incremental-configs" }]);
 * const [result] = await incrementalAlterConfigs(router, [{
 *   type: "topic",
 *   name: "docs-incremental-configs",
 *   changes: [
 *     { name: "retention.ms", op: "set", value: "3600000" },
 *     { name: "cleanup.policy", op: "append", value: "compact" },
 *   ],
 * }]);
 * console.log(result.error); // null
 * await deleteTopics(router, ["docs-incremental-configs"]);
 * await cluster.close();
 * ```
 */
export async function incrementalAlterConfigs(
  router: Router,
  resources: readonly ConfigChanges[],
  options: AlterConfigsOptions = {},
): Promise<AlteredConfigs[]> {
  checkResources("incrementalAlterConfigs", resources, (r, at) => {
    if (!isList(r.changes)) {
      return [`${at}.changes`, r.changes, "an array of { name, op, value }"];
    }
    for (const [k, c] of r.changes.entries()) {
      const where = `${at}.changes[${k}]`;
      if (typeof c?.name !== "string" || c.name === "") {
        return [`${where}.name`, c?.name, "a config name"];
      }
      if (!Object.hasOwn(OPERATIONS, c.op)) {
        return [`${where}.op`, c.op, '"set", "delete", "append" or "subtract"'];
      }
      if (c.op !== "delete" && typeof c.value !== "string") {
        return [`${where}.value`, c.value, `a string (to ${c.op})`];
      }
    }
  });
  return await byNode(router, options, resources, IncrementalAlterConfigs, {
    body: (batch) => ({
      validateOnly: options.validateOnly ?? false,
      resources: batch.map((r) => ({
        resourceType: ConfigResourceTypeIds[r.type],
        resourceName: r.name,
        configs: r.changes.map((c) => ({
          name: c.name,
          configOperation: OPERATIONS[c.op],
          value: c.op === "delete" ? null : c.value ?? null,
        })),
      })),
    }),
    answers: (response) => response.responses,
    result: (r, _, error) => ({ type: r.type, name: r.name, error }),
  });
}

/** What the three calls share of a resource. */
interface Named {
  type: ConfigResourceType;
  name: string;
}

/** What the three responses share of a resource's answer. */
interface Answer {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/**
 * Throws a TypeError unless `resources` is an array of resources of known
 * types, with names fit for their type, each once, that `check` accepts
 * (`check` refuses one by returning the argument, its value and what was
 * expected).
 */
function checkResources<R extends Named>(
  method: string,
  resources: readonly R[],
  check: (resource: R, at: string) => [string, unknown, string] | undefined,
): void {
  checkList(method, "resources", resources, "an array of resources");
  const seen = new Set<string>();
  resources.forEach((r, i) => {
    const at = `resources[${i}]`;
    if (!Object.hasOwn(ConfigResourceTypeIds, r?.type)) {
      throw badArgument(
        method,
        `${at}.type`,
        r?.type,
        '"topic", "broker", "brokerLogger", "group" or "clientMetrics"',
      );
    }
    const { type, name } = r;
    const byId = type === "broker" || type === "brokerLogger";
    if (
      typeof name !== "string" ||
      (byId
        ? !/^\d+$/.test(name) && !(type === "broker" && name === "")
        : name === "")
    ) {
      throw badArgument(
        method,
        `${at}.name`,
        name,
        type === "broker"
          ? 'a broker id as a string, e.g. "1" (or "" for the cluster default)'
          : type === "brokerLogger"
          ? 'a broker id as a string, e.g. "1"'
          : `a ${type === "clientMetrics" ? "subscription" : type} name`,
      );
    }
    const key = `${type}\0${name}`;
    if (seen.has(key)) throw badArgument(method, at, r, "each resource once");
    seen.add(key);
    const refused = check(r, at);
    if (refused) throw badArgument(method, ...refused);
  });
}

/**
 * Sends a broker's (or broker logger's) resources to that broker and the
 * others together to any broker, then gives one result per resource in
 * order. A node that cannot be reached before the deadline gives its
 * resources a NETWORK_EXCEPTION or REQUEST_TIMED_OUT error; when no node
 * answered at all, the call rejects with the failure instead.
 */
async function byNode<R extends Named, Req, Res, A extends Answer, Out>(
  router: Router,
  options: CallOptions,
  resources: readonly R[],
  api: Api<Req, Res>,
  how: {
    body: (batch: R[]) => Body<Req>;
    answers: (response: Res) => readonly A[];
    result: (
      resource: R,
      answer: A | undefined,
      error: KafkaError | null,
    ) => Out;
  },
): Promise<Out[]> {
  const groups = new Map<number | null, number[]>();
  resources.forEach((r, i) => {
    const node = (r.type === "broker" && r.name !== "") ||
        r.type === "brokerLogger"
      ? Number(r.name)
      : null;
    const list = groups.get(node);
    if (list) list.push(i);
    else groups.set(node, [i]);
  });
  const call = router.call(options);
  const out = new Array<Out>(resources.length);
  const failures: unknown[] = [];
  await Promise.all([...groups].map(async ([node, indexes]) => {
    const batch = indexes.map((i) => resources[i]);
    let response: Res;
    try {
      response = node === null
        ? await router.any(api, how.body(batch), call)
        : await router.broker(node, api, how.body(batch), call);
    } catch (error) {
      const itemError = itemFailure(error, call);
      failures.push(error);
      for (const i of indexes) {
        out[i] = how.result(resources[i], undefined, itemError);
      }
      return;
    }
    const answers = how.answers(response);
    for (const i of indexes) {
      const r = resources[i];
      const answer = answers.find((a) =>
        a.resourceType === ConfigResourceTypeIds[r.type] &&
        a.resourceName === r.name
      );
      out[i] = how.result(
        r,
        answer,
        answer
          ? itemError(
            answer.errorCode,
            r.type === "topic"
              ? answer.errorMessage || null
              : [`${r.type} "${r.name}"`, answer.errorMessage]
                .filter(Boolean).join(": "),
            {
              apiName: api.name,
              topic: r.type === "topic" ? r.name : undefined,
            },
          )
          : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, {
            apiName: api.name,
            detail: `the broker's answer left ${r.type} "${r.name}" out`,
          }),
      );
    }
  }));
  if (failures.length > 0 && failures.length === groups.size) {
    throw failures[0];
  }
  return out;
}
