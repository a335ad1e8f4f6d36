/**
 * Turns parsed message specs into TypeScript modules, in the exact layout
 * `deno fmt` produces (so generation needs no formatter and the staleness
 * test can compare in memory under any runtime). Each API a client sends
 * gets two: `messages/<api>.ts`, published, with the types, the client's
 * `Api` object and the request encoder and response decoder; and
 * `testing/<api>.ts`, for tests only, with the broker side (request decoder,
 * response encoder). Each data spec gets `messages/<data>.ts` with both.
 *
 * The generated code is straight-line: each struct gets an encoder and a
 * decoder that test `version` inline, with every check that is constant over
 * the versions the struct can occur in folded away.
 *
 * @module
 */

import {
  type ApiSpec,
  contains,
  covers,
  defaultsToNull,
  fieldFlexible,
  type FieldSpec,
  formatVersions,
  inlineVersions,
  intersect,
  isClientApi,
  isEmpty,
  type MessageSpec,
  parseIntDefault,
  type PrimitiveName,
  snakeCase,
  structOf,
  type StructSpec,
  type TypeSpec,
  type Versions,
} from "./spec.ts";

const WIDTH = 80;

/** Longer interface names get a short alias in function signatures. */
const MAX_TYPE = 45;

/**
 * An expression the emitter can lay out the way `deno fmt` does: a call
 * breaks into one argument per line, `a ?? b` breaks after the operator, and
 * `c ? a : b` puts each branch on its own line.
 */
type Expr =
  | string
  | { readonly call: string; readonly args: readonly Expr[] }
  | { readonly left: Expr; readonly op: "??"; readonly right: Expr }
  | { readonly test: Expr; readonly then: Expr; readonly else: Expr };

function call(fn: string, ...args: Expr[]): Expr {
  return { call: fn, args };
}

function flat(e: Expr): string {
  if (typeof e === "string") return e;
  if ("call" in e) return `${e.call}(${e.args.map(flat).join(", ")})`;
  if ("op" in e) return `${flat(e.left)} ${e.op} ${flat(e.right)}`;
  return `${flat(e.test)} ? ${flat(e.then)} : ${flat(e.else)}`;
}

/** Lines with indentation; breaks calls that do not fit like `deno fmt`. */
class Out {
  lines: string[] = [];
  depth = 0;

  line(s = ""): void {
    this.lines.push(s === "" ? "" : "  ".repeat(this.depth) + s);
  }

  open(s: string): void {
    this.line(s);
    this.depth++;
  }

  close(s: string): void {
    this.depth--;
    this.line(s);
  }

  fits(s: string, extra = 0): boolean {
    return 2 * (this.depth + extra) + s.length <= WIDTH;
  }

  /** A JSDoc block holding `text`, wrapped at the line width. */
  doc(text: string): void {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(/\s+/).filter((w) => w !== "")) {
      if (line !== "" && !this.fits(` * ${line} ${word}`)) {
        lines.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    if (line !== "") lines.push(line);
    this.line("/**");
    for (const l of lines) this.line(` * ${l}`);
    this.line(" */");
  }

  /** `prefix` + the expression + `suffix`, broken as `deno fmt` would. */
  expr(prefix: string, e: Expr, suffix: string): void {
    const one = prefix + flat(e) + suffix;
    if (typeof e === "string" || this.fits(one)) {
      this.line(one);
      return;
    }
    if ("call" in e) {
      this.line(`${prefix}${e.call}(`);
      this.depth++;
      for (const a of e.args) this.expr("", a, ",");
      this.depth--;
      this.line(`)${suffix}`);
    } else if ("op" in e) {
      this.expr(prefix, e.left, ` ${e.op}`);
      this.depth++;
      this.expr("", e.right, suffix);
      this.depth--;
    } else {
      this.expr(prefix, e.test, "");
      this.depth++;
      this.expr("? ", e.then, "");
      this.expr(": ", e.else, suffix);
      this.depth--;
    }
  }

  /** `head(args)tail`, one argument per line when it does not fit. */
  call(head: string, args: Expr[], tail: string): void {
    this.expr("", { call: head, args }, tail);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

/** `name` if the code uses it as a variable, else `_name` (lint). */
function param(name: string, code: string): string {
  return new RegExp(`(?<![.\\w"])${name}\\b`).test(code) ? name : `_${name}`;
}

/** `version` tests true exactly on `range`, given the version is in `ctx`. */
function cond(range: Versions, ctx: Versions): string | null {
  const r = intersect(range, ctx);
  if (isEmpty(r)) return "false";
  const parts: string[] = [];
  if (r.lo > ctx.lo) parts.push(`version >= ${r.lo}`);
  if (r.hi < ctx.hi) parts.push(`version <= ${r.hi}`);
  return parts.length === 0 ? null : parts.join(" && ");
}

/** A boolean expression for "version in range" within ctx. */
function boolExpr(range: Versions, ctx: Versions): string {
  return cond(range, ctx) ?? "true";
}

function docText(about: string): string {
  return about.replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim();
}

function tsBase(t: TypeSpec): string {
  switch (t.kind) {
    case "array":
      return `${tsBase(t.element)}[]`;
    case "struct":
      return t.struct.tsName;
    case "primitive":
      switch (t.name) {
        case "bool":
          return "boolean";
        case "string":
        case "uuid":
          return "string";
        case "bytes":
        case "records":
          return "Uint8Array";
        default:
          return "number";
      }
  }
}

/** True when the decoded field's type includes null. */
function typeNullable(f: FieldSpec): boolean {
  if (f.type.kind === "primitive" && f.type.name === "records") return true;
  return !isEmpty(f.nullableVersions) || defaultsToNull(f);
}

function tsType(f: FieldSpec): string {
  return tsBase(f.type) + (typeNullable(f) ? " | null" : "");
}

const FIXED_SIZE: Partial<Record<PrimitiveName, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

const ARRAY_HELPER: Record<PrimitiveName, string> = {
  bool: "Bools",
  int8: "Int8s",
  int16: "Int16s",
  uint16: "Uint16s",
  int32: "Int32s",
  uint32: "Uint32s",
  int64: "Int64s",
  float64: "Float64s",
  uuid: "Uuids",
  string: "Strings",
  bytes: "BytesArray",
  records: "BytesArray",
};

/** Helpers that take the field name (their elements can be null). */
const NAMED_ARRAY = new Set<PrimitiveName>(["uuid", "string", "bytes"]);

/** Which codecs of a message a module holds. */
interface Sides {
  readonly enc: boolean;
  readonly dec: boolean;
}

/** Generates one module: a client API, its test-only side, or a data spec. */
class Emitter {
  readonly apiImports = new Set<string>();
  readonly byteImports = new Set<string>();
  /** Struct helpers needed, by kind. */
  readonly need = {
    enc: new Set<StructSpec>(),
    dec: new Set<StructSpec>(),
    encArray: new Set<StructSpec>(),
    decArray: new Set<StructSpec>(),
    decArrayOrNull: new Set<StructSpec>(),
    encField: new Set<StructSpec>(),
    has: new Set<StructSpec>(),
    def: new Set<StructSpec>(),
  };
  message!: MessageSpec;

  /**
   * The base of a struct's function names: "Request", "ResTopicData";
   * "Data", "DataTopicPartition" in a data spec.
   */
  fn(s: StructSpec, m: MessageSpec = this.message): string {
    if (m.type === "data") return s === m.root ? "Data" : "Data" + s.name;
    const side = m.type === "request" ? "Request" : "Response";
    if (s === m.root) return side;
    return (m.type === "request" ? "Req" : "Res") + s.name;
  }

  /** A struct's type name in function code (an alias when very long). */
  ty(s: StructSpec): string {
    if (s.tsName.length <= MAX_TYPE) return s.tsName;
    return this.fn(s);
  }

  helper(name: string): string {
    this.apiImports.add(name);
    return name;
  }

  /** The default as a TS expression (decoded form). */
  defaultExpr(f: FieldSpec): string {
    if (defaultsToNull(f)) return "null";
    const t = f.type;
    if (t.kind === "array") return "[]";
    if (t.kind === "struct") {
      this.need.def.add(t.struct);
      return `def${this.fn(t.struct)}()`;
    }
    const d = f.default;
    switch (t.name) {
      case "bool":
        return d === "true" ? "true" : "false";
      case "float64":
        return d === undefined ? "0" : String(Number(d));
      case "string":
        return JSON.stringify(d ?? "");
      case "uuid":
        this.byteImports.add("ZERO_UUID");
        return "ZERO_UUID";
      case "bytes":
      case "records":
        return this.helper("EMPTY_BYTES");
      default:
        return d === undefined ? "0" : String(parseIntDefault(d));
    }
  }

  /** The default an encoder substitutes for a missing (undefined) value. */
  encodeDefault(f: FieldSpec): string {
    if (!defaultsToNull(f)) {
      // Shared constants: an encoder never allocates for a missing field.
      if (f.type.kind === "struct") return this.helper("EMPTY_OBJECT");
      if (f.type.kind === "array") return this.helper("EMPTY_ARRAY");
    }
    return this.defaultExpr(f);
  }

  /** Flexible-ness of a field over `range`: "true", "false" or an expr. */
  compact(f: FieldSpec, range: Versions, ctx: Versions, uses: Set<string>) {
    const flex = fieldFlexible(f, this.message);
    const r = intersect(flex, range);
    if (isEmpty(r)) return "false";
    if (covers(flex, range)) return "true";
    if (f.flexibleVersions === undefined) {
      uses.add("flex");
      return "flex";
    }
    return boolExpr(flex, ctx);
  }

  /** The value to encode: resolves undefined and rejects a bad null. */
  value(f: FieldSpec, range: Versions, expr: string): Expr {
    const t = f.type;
    const def = this.encodeDefault(f);
    if (t.kind === "primitive" && FIXED_SIZE[t.name] && t.name !== "uuid") {
      return { left: expr, op: "??", right: def };
    }
    const structs = t.kind === "struct" ||
      (t.kind === "array" && t.element.kind === "struct");
    // Struct helpers check nullability themselves (they also build paths).
    if (structs) {
      return def === "null" ? { left: expr, op: "??", right: "null" } : call(
        this.helper("opt"),
        expr,
        def,
      );
    }
    const nullable = intersect(f.nullableVersions, range);
    if (covers(f.nullableVersions, range) && !isEmpty(nullable)) {
      if (def === "null") return { left: expr, op: "??", right: "null" };
      return call(this.helper("opt"), expr, def);
    }
    if (isEmpty(nullable)) {
      return call(this.helper("req"), expr, def, `"${f.prop}"`);
    }
    const c = boolExpr(f.nullableVersions, range);
    return call(this.helper("val"), expr, def, c, `"${f.prop}"`);
  }

  /** Writes one field's value (inline or as a tagged value). */
  writeField(
    o: Out,
    f: FieldSpec,
    range: Versions,
    ctx: Versions,
    uses: Set<string>,
  ): void {
    const t = f.type;
    const expr = `d.${f.prop}`;
    const compact = this.compact(f, range, ctx, uses);
    if (t.kind === "primitive") {
      const v = this.value(f, range, expr);
      switch (t.name) {
        case "string":
        case "bytes":
        case "records": {
          const str = t.name === "string";
          if (compact === "true") {
            o.call(str ? "w.compactString" : "w.compactBytes", [v], ";");
          } else if (compact === "false") {
            o.call(str ? "w.string" : "w.bytes", [v], ";");
          } else {
            const fn = this.helper(str ? "writeString" : "writeBytes");
            o.call(fn, ["w", v, compact], ";");
          }
          return;
        }
        default:
          o.call(`w.${t.name}`, [v], ";");
          return;
      }
    }
    if (t.kind === "array" && t.element.kind === "primitive") {
      const el = t.element.name;
      const fn = this.helper(`write${ARRAY_HELPER[el]}`);
      const args: Expr[] = ["w", this.value(f, range, expr), compact];
      if (NAMED_ARRAY.has(el)) args.push(`"${f.prop}"`);
      o.call(fn, args, ";");
      return;
    }
    const struct = structOf(t)!;
    const nullable = boolExpr(f.nullableVersions, range);
    const v = this.value(f, range, expr);
    const fn = t.kind === "struct"
      ? `enc${this.fn(struct)}Field`
      : `enc${this.fn(struct)}Array`;
    (t.kind === "struct" ? this.need.encField : this.need.encArray).add(struct);
    o.call(fn, ["w", "version", v, nullable, `"${f.prop}"`], ";");
  }

  /** A read expression for one field over `range`. */
  readExpr(
    f: FieldSpec,
    range: Versions,
    ctx: Versions,
    uses: Set<string>,
  ): Expr {
    const t = f.type;
    const compact = this.compact(f, range, ctx, uses);
    const orDefault = (e: Expr, def: () => string): Expr =>
      typeNullable(f) ? e : { left: e, op: "??", right: def() };
    if (t.kind === "primitive") {
      switch (t.name) {
        case "string":
        case "bytes":
        case "records": {
          const str = t.name === "string";
          const def = () => str ? '""' : this.helper("EMPTY_BYTES");
          let e: Expr;
          if (compact === "true") {
            e = str ? "r.compactString()" : "r.compactBytes()";
          } else if (compact === "false") {
            e = str ? "r.string()" : "r.bytes()";
          } else {
            e = call(
              this.helper(str ? "readString" : "readBytes"),
              "r",
              compact,
            );
          }
          return orDefault(e, def);
        }
        default:
          return `r.${t.name}()`;
      }
    }
    if (t.kind === "array" && t.element.kind === "primitive") {
      const fn = this.helper(`read${ARRAY_HELPER[t.element.name]}`);
      return orDefault(call(fn, "r", compact), () => "[]");
    }
    if (t.kind === "array") {
      const s = structOf(t)!;
      if (typeNullable(f)) {
        this.need.decArrayOrNull.add(s);
        return call(`dec${this.fn(s)}ArrayOrNull`, "r", "version");
      }
      this.need.decArray.add(s);
      return call(`dec${this.fn(s)}Array`, "r", "version");
    }
    const s = t.struct;
    this.need.dec.add(s);
    const nullable = cond(f.nullableVersions, range);
    const dec = call(`dec${this.fn(s)}`, "r", "version");
    if (nullable === "false") return dec;
    const marker = nullable === null
      ? "r.int8() < 0"
      : `${nullable} && r.int8() < 0`;
    return { test: marker, then: "null", else: dec };
  }

  /** Does `expr` (raw, maybe undefined) differ from the field's default? */
  differs(f: FieldSpec, expr: string): Expr {
    const t = f.type;
    if (defaultsToNull(f)) return call(this.helper("isSet"), expr, "null");
    if (t.kind === "struct") {
      this.need.has.add(t.struct);
      return call(`has${this.fn(t.struct)}`, expr, "version");
    }
    if (
      t.kind === "array" ||
      (t.kind === "primitive" && (t.name === "bytes" || t.name === "records"))
    ) {
      return call(this.helper("nonEmpty"), expr);
    }
    return call(this.helper("isSet"), expr, this.defaultExpr(f));
  }

  /** Tagged fields of `s` with the versions they are tagged in. */
  taggedFields(s: StructSpec): Array<[FieldSpec, Versions]> {
    const flex = intersect(this.message.flexibleVersions, s.versions);
    const out: Array<[FieldSpec, Versions]> = [];
    for (const f of s.fields) {
      if (f.tag === undefined) continue;
      const r = intersect(f.taggedVersions, flex);
      if (!isEmpty(r)) out.push([f, r]);
    }
    out.sort((a, b) => a[0].tag! - b[0].tag!);
    for (let i = 1; i < out.length; i++) {
      if (out[i][0].tag === out[i - 1][0].tag) {
        throw new Error(`${s.tsName}: duplicate tag ${out[i][0].tag}`);
      }
    }
    return out;
  }

  /** `throw absentField("prop", "12+");` for a field set where absent. */
  absentThrow(f: FieldSpec): string {
    const fn = this.helper("absentField");
    return `throw ${fn}("${f.prop}", "${formatVersions(f.versions)}");`;
  }

  /** `if (<not in f.versions> && <set>) { throw ... }`, within `ctx`. */
  emitAbsentCheck(o: Out, f: FieldSpec, ctx: Versions): void {
    const diff = this.differs(f, `d.${f.prop}`);
    const parts: string[] = [];
    const v = f.versions;
    if (!isEmpty(intersect(v, ctx))) {
      if (v.lo > ctx.lo) parts.push(`version < ${v.lo}`);
      if (v.hi < ctx.hi) parts.push(`version > ${v.hi}`);
    }
    const test = parts.length === 0
      ? ""
      : parts.length === 1
      ? `${parts[0]} && `
      : `(${parts.join(" || ")}) && `;
    this.openCond(o, `if (${test}`, diff);
    o.line(this.absentThrow(f));
    o.close("}");
  }

  /** `head` + expr + `) {`, broken inside the parentheses as `deno fmt` does. */
  openCond(o: Out, head: string, e: Expr): void {
    const one = `${head}${flat(e)}) {`;
    if (o.fits(one)) {
      o.open(one);
      return;
    }
    // deno fmt puts a long condition on lines of its own.
    const at = head.lastIndexOf("(") + 1;
    o.line(head.slice(0, at));
    o.depth++;
    o.expr(head.slice(at), e, "");
    o.depth--;
    o.open(") {");
  }

  /** Opens `if (c) {` unless c is null (always); returns whether it did. */
  openIf(o: Out, c: string | null): boolean {
    if (c === null) return false;
    o.open(`if (${c}) {`);
    return true;
  }

  /** `const flex = ...;` when used, and the parameter names in use. */
  prologue(uses: Set<string>): string[] {
    if (!uses.has("flex")) return [];
    return [`  const flex = version >= ${this.message.flexibleVersions.lo};`];
  }

  emitEncode(o: Out, s: StructSpec): void {
    const ctx = s.versions;
    const body = new Out();
    body.depth = 1;
    const uses = new Set<string>();
    for (const f of s.fields) {
      const r = intersect(inlineVersions(f), ctx);
      // Where the struct is written but the field is not, a set value would
      // be lost: refuse it, as Kafka's generated Java code does, unless the
      // spec marks the field ignorable.
      const check = !f.ignorable && !covers(f.versions, ctx);
      if (isEmpty(r)) {
        if (check) this.emitAbsentCheck(body, f, ctx);
        continue;
      }
      const opened = this.openIf(body, cond(r, ctx));
      this.writeField(body, f, r, ctx, uses);
      if (!opened) continue;
      if (check && f.tag === undefined) {
        // Written exactly where present: the else branch is where it is not.
        body.depth--;
        this.openCond(body, "} else if (", this.differs(f, `d.${f.prop}`));
        body.line(this.absentThrow(f));
        body.close("}");
      } else {
        body.close("}");
        if (check) this.emitAbsentCheck(body, f, ctx);
      }
    }
    const flex = intersect(this.message.flexibleVersions, ctx);
    if (!isEmpty(flex)) {
      const c = cond(flex, ctx);
      if (c !== null) uses.add("flex");
      const opened = this.openIf(body, c === null ? null : "flex");
      const tagged = this.taggedFields(s);
      if (tagged.length === 0) {
        body.line("w.uvarint(0);");
      } else {
        for (const [f, r] of tagged) {
          const vc = cond(r, flex);
          const diff = this.differs(f, `d.${f.prop}`);
          const head = `const t${f.tag} = `;
          if (vc === null) {
            body.expr(head, diff, ";");
          } else if (body.fits(`${head}${vc} && ${flat(diff)};`)) {
            body.line(`${head}${vc} && ${flat(diff)};`);
          } else {
            body.line(`${head}${vc} &&`);
            body.depth++;
            body.expr("", diff, ";");
            body.depth--;
          }
        }
        if (tagged.length === 1) {
          body.line(`w.uvarint(t${tagged[0][0].tag} ? 1 : 0);`);
        } else {
          body.line("let n = 0;");
          for (const [f] of tagged) body.line(`if (t${f.tag}) n++;`);
          body.line("w.uvarint(n);");
        }
        for (const [f, r] of tagged) {
          body.open(`if (t${f.tag}) {`);
          body.line(`w.uvarint(${f.tag});`);
          const fixed = f.type.kind === "primitive"
            ? FIXED_SIZE[f.type.name]
            : undefined;
          if (fixed !== undefined) {
            body.line(`w.uvarint(${fixed});`);
            this.writeField(body, f, r, ctx, uses);
          } else {
            body.line(`const at = ${this.helper("beginTagged")}(w);`);
            this.writeField(body, f, r, ctx, uses);
            body.line(`${this.helper("endTagged")}(w, at);`);
          }
          body.close("}");
        }
      }
      if (opened) body.close("}");
    }
    const prologue = this.prologue(uses);
    const all = [...prologue, ...body.lines].join("\n");
    this.signature(o, `function enc${this.fn(s)}`, [
      `${param("w", all)}: ByteWriter`,
      `${param("version", all)}: number`,
      `${param("d", all)}: Encodable<${this.ty(s)}>`,
    ], ": void {");
    o.lines.push(...prologue, ...body.lines);
    o.line("}");
  }

  signature(o: Out, head: string, params: string[], tail: string): void {
    const one = `${head}(${params.join(", ")})${tail}`;
    if (o.fits(one)) {
      o.line(one);
      return;
    }
    o.line(`${head}(`);
    for (const p of params) o.line(`  ${p},`);
    o.line(`)${tail}`);
  }

  emitDecode(o: Out, s: StructSpec): void {
    const ctx = s.versions;
    const body = new Out();
    body.depth = 1;
    const uses = new Set<string>();
    const flex = intersect(this.message.flexibleVersions, ctx);
    const hasSection = !isEmpty(flex);
    const tagged = hasSection ? this.taggedFields(s) : [];
    const lit = new Out();
    lit.depth = 2;
    for (const f of s.fields) {
      const r = intersect(inlineVersions(f), ctx);
      if (isEmpty(r)) {
        lit.line(`${f.prop}: ${this.defaultExpr(f)},`);
        continue;
      }
      const c = cond(r, ctx);
      const read = this.readExpr(f, r, ctx, uses);
      const e: Expr = c === null
        ? read
        : { test: c, then: read, else: this.defaultExpr(f) };
      lit.expr(`${f.prop}: `, e, ",");
    }
    const flexCond = hasSection ? cond(flex, ctx) : null;
    if (flexCond !== null) uses.add("flex");
    const literal = (head: string) => {
      if (s.fields.length === 0) {
        body.line(`${head}{};`);
        return;
      }
      body.line(`${head}{`);
      body.lines.push(...lit.lines);
      body.line("};");
    };
    if (!hasSection) {
      literal("return ");
    } else {
      literal(`const o: ${this.ty(s)} = `);
      const opened = this.openIf(body, flexCond === null ? null : "flex");
      if (tagged.length === 0) {
        body.line(`${this.helper("skipTagged")}(r);`);
      } else {
        body.line("const n = r.uvarint();");
        body.open("for (let i = 0; i < n && !r.short; i++) {");
        body.line("const tag = r.uvarint();");
        body.line("const size = r.uvarint();");
        body.open("switch (tag) {");
        for (const [f, r] of tagged) {
          body.open(`case ${f.tag}:`);
          const vc = cond(r, flex);
          const read = this.readExpr(f, r, ctx, uses);
          if (vc === null) {
            this.assign(body, `o.${f.prop}`, read);
          } else {
            body.open(`if (${vc}) {`);
            this.assign(body, `o.${f.prop}`, read);
            body.close("} else {");
            body.depth++;
            body.line("r.skip(size);");
            body.close("}");
          }
          body.line("break;");
          body.depth--;
        }
        body.open("default:");
        body.line("r.skip(size);");
        body.depth--;
        body.close("}");
        body.close("}");
      }
      if (opened) body.close("}");
      body.line("return o;");
    }
    const prologue = this.prologue(uses);
    const all = [...prologue, ...body.lines].join("\n");
    this.signature(o, `function dec${this.fn(s)}`, [
      `${param("r", all)}: ByteReader`,
      `${param("version", all)}: number`,
    ], `: ${this.ty(s)} {`);
    o.lines.push(...prologue, ...body.lines);
    o.line("}");
  }

  /** `lhs = expr;`, broken after `=` when too long (as `deno fmt` does). */
  assign(o: Out, lhs: string, e: Expr): void {
    const one = `${lhs} = ${flat(e)};`;
    if (o.fits(one)) {
      o.line(one);
      return;
    }
    o.line(`${lhs} =`);
    o.depth++;
    o.expr("", e, ";");
    o.depth--;
  }

  emitEncArray(o: Out, s: StructSpec): void {
    this.need.enc.add(s);
    const compact = this.arrayCompact(s);
    this.signature(o, `function enc${this.fn(s)}Array`, [
      "w: ByteWriter",
      "version: number",
      `a: readonly Encodable<${this.ty(s)}>[] | null`,
      "nullable: boolean",
      "field: string",
    ], ": void {");
    o.depth++;
    o.open("if (a === null) {");
    o.line(`if (!nullable) throw new ${this.helper("NullFieldError")}(field);`);
    o.line(`w.arrayLength(null, ${compact});`);
    o.line("return;");
    o.close("}");
    o.line(`w.arrayLength(a.length, ${compact});`);
    o.line("let i = 0;");
    o.open("try {");
    o.open("for (; i < a.length; i++) {");
    o.line(`enc${this.fn(s)}(w, version, a[i]);`);
    o.close("}");
    o.close("} catch (e) {");
    o.depth++;
    o.line(`throw ${this.helper("atPath")}(e, field, i);`);
    o.close("}");
    o.close("}");
  }

  arrayCompact(s: StructSpec): string {
    const flex = this.message.flexibleVersions;
    if (isEmpty(intersect(flex, s.versions))) return "false";
    if (covers(flex, s.versions)) return "true";
    return `version >= ${flex.lo}`;
  }

  emitDecArray(o: Out, s: StructSpec, orNull: boolean): void {
    this.need.dec.add(s);
    const compact = this.arrayCompact(s);
    const t = this.ty(s);
    const name = `dec${this.fn(s)}Array${orNull ? "OrNull" : ""}`;
    this.signature(o, `function ${name}`, [
      "r: ByteReader",
      "version: number",
    ], orNull ? `: ${t}[] | null {` : `: ${t}[] {`);
    o.depth++;
    o.line(`const n = r.arrayLength(${compact});`);
    o.line(`if (n === null) return ${orNull ? "null" : "[]"};`);
    o.line(`const a: ${t}[] = [];`);
    o.open("for (let i = 0; i < n; i++) {");
    o.line(`a.push(dec${this.fn(s)}(r, version));`);
    o.close("}");
    o.line("return a;");
    o.close("}");
  }

  emitEncField(o: Out, s: StructSpec): void {
    this.need.enc.add(s);
    this.signature(o, `function enc${this.fn(s)}Field`, [
      "w: ByteWriter",
      "version: number",
      `v: Encodable<${this.ty(s)}> | null`,
      "nullable: boolean",
      "field: string",
    ], ": void {");
    o.depth++;
    o.open("if (v === null) {");
    o.line(`if (!nullable) throw new ${this.helper("NullFieldError")}(field);`);
    o.line("w.int8(-1);");
    o.line("return;");
    o.close("}");
    o.line("if (nullable) w.int8(1);");
    o.open("try {");
    o.line(`enc${this.fn(s)}(w, version, v);`);
    o.close("} catch (e) {");
    o.depth++;
    o.line(`throw ${this.helper("atPath")}(e, field);`);
    o.close("}");
    o.close("}");
  }

  emitHas(o: Out, s: StructSpec): void {
    const ctx = s.versions;
    const body = new Out();
    body.depth = 1;
    body.line("if (v === undefined) return false;");
    body.line("if (v === null) return true;");
    for (const f of s.fields) {
      const r = intersect(f.versions, ctx);
      if (isEmpty(r)) continue;
      const c = cond(r, ctx);
      const diff = flat(this.differs(f, `v.${f.prop}`));
      const test = c === null ? diff : `${c} && ${diff}`;
      if (body.fits(`if (${test}) return true;`)) {
        body.line(`if (${test}) return true;`);
      } else if (c !== null && body.fits(`if (${diff}) return true;`, 1)) {
        body.open(`if (${c}) {`);
        body.line(`if (${diff}) return true;`);
        body.close("}");
      } else {
        throw new Error(`${s.tsName}.${f.prop}: has() line too long`);
      }
    }
    body.line("return false;");
    const all = body.lines.join("\n");
    this.signature(o, `function has${this.fn(s)}`, [
      `v: Encodable<${this.ty(s)}> | null | undefined`,
      `${param("version", all)}: number`,
    ], ": boolean {");
    o.lines.push(...body.lines);
    o.line("}");
  }

  emitDef(o: Out, s: StructSpec): void {
    o.line(`function def${this.fn(s)}(): ${this.ty(s)} {`);
    o.depth++;
    if (s.fields.length === 0) o.line("return {};");
    else {
      o.open("return {");
      for (const f of s.fields) o.line(`${f.prop}: ${this.defaultExpr(f)},`);
      o.close("};");
    }
    o.close("}");
  }

  /** Emits the functions of one message's sides, in a stable order. */
  emitFunctions(o: Out, m: MessageSpec, sides: Sides): void {
    this.message = m;
    for (const k of Object.values(this.need)) k.clear();
    if (sides.enc) this.need.enc.add(m.root);
    if (sides.dec) this.need.dec.add(m.root);
    const done = new Set<string>();
    // Generate until no new helper is needed; then print in spec order.
    const chunks = new Map<string, string[]>();
    let progress = true;
    while (progress) {
      progress = false;
      for (const s of m.structs) {
        const kinds: Array<[keyof Emitter["need"], (o: Out) => void]> = [
          ["enc", (x) => this.emitEncode(x, s)],
          ["dec", (x) => this.emitDecode(x, s)],
          ["encArray", (x) => this.emitEncArray(x, s)],
          ["decArray", (x) => this.emitDecArray(x, s, false)],
          ["decArrayOrNull", (x) => this.emitDecArray(x, s, true)],
          ["encField", (x) => this.emitEncField(x, s)],
          ["has", (x) => this.emitHas(x, s)],
          ["def", (x) => this.emitDef(x, s)],
        ];
        for (const [kind, fn] of kinds) {
          const id = `${kind}:${s.tsName}`;
          if (!this.need[kind].has(s) || done.has(id)) continue;
          if (isEmpty(s.versions) && kind !== "def") {
            throw new Error(`${m.name}: ${s.name} is never written`);
          }
          done.add(id);
          const x = new Out();
          fn(x);
          chunks.set(id, x.lines);
          progress = true;
        }
      }
    }
    const code = [...chunks.values()].map((c) => c.join("\n")).join("\n");
    for (const s of m.structs) {
      const alias = this.ty(s);
      if (alias === s.tsName) continue;
      if (!new RegExp(`(?<!\\w)${alias}(?!\\w)`).test(code)) continue;
      o.line();
      const one = `type ${alias} = ${s.tsName};`;
      if (o.fits(one)) o.line(one);
      else {
        o.line(`type ${alias} =`);
        o.line(`  ${s.tsName};`);
      }
    }
    for (const s of m.structs) {
      for (const kind of Object.keys(this.need)) {
        const lines = chunks.get(`${kind}:${s.tsName}`);
        if (!lines) continue;
        o.line();
        for (const l of lines) o.lines.push(l);
      }
    }
  }

  emitInterfaces(o: Out, m: MessageSpec): void {
    for (const s of m.structs) {
      o.line();
      if (s === m.root) {
        const v = formatVersions(m.validVersions);
        const flex = formatVersions(m.flexibleVersions);
        const what = m.type === "data"
          ? `${m.name} data`
          : `${m.name.replace(/(Request|Response)$/, "")} ${m.type} body ` +
            `(API key ${m.apiKey})`;
        o.line(`/** ${what}, versions ${v}, flexible ${flex}. */`);
      } else {
        o.line(`/** ${s.name} in ${m.name}. */`);
      }
      if (s.fields.length === 0) {
        o.line(`// deno-lint-ignore no-empty-interface`);
        o.line(`export interface ${s.tsName} {}`);
        continue;
      }
      o.open(`export interface ${s.tsName} {`);
      for (const f of s.fields) {
        const about = docText(f.about);
        const vers = formatVersions(f.versions);
        const tagged = f.tag !== undefined ? `, tag ${f.tag}` : "";
        const note = `(v${vers}${tagged})`;
        o.line(`/** ${about ? about + " " : ""}${note} */`);
        const one = `${f.prop}: ${tsType(f)};`;
        if (o.fits(one)) o.line(one);
        else if (!typeNullable(f)) {
          o.line(`${f.prop}:`);
          o.line(`  ${tsType(f)};`);
        } else {
          o.line(`${f.prop}:`);
          o.line(`  | ${tsBase(f.type)}`);
          o.line(`  | null;`);
        }
      }
      o.close("}");
    }
  }

  /** An encode method's or function's body: version check, then encoder. */
  encodeBody(o: Out, m: MessageSpec, label: string): void {
    const lo = m.validVersions.lo;
    const hi = m.validVersions.hi;
    o.open(`if (version < ${lo} || version > ${hi}) {`);
    o.call(
      `throw ${this.helper("badVersion")}`,
      [`"encode"`, `"${m.name}"`, "version", `${lo}`, `${hi}`],
      ";",
    );
    o.close("}");
    o.open("try {");
    o.line(`enc${this.fn(m.root, m)}(w, version, data);`);
    o.close("} catch (e) {");
    o.depth++;
    o.line(`throw ${this.helper("encodeError")}(e, "${label}", version);`);
    o.close("}");
  }

  /**
   * A decode method's or function's body. `newer`: a version above the
   * spec's newest is read as the newest (data specs) instead of refused.
   */
  decodeBody(o: Out, m: MessageSpec, newer: boolean): void {
    const lo = m.validVersions.lo;
    const hi = m.validVersions.hi;
    o.open(
      newer
        ? `if (version < ${lo}) {`
        : `if (version < ${lo} || version > ${hi}) {`,
    );
    // Data specs carry their version in the data: one below the oldest is
    // a peer's corrupt bytes (a ProtocolError), not a caller's mistake.
    o.call(
      `throw ${this.helper(newer ? "badDataVersion" : "badVersion")}`,
      [`"decode"`, `"${m.name}"`, "version", `${lo}`, `${hi}`],
      ";",
    );
    o.close("}");
    const v = newer ? `Math.min(version, ${hi})` : "version";
    o.line(`const o = dec${this.fn(m.root, m)}(r, ${v});`);
    o.line(`r.complete(\`${m.name} v\${version}\`);`);
    o.line("return o;");
  }

  /** `export const Name: Type<Req, Res> = {`, broken as `deno fmt` does. */
  openApiConst(o: Out, api: ApiSpec, type: string): void {
    const req = api.request.name;
    const res = api.response.name;
    const head = `export const ${api.name}: ${type}<${req}, ${res}> = {`;
    if (o.fits(head)) o.open(head);
    else {
      o.line(`export const ${api.name}: ${type}<`);
      o.line(`  ${req},`);
      o.line(`  ${res}`);
      o.open("> = {");
    }
  }

  /** The client's `Api` object: request encoder and response decoder. */
  emitClientApi(o: Out, api: ApiSpec): void {
    const req = api.request;
    const res = api.response;
    const flexMin = isEmpty(req.flexibleVersions)
      ? "Infinity"
      : String(req.flexibleVersions.lo);
    /** "false" (never flexible), null (always) or a version test. */
    const isFlex = (m: MessageSpec) =>
      cond(m.flexibleVersions, m.validVersions);
    o.line();
    o.line(`/** ${api.name} (API key ${api.key}). */`);
    this.openApiConst(o, api, "Api");
    o.line(`key: ${api.key},`);
    o.line(`name: "${api.name}",`);
    o.line(`minVersion: ${req.validVersions.lo},`);
    o.line(`maxVersion: ${req.validVersions.hi},`);
    o.line(`flexibleMin: ${flexMin},`);
    o.open("encodeRequest(w, version, data) {");
    this.encodeBody(o, req, api.name);
    o.close("},");
    o.open("decodeResponse(r, version) {");
    this.decodeBody(o, res, false);
    o.close("},");
    // Header versions.
    const reqFlex = isFlex(req);
    const resFlex = isFlex(res);
    const reqHeader = reqFlex === "false"
      ? "1"
      : reqFlex === null
      ? "2"
      : `${reqFlex} ? 2 : 1`;
    const resHeader = api.name === "ApiVersions" || resFlex === "false"
      ? "0"
      : resFlex === null
      ? "1"
      : `${resFlex} ? 1 : 0`;
    const usesV = (e: string) => e.includes("version") ? "version" : "_version";
    o.open(`requestHeaderVersion(${usesV(reqHeader)}) {`);
    o.line(`return ${reqHeader};`);
    o.close("},");
    o.open(`responseHeaderVersion(${usesV(resHeader)}) {`);
    o.line(`return ${resHeader};`);
    o.close("},");
    o.close("};");
  }

  /** The test-only `FullApi`: the client's plus the broker side's codecs. */
  emitTestingApi(o: Out, api: ApiSpec): void {
    o.line();
    o.doc(
      `${api.name} (API key ${api.key}) with the broker side's codecs too: ` +
        "request decoder and response encoder, for tests and fake brokers.",
    );
    this.openApiConst(o, api, "FullApi");
    o.line(`...Client${api.name},`);
    o.open("decodeRequest(r, version) {");
    this.decodeBody(o, api.request, false);
    o.close("},");
    o.open("encodeResponse(w, version, data) {");
    this.encodeBody(o, api.response, api.name);
    o.close("},");
    o.close("};");
  }

  /** A data spec's version constants and its encode and decode functions. */
  emitDataCodecs(o: Out, m: MessageSpec): void {
    const name = m.name;
    const upper = snakeCase(name).toUpperCase();
    const lo = m.validVersions.lo;
    const hi = m.validVersions.hi;
    o.line();
    o.line(`/** The oldest version of ${name}. */`);
    o.line(`export const ${upper}_MIN_VERSION = ${lo};`);
    o.line();
    o.line(`/** The newest version of ${name}: the one to write. */`);
    o.line(`export const ${upper}_MAX_VERSION = ${hi};`);
    o.line();
    o.doc(
      `Writes ${name} at \`version\` (${lo}-${hi}), without the version ` +
        "itself: that goes before the data, as an int16.",
    );
    this.signature(o, `export function encode${name}`, [
      "w: ByteWriter",
      "version: number",
      `data: Encodable<${name}>`,
    ], ": void {");
    o.depth++;
    this.encodeBody(o, m, name);
    o.close("}");
    o.line();
    o.doc(
      `Reads ${name} written at \`version\`. As the spec asks, a version ` +
        `newer than ${hi} is read as ${hi} (newer versions only add fields).`,
    );
    this.signature(o, `export function decode${name}`, [
      "r: ByteReader",
      "version: number",
    ], `: ${name} {`);
    o.depth++;
    this.decodeBody(o, m, true);
    o.close("}");
  }

  /**
   * The module's text: the generated-code line, imports of the helpers the
   * body uses (after `first`, before `last`), then the body.
   */
  module(
    sources: string,
    body: Out,
    first: Array<[string, string[], string]>,
    last: Array<[string, string[], string]> = [],
  ): string {
    const o = new Out();
    o.line(`// Code generated by tools/gen.ts from ${sources}. DO NOT EDIT.`);
    o.line();
    const importLine = (kw: string, names: string[], from: string) => {
      if (names.length === 0) return;
      const one = `${kw} { ${names.join(", ")} } from "${from}";`;
      if (o.fits(one)) o.line(one);
      else {
        o.open(`${kw} {`);
        for (const n of names) {
          const as = n.indexOf(" as ");
          if (as < 0 || o.fits(`${n},`)) o.line(`${n},`);
          else {
            o.line(n.slice(0, as));
            o.line(`  ${n.slice(as + 1)},`);
          }
        }
        o.close(`} from "${from}";`);
      }
    };
    for (const [kw, names, from] of first) importLine(kw, names, from);
    importLine("import", sortNames(this.apiImports), "../api.ts");
    importLine("import type", ["ByteReader", "ByteWriter"], "../bytes.ts");
    importLine("import", sortNames(this.byteImports), "../bytes.ts");
    for (const [kw, names, from] of last) importLine(kw, names, from);
    for (const l of body.lines) o.lines.push(l);
    return o.text();
  }

  /** The client module of an API: types, `Api` object, client codecs. */
  clientModule(api: ApiSpec): string {
    const body = new Out();
    this.emitInterfaces(body, api.request);
    this.emitInterfaces(body, api.response);
    this.emitClientApi(body, api);
    this.emitFunctions(body, api.request, { enc: true, dec: false });
    this.emitFunctions(body, api.response, { enc: false, dec: true });
    return this.module(sources(api), body, [
      ["import type", ["Api", "Encodable"], "../api.ts"],
    ]);
  }

  /** The test-only module of an API: the broker side's codecs. */
  testingModule(api: ApiSpec): string {
    const body = new Out();
    this.emitTestingApi(body, api);
    this.emitFunctions(body, api.request, { enc: false, dec: true });
    this.emitFunctions(body, api.response, { enc: true, dec: false });
    const code = body.lines.join("\n");
    const types = [api.request, api.response]
      .flatMap((m) => m.structs.map((s) => s.tsName))
      .filter((n) => new RegExp(`(?<!\\w)${n}(?!\\w)`).test(code));
    const from = `../messages/${api.fileName}.ts`;
    return this.module(sources(api), body, [
      ["import type", ["Encodable"], "../api.ts"],
    ], [
      ["import type", sortNames(types), from],
      ["import", [`${api.name} as Client${api.name}`], from],
      ["import type", ["FullApi"], "./api.ts"],
    ]);
  }

  /** The module of a data spec: types, version constants, codecs. */
  dataModule(m: MessageSpec): string {
    const body = new Out();
    this.emitInterfaces(body, m);
    this.emitDataCodecs(body, m);
    this.emitFunctions(body, m, { enc: true, dec: true });
    return this.module(m.file, body, [
      ["import type", ["Encodable"], "../api.ts"],
    ]);
  }
}

function sortNames(names: Iterable<string>): string[] {
  const key = (s: string) => s.toLowerCase();
  return [...names].sort((a, b) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  );
}

function sources(api: ApiSpec): string {
  return `${api.request.file} and ${api.response.file}`;
}

/** Every name the published modules export, for collision checks. */
function exportedNames(
  api: ApiSpec | null,
  data: MessageSpec | null,
): string[] {
  if (data) {
    const upper = snakeCase(data.name).toUpperCase();
    return [
      ...data.structs.map((s) => s.tsName),
      `encode${data.name}`,
      `decode${data.name}`,
      `${upper}_MIN_VERSION`,
      `${upper}_MAX_VERSION`,
    ];
  }
  const names = [api!.name];
  for (const m of [api!.request, api!.response]) {
    for (const s of m.structs) names.push(s.tsName);
  }
  return names;
}

/** Refuses spec features the emitter does not handle. */
function checkSupported(m: MessageSpec): void {
  for (const s of m.structs) {
    for (const f of s.fields) {
      if (f.flexibleVersions !== undefined) {
        const t = f.type;
        if (t.kind !== "primitive" || t.name !== "string") {
          throw new Error(
            `${m.file}: flexibleVersions override on ${f.name} is only ` +
              `supported for string fields`,
          );
        }
      }
      if (f.tag !== undefined && !contains(f.taggedVersions, f.versions.hi)) {
        throw new Error(`${m.file}: tagged versions of ${f.name} not open`);
      }
    }
  }
}

/** The client module of one API (`messages/<api>.ts`). */
export function generateApi(api: ApiSpec): string {
  checkSupported(api.request);
  checkSupported(api.response);
  return new Emitter().clientModule(api);
}

/** The test-only module of one API (`testing/<api>.ts`). */
export function generateTestingApi(api: ApiSpec): string {
  return new Emitter().testingModule(api);
}

/** The module of one data spec (`messages/<data>.ts`). */
export function generateData(m: MessageSpec): string {
  checkSupported(m);
  return new Emitter().dataModule(m);
}

/** `messages/mod.ts`: every client API and data spec. */
export function generateMod(apis: ApiSpec[], data: MessageSpec[]): string {
  const o = new Out();
  o.line("// Code generated by tools/gen.ts. DO NOT EDIT.");
  o.line();
  o.line('import type { Api } from "../api.ts";');
  const sorted = [...apis].sort((a, b) => a.key - b.key);
  for (const api of sorted) {
    o.line(`import { ${api.name} } from "./${api.fileName}.ts";`);
  }
  o.line();
  for (const api of sorted) o.line(`export * from "./${api.fileName}.ts";`);
  for (const m of data) o.line(`export * from "./${snakeCase(m.name)}.ts";`);
  o.line();
  o.line("/** Every API a client sends, by key. */");
  o.open("export const APIS: readonly Api<unknown, unknown>[] = [");
  for (const api of sorted) o.line(`${api.name},`);
  o.close("];");
  o.line();
  o.line("/** Every API a client sends by its key. */");
  o.open(
    "export const API_BY_KEY: Map<number, Api<unknown, unknown>> = new Map(",
  );
  o.line("APIS.map((api) => [api.key, api]),");
  o.close(");");
  return o.text();
}

/** `testing/mod.ts`: every client API with the broker side's codecs too. */
export function generateTestingMod(apis: ApiSpec[]): string {
  const o = new Out();
  o.line("// Code generated by tools/gen.ts. DO NOT EDIT.");
  o.line();
  o.line('import type { FullApi } from "./api.ts";');
  const sorted = [...apis].sort((a, b) => a.key - b.key);
  for (const api of sorted) {
    o.line(`import { ${api.name} } from "./${api.fileName}.ts";`);
  }
  o.line();
  o.line('export type { FullApi } from "./api.ts";');
  for (const api of sorted) o.line(`export * from "./${api.fileName}.ts";`);
  o.line();
  o.line("/** Every API a client sends, with both sides' codecs, by key. */");
  o.open("export const APIS: readonly FullApi<unknown, unknown>[] = [");
  for (const api of sorted) o.line(`${api.name},`);
  o.close("];");
  o.line();
  o.line("/** The same by API key. */");
  o.open(
    "export const API_BY_KEY: Map<number, FullApi<unknown, unknown>> = new Map(",
  );
  o.line("APIS.map((api) => [api.key, api]),");
  o.close(");");
  return o.text();
}

/**
 * The folders (under lib/protocol) that hold generated modules: `messages`
 * is published, `testing` is for tests only (deno.json's publish.exclude).
 */
export const GENERATED_DIRS: readonly string[] = ["messages", "testing"];

/**
 * Every generated file, by path relative to lib/protocol: for each API a
 * client sends (`isClientApi`), `messages/<api>.ts` (request encoder,
 * response decoder) and `testing/<api>.ts` (request decoder, response
 * encoder); `messages/<data>.ts` for each data spec; and both folders'
 * `mod.ts`. Other APIs are not generated.
 */
export function generate(
  all: ApiSpec[],
  data: MessageSpec[] = [],
): Map<string, string> {
  const apis = all.filter(isClientApi);
  const seen = new Map<string, string>();
  const add = (names: string[], owner: string) => {
    for (const n of names) {
      const prev = seen.get(n);
      if (prev !== undefined && prev !== owner) {
        throw new Error(`Exported name ${n} in both ${prev} and ${owner}`);
      }
      seen.set(n, owner);
    }
  };
  for (const api of apis) add(exportedNames(api, null), api.name);
  for (const m of data) add(exportedNames(null, m), m.name);
  const files = new Map<string, string>();
  for (const api of apis) {
    files.set(`messages/${api.fileName}.ts`, generateApi(api));
  }
  for (const m of data) {
    files.set(`messages/${snakeCase(m.name)}.ts`, generateData(m));
  }
  files.set("messages/mod.ts", generateMod(apis, data));
  for (const api of apis) {
    files.set(`testing/${api.fileName}.ts`, generateTestingApi(api));
  }
  files.set("testing/mod.ts", generateTestingMod(apis));
  return files;
}
