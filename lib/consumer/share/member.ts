/**
 * One member of a share group (KIP-932, Kafka 4.1 on): it heartbeats
 * (ShareGroupHeartbeat) its subscription, and the coordinator answers with
 * the partitions it may fetch from. Several members may be given the same
 * partition: the partition's leader hands each record to one of them at a
 * time, so a member owns nothing and has nothing to hand over. A new
 * assignment applies at once; nothing is reported back.
 *
 * @module
 */

import { UnsupportedVersionError } from "../../connection/errors.ts";
import { messageOf } from "../../connection/errors.ts";
import {
  ShareGroupHeartbeat,
  type ShareGroupHeartbeatResponse,
} from "../../protocol/messages/share_group_heartbeat.ts";
import {
  HeartbeatMember,
  type HeartbeatSettings,
} from "../group/heartbeat_member.ts";
import { GROUP_LANE } from "../group/membership.ts";

/** The share-group member's settings. */
export interface ShareMemberSettings extends HeartbeatSettings {
  /** The topics subscribed to. */
  topics: readonly string[];
  /** The member's rack, or null. */
  rack: string | null;
}

/** One member of a share group. */
export class ShareMember extends HeartbeatMember<ShareMemberSettings> {
  protected readonly apiName = "ShareGroupHeartbeat";
  protected readonly kind = "share group";

  /** One ShareGroupHeartbeat, with the subscription when joining or after an error. */
  protected async heartbeat(
    epoch: number,
    full: boolean,
  ): Promise<ShareGroupHeartbeatResponse> {
    const s = this.settings;
    const conn = await s.cluster.coordinator(
      s.groupId,
      GROUP_LANE,
      this.lookup(),
    );
    return await conn.request(ShareGroupHeartbeat, {
      groupId: s.groupId,
      memberId: this.memberId,
      memberEpoch: epoch,
      rackId: full ? s.rack : null,
      subscribedTopicNames: full ? [...s.topics] : null,
    }, {
      timeout: s.requestTimeout,
      signal: epoch < 0 ? undefined : this.closing.signal,
    });
  }

  /** The clear error of a broker without share groups. */
  protected protocolMissing(cause: unknown): Error {
    return new UnsupportedVersionError(
      `a ShareReader needs share groups (KIP-932): Kafka 4.1 or later with the share.version feature enabled (kafka-features.sh upgrade --feature share.version=1); ${
        messageOf(cause)
      }`,
    );
  }
}
