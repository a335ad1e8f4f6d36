/**
 * Kerberos refusals: the error a KDC's or a broker's KRB-ERROR becomes,
 * with the RFC 4120 name of its code and what it means.
 *
 * @module
 */

import { SUPPORTED_NAMES } from "./crypto.ts";

/**
 * The KDC (or a broker) refused: the RFC 4120 error code (0 when the
 * problem is local, such as a ticket cache without a ticket-granting
 * ticket), and a message naming the principal and what to check. Reaches the caller as the
 * `cause` of a SASL_AUTHENTICATION_FAILED KafkaError.
 *
 * @example
 * ```ts
 * import { KerberosError } from "jsr:@streamkafka/client";
 *
 * const error = new KerberosError(24, "wrong password or keytab key");
 * console.log(error.name, error.code, error.retriable); // KerberosError 24 false
 * ```
 */
export class KerberosError extends Error {
  /** The Kerberos error code, e.g. 24 (KDC_ERR_PREAUTH_FAILED). */
  readonly code: number;
  /** Always false: the same request would be refused again. */
  readonly retriable = false;

  /** An error with `message` for Kerberos error `code`. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KerberosError";
    this.code = code;
  }
}

/** The Kerberos error codes this client explains. */
const ERRORS: Record<number, [string, string]> = {
  6: ["KDC_ERR_C_PRINCIPAL_UNKNOWN", "the KDC does not know the client"],
  7: ["KDC_ERR_S_PRINCIPAL_UNKNOWN", "the KDC does not know the service"],
  14: [
    "KDC_ERR_ETYPE_NOSUPP",
    `no encryption type in common (this client speaks ${SUPPORTED_NAMES})`,
  ],
  18: ["KDC_ERR_CLIENT_REVOKED", "the client's account is locked or disabled"],
  23: ["KDC_ERR_KEY_EXPIRED", "the client's password has expired"],
  24: ["KDC_ERR_PREAUTH_FAILED", "wrong password or keytab key"],
  31: ["KRB_AP_ERR_BAD_INTEGRITY", "wrong password or keytab key"],
  32: ["KRB_AP_ERR_TKT_EXPIRED", "the ticket has expired"],
  37: [
    "KRB_AP_ERR_SKEW",
    "this machine's clock and the KDC's differ by more than the KDC allows (5 minutes by default)",
  ],
  41: ["KRB_AP_ERR_MODIFIED", "the service could not decrypt the ticket"],
  60: ["KRB_ERR_GENERIC", "the KDC refused the request"],
  68: ["KDC_ERR_WRONG_REALM", "the KDC does not serve this realm"],
};

/** "KDC_ERR_PREAUTH_FAILED (24)" and its explanation. */
export function krbErrorText(code: number): [string, string] {
  const known = ERRORS[code];
  return known
    ? [`${known[0]} (${code})`, known[1]]
    : [`Kerberos error ${code}`, "refused"];
}
