/**
 * The KDCs of a realm as `krb5.conf` lists them, for clients not told
 * where their KDC is: the file `KRB5_CONFIG` names (the first of a
 * colon-separated list that exists), else /etc/krb5.conf. Only the
 * `[realms]` section's `kdc` lines are read; DNS SRV lookup is not done.
 *
 * @module
 */

/** The `kdc` entries of `realm` in the text of a krb5.conf. */
export function parseRealmKdcs(conf: string, realm: string): string[] {
  const kdcs: string[] = [];
  let section = "";
  let inRealm = false;
  let depth = 0;
  for (const raw of conf.split(/\r?\n/)) {
    // Comments are whole lines (a # or ; inside a value is part of it).
    const line = /^\s*[#;]/.test(raw) ? "" : raw.trim();
    if (line === "") continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1].trim();
      inRealm = false;
      depth = 0;
      continue;
    }
    if (section !== "realms") continue;
    const open = /^([^=\s]+)\s*=\s*\{$/.exec(line);
    if (open) {
      depth++;
      if (depth === 1) inRealm = open[1] === realm;
      continue;
    }
    if (line === "}") {
      depth = Math.max(0, depth - 1);
      if (depth === 0) inRealm = false;
      continue;
    }
    const entry = /^([^=\s]+)\s*=\s*(.+)$/.exec(line);
    if (inRealm && depth === 1 && entry && entry[1] === "kdc") {
      kdcs.push(entry[2].trim());
    }
  }
  return kdcs;
}

/** The KDCs of `realm` in this machine's krb5.conf; throws a TypeError if there are none. */
export async function kdcsOfRealm(realm: string): Promise<string[]> {
  const { readFile } = await import("node:fs/promises");
  const process = await import("node:process");
  const files = (process.env.KRB5_CONFIG ?? "/etc/krb5.conf").split(":")
    .filter((f) => f !== "");
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    const kdcs = parseRealmKdcs(text, realm);
    if (kdcs.length > 0) return kdcs;
  }
  throw new TypeError(
    `Cannot use GSSAPI: no "kdc" option, and no KDC of realm ${realm} in ${
      files.join(" or ")
    } (its [realms] section): give "kdc" (e.g. "kdc.example.com:88")`,
  );
}
