/**
 * Typed, validated configuration objects, built with `resolveConfig(name, defaults, schema,
 * overrides)`: unknown fields, wrong types and values out of range fail at once with an error
 * naming the field and what is allowed. It builds five configs: the transformer's
 * (`transformerConfig`), the LSTM language model's (`rnnConfig`), gMLP's (`gmlpConfig`), the vision
 * models' (`visionConfig`, ViT or gMLP backbone) and Adam's (`new Adam(variables, config)`).
 * Datasets, trainers (`train`, …) and the other models take plain option objects, each checked
 * (as far as it is) by the function that takes it; some of those throw ConfigError too.
 */

export type FieldSpec =
  | { kind: "int"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number; minExclusive?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "bool" }
  | { kind: "intList"; min?: number }
  /** Any value; checked by the owner (e.g. callbacks, nested objects). */
  | { kind: "any" };

export type Schema<T> = { [K in keyof T]-?: FieldSpec };

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
  for (const key of Object.keys(overrides)) {
    if (!allowed.includes(key)) {
      const hint = closest(key, allowed);
      throw new ConfigError(
        `${name}: unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; ` + `allowed fields: ${allowed.join(", ")}`,
      );
    }
  }
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  for (const key of allowed) checkField(name, key, merged[key], (schema as Record<string, FieldSpec>)[key]);
  return merged as T;
}

function checkField(name: string, key: string, value: unknown, spec: FieldSpec): void {
  const fail = (expected: string) => {
    throw new ConfigError(`${name}.${key}: expected ${expected}, got ${describe(value)}`);
  };
  switch (spec.kind) {
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value)) fail(rangeText("an integer", spec.min, spec.max));
      if (spec.min !== undefined && (value as number) < spec.min) fail(rangeText("an integer", spec.min, spec.max));
      if (spec.max !== undefined && (value as number) > spec.max) fail(rangeText("an integer", spec.min, spec.max));
      return;
    case "number": {
      const text = rangeText("a number", spec.min, spec.max, spec.minExclusive);
      if (typeof value !== "number" || !Number.isFinite(value)) fail(text);
      const v = value as number;
      if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) fail(text);
      if (spec.max !== undefined && v > spec.max) fail(text);
      return;
    }
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) fail(`one of ${spec.values.map((v) => `"${v}"`).join(", ")}`);
      return;
    case "bool":
      if (typeof value !== "boolean") fail("true or false");
      return;
    case "intList":
      if (!Array.isArray(value) || value.some((v) => !Number.isInteger(v) || (spec.min !== undefined && v < spec.min))) {
        fail(`a list of integers${spec.min !== undefined ? ` ≥ ${spec.min}` : ""}`);
      }
      return;
    case "any":
      return;
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
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/** The allowed name closest to `key` by edit distance, if it is a plausible typo. */
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
