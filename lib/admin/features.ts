/**
 * Cluster features (KIP-584): the feature levels the cluster runs at
 * (`metadata.version`, `transaction.version`, `group.version`,
 * `share.version`...), the ranges each broker supports (ApiVersions), and
 * raising or lowering them (UpdateFeatures, which a broker forwards to the
 * controller) — what `kafka-features.sh` does.
 *
 * @module
 */

import { requireVersion } from "../requests/versions.ts";
import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { ApiVersions } from "../protocol/messages/api_versions.ts";
import { UpdateFeatures } from "../protocol/messages/update_features.ts";
import { badArgument, checkList, isObject } from "../requests/arguments.ts";

/**
 * The features of the cluster, as a broker reports them.
 *
 * @example
 * ```ts
 * import type { FeatureDescription } from "./features.ts";
 *
 * const d: FeatureDescription = {
 *   finalized: { "share.version": 1 },
 *   supported: { "share.version": { minVersion: 0, maxVersion: 1 } },
 *   epoch: 12,
 * };
 * console.log(d.finalized["share.version"]);
 * ```
 */
export interface FeatureDescription {
  /** The level the cluster runs each feature at (a feature at level 0 is absent). */
  finalized: Record<string, number>;
  /** The levels the answering broker could run each feature at. */
  supported: Record<string, { minVersion: number; maxVersion: number }>;
  /** Moves on with each change of the finalized levels; -1 if unknown. */
  epoch: number;
}

/**
 * A feature to move to another level. `upgradeType` decides what a lower
 * level means: "upgrade" (the default) refuses to lower it,
 * "safe-downgrade" lowers it if no metadata is lost, "unsafe-downgrade"
 * even then.
 *
 * @example
 * ```ts
 * import type { FeatureUpdate } from "./features.ts";
 *
 * const update: FeatureUpdate = { feature: "share.version", level: 1 };
 * console.log(update.feature);
 * ```
 */
export interface FeatureUpdate {
  /** The feature's name, e.g. "share.version". */
  feature: string;
  /** The new level; 0 removes the feature (with a downgrade type). */
  level: number;
  /** What a lower level means (default "upgrade": refused). */
  upgradeType?: "upgrade" | "safe-downgrade" | "unsafe-downgrade" | undefined;
}

/**
 * The outcome of one feature update.
 *
 * @example
 * ```ts
 * import type { FeatureUpdateResult } from "./features.ts";
 *
 * const r: FeatureUpdateResult = { feature: "share.version", error: null };
 * console.log(r.error === null);
 * ```
 */
export interface FeatureUpdateResult {
  /** The feature's name. */
  feature: string;
  /** Why it was refused (INVALID_UPDATE_VERSION...), or null. */
  error: KafkaError | null;
}

const UPGRADE_TYPES = {
  "upgrade": 1,
  "safe-downgrade": 2,
  "unsafe-downgrade": 3,
} as const;

/** The cluster's feature levels, as any broker reports them. */
export async function describeFeatures(
  router: Router,
  options: CallOptions = {},
): Promise<FeatureDescription> {
  const call = router.call(options);
  const r = await router.any(ApiVersions, {
    clientSoftwareName: "streamkafka",
    clientSoftwareVersion: "0.1.0",
  }, call);
  const error = itemError(r.errorCode, null, { apiName: "ApiVersions" });
  if (error) throw error;
  const finalized: FeatureDescription["finalized"] = {};
  for (const f of r.finalizedFeatures) finalized[f.name] = f.maxVersionLevel;
  const supported: FeatureDescription["supported"] = {};
  for (const f of r.supportedFeatures) {
    supported[f.name] = { minVersion: f.minVersion, maxVersion: f.maxVersion };
  }
  return { finalized, supported, epoch: r.finalizedFeaturesEpoch };
}

/**
 * Moves features to other levels; one result per update, in order. With
 * `validateOnly`, the controller checks the updates and changes nothing.
 * Throws the request's own error (e.g. CLUSTER_AUTHORIZATION_FAILED).
 */
export async function updateFeatures(
  router: Router,
  updates: readonly FeatureUpdate[],
  options: CallOptions & { validateOnly?: boolean } = {},
): Promise<FeatureUpdateResult[]> {
  const m = "updateFeatures";
  checkList(m, "updates", updates, "an array of { feature, level }");
  const seen = new Set<string>();
  updates.forEach((u, i) => {
    const at = `updates[${i}]`;
    if (!isObject(u)) throw badArgument(m, at, u, "an object");
    if (typeof u.feature !== "string" || u.feature === "") {
      throw badArgument(m, `${at}.feature`, u.feature, "a feature name");
    }
    if (seen.has(u.feature)) {
      throw badArgument(m, `${at}.feature`, u.feature, "a feature named once");
    }
    seen.add(u.feature);
    if (!Number.isInteger(u.level) || u.level < 0 || u.level > 0x7fff) {
      throw badArgument(m, `${at}.level`, u.level, "a level (0 to 32767)");
    }
    if (
      u.upgradeType !== undefined &&
      !Object.hasOwn(UPGRADE_TYPES, u.upgradeType)
    ) {
      throw badArgument(
        m,
        `${at}.upgradeType`,
        u.upgradeType,
        `"upgrade", "safe-downgrade" or "unsafe-downgrade"`,
      );
    }
  });
  if (
    options.validateOnly !== undefined &&
    typeof options.validateOnly !== "boolean"
  ) {
    throw badArgument(m, "validateOnly", options.validateOnly, "a boolean");
  }
  if (updates.length === 0) return [];
  const call = router.call(options);
  const r = await router.waiting.controller(
    UpdateFeatures,
    (conn) => {
      if (options.validateOnly) {
        requireVersion(
          conn,
          UpdateFeatures,
          1,
          'updateFeatures "validateOnly"',
          "Kafka 3.3 or later",
        );
      }
      // v0 has a flag (allowDowngrade), v1+ the type (KIP-778).
      const version = conn.pickVersion(UpdateFeatures);
      if (updates.some((u) => u.upgradeType === "safe-downgrade")) {
        // v0 has only an unsafe downgrade: a safe one cannot be sent.
        requireVersion(
          conn,
          UpdateFeatures,
          1,
          'updateFeatures "safe-downgrade"',
          "Kafka 3.3 or later, KIP-778",
        );
      }
      return {
        timeoutMs: router.brokerWait(call),
        validateOnly: options.validateOnly ?? false,
        featureUpdates: updates.map((u) => {
          const type = UPGRADE_TYPES[u.upgradeType ?? "upgrade"];
          return version < 1
            ? {
              feature: u.feature,
              maxVersionLevel: u.level,
              allowDowngrade: type !== 1,
            }
            : {
              feature: u.feature,
              maxVersionLevel: u.level,
              upgradeType: type,
            };
        }),
      };
    },
    call,
    (response) => [response.errorCode],
  );
  const error = itemError(r.errorCode, r.errorMessage, {
    apiName: "UpdateFeatures",
  });
  if (error) throw error;
  return updates.map((u) => {
    // From v2 on, the answer lists no features: the top-level code is all.
    const found = r.results.find((x) => x.feature === u.feature);
    return {
      feature: u.feature,
      error: found === undefined
        ? null
        : itemError(found.errorCode, found.errorMessage, {
          apiName: "UpdateFeatures",
        }),
    };
  });
}
