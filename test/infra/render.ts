/**
 * Renders a CloudFormation value as text: `${LogicalId}` for a Ref, `${LogicalId.Attribute}` for a
 * GetAtt, Fn::Join concatenated, Fn::Select/Fn::Split as they read. Lets a test compare an ARN or an
 * environment variable with what it should say rather than with nested intrinsics.
 */
export function render(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value && typeof value === "object") {
    const intrinsic = value as Record<string, unknown>;
    if ("Ref" in intrinsic) return `\${${String(intrinsic.Ref)}}`;
    if ("Fn::GetAtt" in intrinsic) return `\${${(intrinsic["Fn::GetAtt"] as string[]).join(".")}}`;
    if ("Fn::Join" in intrinsic) {
      const [separator, parts] = intrinsic["Fn::Join"] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    if ("Fn::Select" in intrinsic) {
      const [index, list] = intrinsic["Fn::Select"] as [number, unknown];
      return `select(${index}, ${render(list)})`;
    }
    if ("Fn::Split" in intrinsic) {
      const [separator, source] = intrinsic["Fn::Split"] as [string, unknown];
      return `split("${separator}", ${render(source)})`;
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** Renders every leaf of a JSON-like value (arrays and plain objects kept), for whole-structure comparisons. */
export function renderDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renderDeep);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === "Ref" || keys[0]?.startsWith("Fn::"))) return render(value);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, renderDeep(inner)]));
  }
  return value;
}

/** Gives a Ref (no attribute) or a GetAtt its physical value. */
export type PhysicalValues = (logicalId: string, attribute?: string) => string;

/**
 * Evaluates a CloudFormation value the way CloudFormation would, given the physical value of each
 * Ref and GetAtt: what a deployed function would see in its environment.
 */
export function resolve(value: unknown, physical: PhysicalValues): unknown {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((item) => resolve(item, physical));
  if (value && typeof value === "object") {
    const intrinsic = value as Record<string, unknown>;
    if ("Ref" in intrinsic) return physical(String(intrinsic.Ref));
    if ("Fn::GetAtt" in intrinsic) {
      const [logicalId, attribute] = intrinsic["Fn::GetAtt"] as [string, string];
      return physical(logicalId, attribute);
    }
    if ("Fn::Join" in intrinsic) {
      const [separator, parts] = intrinsic["Fn::Join"] as [string, unknown[]];
      return parts.map((part) => resolve(part, physical)).join(separator);
    }
    if ("Fn::Select" in intrinsic) {
      const [index, list] = intrinsic["Fn::Select"] as [number, unknown];
      return (resolve(list, physical) as unknown[])[index];
    }
    if ("Fn::Split" in intrinsic) {
      const [separator, source] = intrinsic["Fn::Split"] as [string, unknown];
      return String(resolve(source, physical)).split(separator);
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}
