/**
 * The broker side of the generated APIs, for tests only: this folder is not
 * published (deno.json's publish.exclude). The client needs only
 * `encodeRequest` and `decodeResponse`; golden tests, round-trip tests and
 * fake brokers also decode requests and encode responses.
 *
 * @module
 */

import type { Api, Encodable } from "../api.ts";
import type { ByteReader, ByteWriter } from "../bytes.ts";

/** An `Api` with the broker side's codecs too. */
export interface FullApi<Req, Res> extends Api<Req, Res> {
  /** Decodes a request body, as a broker does. */
  decodeRequest(r: ByteReader, version: number): Req;
  /** Encodes a response body, as a broker does. */
  encodeResponse(w: ByteWriter, version: number, data: Encodable<Res>): void;
}
