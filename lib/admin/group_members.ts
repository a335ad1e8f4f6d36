/**
 * Taking members out of a classic consumer group from outside (LeaveGroup
 * on their behalf, KIP-345): a static member whose process is gone for
 * good, which the group would otherwise wait for until its session timed
 * out, or every member at once. Java's `removeMembersFromConsumerGroup`.
 *
 * @module
 */

import { requireVersion } from "../requests/versions.ts";
import { type CallOptions, itemError, type Router } from "../cluster/route.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { LeaveGroup } from "../protocol/messages/leave_group.ts";
import { badArgument, checkList, isObject } from "../requests/arguments.ts";
import { describeGroups } from "./groups.ts";
import { checkGroupId } from "./offsets.ts";

/**
 * A member to remove: a static member by its `groupInstanceId`, or a
 * dynamic one by its `memberId`.
 *
 * @example
 * ```ts
 * import type { MemberToRemove } from "./group_members.ts";
 *
 * const gone: MemberToRemove = { groupInstanceId: "worker-3" };
 * console.log(gone.groupInstanceId);
 * ```
 */
export interface MemberToRemove {
  /** A static member's instance id (`groupInstanceId` of its Reader). */
  groupInstanceId?: string | undefined;
  /** A dynamic member's id, as `describeGroups` lists it. */
  memberId?: string | undefined;
}

/**
 * The outcome for one member.
 *
 * @example
 * ```ts
 * import type { RemovedMember } from "./group_members.ts";
 *
 * const r: RemovedMember = { memberId: "", groupInstanceId: "worker-3", error: null };
 * console.log(r.error === null);
 * ```
 */
export interface RemovedMember {
  /** The member id ("" for a static member named by its instance id). */
  memberId: string;
  /** The static member's instance id, or null. */
  groupInstanceId: string | null;
  /** Why it was not removed (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID...), or null. */
  error: KafkaError | null;
}

const METHOD = "removeMembersFromConsumerGroup";

/**
 * Removes members from a classic group (or, with "all", every member it
 * has now); the group rebalances without them at once. Throws the group's
 * own error (e.g. GROUP_ID_NOT_FOUND).
 */
export async function removeMembersFromConsumerGroup(
  router: Router,
  groupId: string,
  members: readonly MemberToRemove[] | "all",
  options: CallOptions & { reason?: string } = {},
): Promise<RemovedMember[]> {
  checkGroupId(METHOD, groupId);
  if (members !== "all") {
    checkList(
      METHOD,
      "members",
      members,
      `"all" or an array of { groupInstanceId } or { memberId }`,
    );
    members.forEach((m, i) => {
      const at = `members[${i}]`;
      if (!isObject(m)) throw badArgument(METHOD, at, m, "an object");
      const id = m.groupInstanceId ?? m.memberId;
      if (
        typeof id !== "string" || id === "" ||
        (m.groupInstanceId !== undefined && m.memberId !== undefined)
      ) {
        throw badArgument(
          METHOD,
          at,
          m,
          "{ groupInstanceId } or { memberId }: one non-empty id",
        );
      }
    });
  }
  if (options.reason !== undefined && typeof options.reason !== "string") {
    throw badArgument(METHOD, "reason", options.reason, "a string");
  }
  const call = router.call(options);
  let leaving: { memberId: string; groupInstanceId: string | null }[];
  if (members === "all") {
    const [group] = await describeGroups(router, [groupId], {
      signal: options.signal,
      timeout: router.left(call),
    });
    if (group.error) throw group.error;
    // Kafka before 4.0 answers "Dead" with no error for a group it does
    // not know; 4.0 and later GROUP_ID_NOT_FOUND.
    if (group.state === "Dead") {
      throw new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, {
        apiName: "DescribeGroups",
        detail: `group ${JSON.stringify(groupId)} does not exist`,
      });
    }
    leaving = group.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
    }));
  } else {
    leaving = members.map((m) => ({
      memberId: m.memberId ?? "",
      groupInstanceId: m.groupInstanceId ?? null,
    }));
  }
  if (leaving.length === 0) return [];
  const reason = options.reason ?? "removed by an admin client";
  const r = await router.coordinator(
    "group",
    groupId,
    LeaveGroup,
    (conn) => {
      // Before v3 a LeaveGroup names only the sender: it removes no one
      // else (the broker answers UNKNOWN_MEMBER_ID).
      requireVersion(
        conn,
        LeaveGroup,
        3,
        "removeMembersFromConsumerGroup",
        "Kafka 2.4 or later, KIP-345",
      );
      return {
        groupId,
        memberId: "",
        members: leaving.map((m) => ({ ...m, reason })),
      };
    },
    call,
    (response) => [response.errorCode],
  );
  const error = itemError(r.errorCode, null, { apiName: "LeaveGroup" });
  if (error) throw error;
  return leaving.map((m) => {
    const found = r.members.find((x) =>
      m.groupInstanceId !== null
        ? x.groupInstanceId === m.groupInstanceId
        : x.memberId === m.memberId
    );
    return {
      memberId: found?.memberId ?? m.memberId,
      groupInstanceId: m.groupInstanceId,
      error: itemError(
        found?.errorCode ?? -1,
        found ? null : "the coordinator's answer left it out",
        { apiName: "LeaveGroup" },
      ),
    };
  });
}
