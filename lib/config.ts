/**
 * Typed, validated configuration objects, built with `resolveConfig(name, defaults, schema,
 * overrides)`: unknown fields, wrong types and values out of range fail at once with an error
 * naming the field and what is allowed. It builds five configs: the transformer's
 * (`transformerConfig`), the LSTM language model's (`rnnConfig`), gMLP's (`gmlpConfig`), the vision
 * models' (`visionConfig`, ViT or gMLP backbone) and Adam's (`new Adam(variables, config)`).
 * Run options (`train`, `trainLanguageModel`, `generate`, the papers' trainers, …) are plain
 * objects checked the same way by `checkOptions(name, options, schema)`: no defaults are merged,
 * fields may be optional, and functions and objects are kinds of their own. Datasets and the other
 * models take plain option objects, each checked by the function that takes it.
 */

export type FieldSpec =
  | { kind: "int"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number; minExclusive?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "bool" }
  | { kind: "intList"; min?: number }
  /** A function; `signature` (e.g. "(step) => lr") is shown in errors. */
  | { kind: "function"; signature?: string }
  /** A non-null object (arrays included); `what` (e.g. "a params object") is shown in errors. */
  | { kind: "object"; what?: string }
  /** An array; its items are checked by the owner. */
  | { kind: "array"; what?: string }
  /** Numbers as an array or a typed array (e.g. token ids); the items are checked by the owner. */
  | { kind: "numbers" }
  /** Any of several kinds (e.g. a number or a schedule). */
  | { kind: "either"; of: readonly FieldSpec[] }
  /** Any value; checked by the owner (e.g. callbacks, nested objects). */
  | { kind: "any" };

export type Schema<T> = { [K in keyof T]-?: FieldSpec };

/** A field of an options object: as a config field, and `optional` when it may be left out (or undefined). */
export type OptionSpec = FieldSpec & { optional?: boolean };
export type OptionsSchema<T> = { [K in keyof T]-?: OptionSpec };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Merges `overrides` into `defaults`, rejecting unknown fields and invalid values. */
export function resolveConfig<T extends object>(name: string, defaults: T, schema: Schema<T>, overrides: Partial<T> = {}): T {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new ConfigError(`${name}: overrides must be an object, got ${describe(overrides)}`);
  }
  const allowed = Object.keys(schema);
  rejectUnknown(name, overrides, allowed);
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  for (const key of allowed) checkField(name, key, merged[key], (schema as Record<string, FieldSpec>)[key]);
  return merged as T;
}

/**
 * Checks a plain options object (a run's, a sampler's, …) against `schema` and returns it as it is:
 * unknown fields (with the near miss), missing required fields, wrong types and values out of
 * range fail with a ConfigError naming the field and what is allowed. Undefined counts as absent.
 */
export function checkOptions<T extends object>(name: string, options: T, schema: OptionsSchema<T>): T {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`${name}: options must be an object, got ${describe(options)}`);
  }
  rejectUnknown(name, options, Object.keys(schema));
  for (const [key, spec] of Object.entries(schema) as [string, OptionSpec][]) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) {
      if (spec.optional) continue;
      throw new ConfigError(`${name}.${key}: required (${expectedText(spec)})`);
    }
    checkField(name, key, value, spec);
  }
  return options;
}

/** Checks one value (a function's argument) as a field: `${name}.${key}: expected …, got …` when it fails. */
export function checkValue(name: string, key: string, value: unknown, spec: FieldSpec): void {
  checkField(name, key, value, spec);
}

function rejectUnknown(name: string, object: object, allowed: string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      const hint = closest(key, allowed);
      throw new ConfigError(
        `${name}: unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; ` + `allowed fields: ${allowed.join(", ")}`,
      );
    }
  }
}

function checkField(name: string, key: string, value: unknown, spec: FieldSpec): void {
  if (!accepts(spec, value)) throw new ConfigError(`${name}.${key}: expected ${expectedText(spec)}, got ${describe(value)}`);
}

function accepts(spec: FieldSpec, value: unknown): boolean {
  switch (spec.kind) {
    case "int":
      return (
        typeof value === "number" &&
        Number.isInteger(value) &&
        !(spec.min !== undefined && value < spec.min) &&
        !(spec.max !== undefined && value > spec.max)
      );
    case "number":
      return (
        typeof value === "number" &&
        Number.isFinite(value) &&
        !(spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min)) &&
        !(spec.max !== undefined && value > spec.max)
      );
    case "enum":
      return typeof value === "string" && spec.values.includes(value);
    case "bool":
      return typeof value === "boolean";
    case "intList":
      return Array.isArray(value) && !value.some((v) => !Number.isInteger(v) || (spec.min !== undefined && v < spec.min));
    case "function":
      return typeof value === "function";
    case "object":
      return value !== null && typeof value === "object";
    case "array":
      return Array.isArray(value);
    case "numbers":
      return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
    case "either":
      return spec.of.some((s) => accepts(s, value));
    case "any":
      return true;
  }
}

function expectedText(spec: FieldSpec): string {
  switch (spec.kind) {
    case "int":
      return rangeText("an integer", spec.min, spec.max);
    case "number":
      return rangeText("a number", spec.min, spec.max, spec.minExclusive);
    case "enum":
      return `one of ${spec.values.map((v) => `"${v}"`).join(", ")}`;
    case "bool":
      return "true or false";
    case "intList":
      return `a list of integers${spec.min !== undefined ? ` ≥ ${spec.min}` : ""}`;
    case "function":
      return `a function${spec.signature ? ` ${spec.signature}` : ""}`;
    case "object":
      return spec.what ?? "an object";
    case "array":
      return spec.what ?? "an array";
    case "numbers":
      return "an array or typed array of numbers";
    case "either":
      return spec.of.map(expectedText).join(" or ");
    case "any":
      return "any value";
  }
}

function rangeText(what: string, min?: number, max?: number, minExclusive = false): string {
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${minExclusive ? ">" : "≥"} ${min}`);
  if (max !== undefined) parts.push(`≤ ${max}`);
  return parts.length ? `${what} ${parts.join(" and ")}` : what;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(describe).join(", ");
    return value.length > 8 ? `[${shown}, … (${value.length} items)]` : `[${shown}]`;
  }
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "function") return "a function";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/**
 * The allowed name `key` is most plausibly a slip for: one edit away; else one whose camelCase
 * (or snake_case) initials are the other name ("learningRate" → "lr", "bs" → "batchSize"); else
 * the closest by edit distance, if close enough.
 */
function closest(key: string, allowed: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  if (bestDistance <= 1) return best;
  const initials = (name: string) =>
    name
      .split(/_|(?=[A-Z])/)
      .filter(Boolean)
      .map((w) => w[0].toLowerCase())
      .join("");
  const abbreviates = (short: string, long: string) =>
    short.length > 1 && initials(long).length > 1 && initials(long) === short.toLowerCase();
  const abbreviation = allowed.find((c) => abbreviates(c, key) || abbreviates(key, c));
  if (abbreviation) return abbreviation;
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}
