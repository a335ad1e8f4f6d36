/**
 * One member of a consumer group under the consumer protocol (KIP-848,
 * Kafka 4.0 on): the broker computes the assignment, and the member only
 * heartbeats (ConsumerGroupHeartbeat) its subscription and the partitions
 * it owns. Nobody stops for a rebalance: each member reconciles on its own.
 *
 * Reconciliation, when a heartbeat's answer brings a new target assignment:
 * the partitions no longer in it are revoked first (the Reader stops
 * fetching them, `onPartitionsRevoked` runs, what was consumed is
 * committed), then the new ones are taken, and the next heartbeat, sent at
 * once, tells the coordinator what the member owns now. Commits carry the
 * member epoch. FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID mean the
 * partitions are lost: the member rejoins at epoch 0 with its member id.
 * Leaving sends epoch -1, or -2 for a static member, which the coordinator
 * then keeps (and its partitions) for the session timeout.
 *
 * @module
 */

import { messageOf, UnsupportedVersionError } from "../../connection/errors.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import {
  ConsumerGroupHeartbeat,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/consumer_group_heartbeat.ts";
import { HeartbeatMember, type HeartbeatSettings } from "./heartbeat_member.ts";
import {
  GROUP_LANE,
  type Membership,
  type MembershipInfo,
} from "./membership.ts";

/** The consumer-protocol member's settings. */
export interface ConsumerSettings extends HeartbeatSettings {
  /** The topics subscribed to by name, or null with `pattern`. */
  topics: readonly string[] | null;
  /** The subscription as a regular expression the broker evaluates (RE2/J), or null. */
  pattern: string | null;
  /** "uniform" or "range"; null: the broker's default. */
  remoteAssignor: string | null;
  /** The static member's instance id (KIP-345), or null. */
  groupInstanceId: string | null;
  /** The member's rack, for rack-aware assignment, or null. */
  rack: string | null;
  /** Milliseconds the coordinator waits for the member to revoke partitions. */
  rebalanceTimeout: number;
}

/** A static member leaves for now: the coordinator keeps its partitions. */
const STATIC_LEAVE_EPOCH = -2;

/** One member of a consumer-protocol group. */
export class ConsumerMember extends HeartbeatMember<ConsumerSettings>
  implements Membership {
  protected readonly apiName = "ConsumerGroupHeartbeat";
  protected readonly kind = "consumer protocol";

  info(): MembershipInfo {
    return {
      protocol: "consumer",
      rebalance: "cooperative",
      memberId: this.memberId,
      generationId: this.epoch > 0 ? this.epoch : -1,
      groupInstanceId: this.settings.groupInstanceId,
      assignor: this.settings.remoteAssignor,
    };
  }

  protected override get groupInstanceId(): string | null {
    return this.settings.groupInstanceId;
  }

  protected override get leaveEpoch(): number {
    return this.settings.groupInstanceId === null ? -1 : STATIC_LEAVE_EPOCH;
  }

  /**
   * UNRELEASED_INSTANCE_ID: the static member's last incarnation did not
   * leave (it crashed); its session expires within the timeout.
   */
  protected override retriedAsIs(code: number): boolean {
    return code === ErrorCode.UNRELEASED_INSTANCE_ID;
  }

  protected override leftMessage(epoch: number): string {
    return epoch === STATIC_LEAVE_EPOCH
      ? `left group ${this.settings.groupId} for now (static member ${this.settings.groupInstanceId})`
      : `left group ${this.settings.groupId}`;
  }

  /** One ConsumerGroupHeartbeat, with the whole state when joining or after an error. */
  protected async heartbeat(
    epoch: number,
    full: boolean,
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const s = this.settings;
    const request: ConsumerGroupHeartbeatRequest = {
      groupId: s.groupId,
      memberId: this.memberId,
      memberEpoch: epoch,
      // Always: the coordinator needs it to let a static member leave.
      instanceId: s.groupInstanceId,
      rackId: full ? s.rack : null,
      rebalanceTimeoutMs: full ? s.rebalanceTimeout : -1,
      subscribedTopicNames: full && s.topics !== null ? [...s.topics] : null,
      subscribedTopicRegex: full ? s.pattern : null,
      serverAssignor: full ? s.remoteAssignor : null,
      topicPartitions: this.ownedById(),
    };
    const conn = await s.cluster.coordinator(
      s.groupId,
      GROUP_LANE,
      this.lookup(),
    );
    if (s.pattern !== null && conn.pickVersion(ConsumerGroupHeartbeat) < 1) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, {
        apiName: "ConsumerGroupHeartbeat",
        detail:
          `the broker at ${conn.address} takes no regular-expression subscription (ConsumerGroupHeartbeat v1, Kafka 4.0 on)`,
      });
    }
    return await conn.request(ConsumerGroupHeartbeat, request, {
      timeout: s.requestTimeout,
      signal: epoch < 0 ? undefined : this.closing.signal,
    });
  }

  /** The owned partitions by topic id, as heartbeats report them. */
  private ownedById(): { topicId: string; partitions: number[] }[] {
    const out: { topicId: string; partitions: number[] }[] = [];
    for (const [topic, partitions] of this.owned) {
      const topicId = this.topicIds.get(topic) ??
        this.settings.cluster.cachedTopic(topic)?.topicId;
      if (topicId !== undefined) out.push({ topicId, partitions });
    }
    return out;
  }

  /** The clear error of a broker without KIP-848 (3.x, or the protocol disabled). */
  protected protocolMissing(cause: unknown): Error {
    return new UnsupportedVersionError(
      `groupProtocol "consumer" needs the consumer group protocol (KIP-848): Kafka 4.0 or later with "consumer" in group.coordinator.rebalance.protocols; ${
        messageOf(cause)
      }. Use groupProtocol: "classic" with this broker`,
    );
  }
}
