/**
 * Listing the resources that have configs (KIP-1142, Kafka 4.1): topics,
 * brokers, broker loggers, groups and client-metrics subscriptions, as
 * `kafka-configs.sh --describe` with no name walks them. Kafka 3.7 to 4.0
 * answer the request's version 0 (then called ListClientMetricsResources,
 * KIP-714), which lists client-metrics subscriptions only.
 *
 * @module
 */

import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import { UnsupportedVersionError } from "../connection/errors.ts";
import { ListConfigResources } from "../protocol/messages/list_config_resources.ts";
import { badArgument, checkList } from "../requests/arguments.ts";
import { type ConfigResourceType, ConfigResourceTypeIds } from "./configs.ts";

/**
 * A resource that has configs: its type and name (a broker's id, as text,
 * for a broker).
 *
 * @example
 * ```ts
 * import type { ListedConfigResource } from "./config_resources.ts";
 *
 * const r: ListedConfigResource = { type: "clientMetrics", name: "all-producers" };
 * console.log(r.type, r.name);
 * ```
 */
export interface ListedConfigResource {
  /** Its type, as `describeConfigs` takes it. */
  type: ConfigResourceType;
  /** Its name. */
  name: string;
}

const TYPE_NAMES = new Map<number, ConfigResourceType>(
  Object.entries(ConfigResourceTypeIds).map(([name, id]) => [
    id,
    name as ConfigResourceType,
  ]),
);

/**
 * The resources of `types` (all the broker lists when none are given),
 * sorted by type then name. Asked of any broker.
 */
export async function listConfigResources(
  router: Router,
  types: readonly ConfigResourceType[] = [],
  options: CallOptions = {},
): Promise<ListedConfigResource[]> {
  const m = "listConfigResources";
  checkList(m, "types", types, "an array of resource types");
  types.forEach((t, i) => {
    if (!Object.hasOwn(ConfigResourceTypeIds, t)) {
      throw badArgument(
        m,
        `types[${i}]`,
        t,
        '"topic", "broker", "brokerLogger", "group" or "clientMetrics"',
      );
    }
  });
  const wanted = [...new Set(types)];
  const call = router.call(options);
  const r = await router.any(ListConfigResources, (conn) => {
    // Version 0 knows only client-metrics subscriptions.
    if (
      conn.pickVersion(ListConfigResources) < 1 &&
      (wanted.length === 0 || wanted.some((t) => t !== "clientMetrics"))
    ) {
      throw new UnsupportedVersionError(
        `Broker ${conn.address} lists client-metrics subscriptions only (ListConfigResources v0, Kafka 3.7 to 4.0); listing ${
          wanted.length === 0
            ? "every type"
            : wanted.filter((t) => t !== "clientMetrics").join(", ")
        } needs Kafka 4.1 or later: call listConfigResources(["clientMetrics"])`,
      );
    }
    return { resourceTypes: wanted.map((t) => ConfigResourceTypeIds[t]) };
  }, call);
  const error = itemError(r.errorCode, null, {
    apiName: "ListConfigResources",
  });
  if (error) throw error;
  const out: ListedConfigResource[] = [];
  for (const c of r.configResources) {
    const type = TYPE_NAMES.get(c.resourceType);
    // A type newer than this client knows is left out.
    if (type !== undefined) out.push({ type, name: c.resourceName });
  }
  return out.sort((a, b) =>
    ConfigResourceTypeIds[a.type] - ConfigResourceTypeIds[b.type] ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}
