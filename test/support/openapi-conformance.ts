import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import * as z from "zod";
import type { RecordedRequest } from "../../emulator/index.ts";

/*
 * Checks HTTP traffic against finAPI's OpenAPI document (the subset in test/fixtures/finapi/).
 * Messages name places and rules, never values: requests carry client secrets and tokens.
 */

const FIXTURE = "test/fixtures/finapi/openapi-subset.yaml";
const DOCUMENT_ID = "finapi-openapi";
const REQUEST_ID_HEADER = "x-request-id";

const schemaObject = z.record(z.string(), z.unknown());
const parameterSchema = z.object({
  name: z.string(),
  in: z.enum(["header", "query", "path", "cookie"]),
  required: z.boolean().optional(),
  schema: schemaObject,
});
const mediaTypesSchema = z.record(z.string(), z.object({ schema: schemaObject }));
const operationSchema = z.object({
  operationId: z.string(),
  parameters: z.array(parameterSchema).default([]),
  requestBody: z.object({ required: z.boolean().optional(), content: mediaTypesSchema }).optional(),
  responses: z.record(
    z.string(),
    z.object({ content: mediaTypesSchema.optional(), headers: z.record(z.string(), z.unknown()).optional() }),
  ),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
});
type Operation = z.infer<typeof operationSchema>;
const documentSchema = z.object({
  paths: z.record(z.string(), z.record(z.string(), operationSchema)),
  components: z.object({ schemas: z.record(z.string(), schemaObject) }).loose(),
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * OpenAPI 3.0 schema → JSON Schema for Ajv: `nullable: true` becomes "null or the schema" (Ajv's own
 * nullable support needs a `type` beside it, which allOf-wrapped references lack), and local
 * references point into the registered document.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isRecord(node)) return node;
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    converted[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#/")
        ? `${DOCUMENT_ID}${value}`
        : toJsonSchema(value);
  }
  const { nullable, ...rest } = converted;
  return nullable === true ? { anyOf: [{ type: "null" }, rest] } : rest;
}

const document = documentSchema.parse(
  parse(readFileSync(new URL("../fixtures/finapi/openapi-subset.yaml", import.meta.url), "utf8")),
);
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: DOCUMENT_ID, components: toJsonSchema(document.components) });

const validators = new Map<unknown, ValidateFunction>();
function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schema) as Record<string, unknown>);
    validators.set(schema, validate);
  }
  return validate;
}

function describeSchemaErrors(place: string, errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .filter((error) => error.keyword !== "anyOf" && error.keyword !== "oneOf" && error.keyword !== "allOf")
    .map((error) => {
      const where = `${place}${error.instancePath || ""}`;
      if (error.keyword === "additionalProperties") {
        return `${where} has a property the schema does not allow: "${error.params.additionalProperty}"`;
      }
      if (error.keyword === "enum") {
        return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
      }
      return `${where} ${error.message ?? "is invalid"}`;
    });
}

function checkAgainst(place: string, schema: Record<string, unknown>, value: unknown): string[] {
  const validate = validatorFor(schema);
  return validate(value) ? [] : describeSchemaErrors(place, validate.errors);
}

const mediaTypeOf = (contentType: string | null | undefined) =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

interface HttpCall {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The operation finAPI would run: a POST with X-HTTP-Method-Override runs the named method. */
function operationOf(call: HttpCall): { endpoint: string; operation?: Operation; problem?: string } {
  const { pathname } = new URL(call.path, "http://finapi.invalid");
  const override = call.headers["x-http-method-override"];
  const method = call.method === "POST" && override ? override.toUpperCase() : call.method.toUpperCase();
  const endpoint = `${method} ${pathname}`;
  const pathItem = document.paths[pathname];
  if (!pathItem) return { endpoint, problem: `the document has no path ${pathname}` };
  const operation = pathItem[method.toLowerCase()];
  if (!operation) return { endpoint, problem: `the document has no operation ${endpoint}` };
  return { endpoint, operation };
}

function fail(subject: string, mismatches: readonly string[]): void {
  if (mismatches.length === 0) return;
  throw new Error(
    `${subject} does not conform to finAPI's OpenAPI document (${FIXTURE}):\n${mismatches.map((m) => `  - ${m}`).join("\n")}`,
  );
}

function parameterMismatches(operation: Operation, request: RecordedRequest): string[] {
  const mismatches: string[] = [];
  const query = new URL(request.path, "http://finapi.invalid").searchParams;
  const declared = (location: "header" | "query", name: string) =>
    operation.parameters.find((p) => p.in === location && p.name.toLowerCase() === name.toLowerCase());
  for (const name of new Set(query.keys())) {
    if (!declared("query", name)) {
      mismatches.push(`query parameter "${name}" is not declared by ${operation.operationId}`);
    }
  }
  for (const parameter of operation.parameters) {
    const value =
      parameter.in === "header"
        ? request.headers[parameter.name.toLowerCase()]
        : parameter.in === "query"
          ? (query.get(parameter.name) ?? undefined)
          : undefined;
    if (value === undefined) {
      if (parameter.required)
        mismatches.push(`required ${parameter.in} parameter ${parameter.name} is missing`);
      continue;
    }
    mismatches.push(...checkAgainst(`${parameter.in} parameter ${parameter.name}`, parameter.schema, value));
  }
  return mismatches;
}

function requestBodyMismatches(operation: Operation, request: RecordedRequest): string[] {
  const { requestBody } = operation;
  if (!requestBody) return request.body === "" ? [] : [`${operation.operationId} takes no request body`];
  const mediaType = mediaTypeOf(request.headers["content-type"]);
  const media = requestBody.content[mediaType];
  if (!media) {
    const expected = Object.keys(requestBody.content).join(" or ");
    return [`request Content-Type is "${mediaType || "(none)"}", expected ${expected}`];
  }
  if (request.body === "") return requestBody.required ? ["the request body is missing"] : [];
  if (mediaType === "application/x-www-form-urlencoded") {
    const form = Object.fromEntries(new URLSearchParams(request.body));
    return checkAgainst("form body", media.schema, form);
  }
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    return ["the request body is not valid JSON"];
  }
  return checkAgainst("request body", media.schema, body);
}

function requestMismatches(
  request: RecordedRequest,
  operation: Operation | undefined,
  problem: string,
): string[] {
  const mismatches: string[] = [];
  if (request.headers[REQUEST_ID_HEADER] === undefined) {
    mismatches.push("the X-Request-Id header is missing (every finAPI call must carry one)");
  }
  if (!operation) return [...mismatches, problem];
  mismatches.push(...parameterMismatches(operation, request));
  if ((operation.security ?? []).length > 0 && !/^Bearer \S+$/.test(request.headers.authorization ?? "")) {
    mismatches.push(
      `${operation.operationId} is secured: the "Authorization: Bearer <access token>" header is missing`,
    );
  }
  mismatches.push(...requestBodyMismatches(operation, request));
  return mismatches;
}

/**
 * Throws, listing every mismatch, unless `request` is a call finAPI's OpenAPI document allows: a known
 * operation, its content type and body schema (form fields of the token call, the JSON of a PATCH), only
 * declared query parameters, `Authorization: Bearer` where the operation is secured, and an
 * `X-Request-Id` of at most 255 characters (which this project sends on every call).
 */
export function assertConformsToFinapiOpenApi(request: RecordedRequest): void {
  const { endpoint, operation, problem } = operationOf(request);
  fail(
    `Request ${endpoint}`,
    requestMismatches(request, operation, problem ?? `unknown operation ${endpoint}`),
  );
}

export interface ObservedResponse {
  readonly status: number;
  readonly headers: Headers | Readonly<Record<string, string>>;
  readonly body: string;
}

const generalErrorResponse = (schemaName: string): Operation["responses"][string] => ({
  content: { "application/json": { schema: { $ref: `#/components/schemas/${schemaName}` } } },
  headers: { "X-Request-Id": {} },
});
/* finAPI's general error formats (the document's "Error Responses"), for statuses an operation leaves out. */
const UNAUTHENTICATED_RESPONSE = generalErrorResponse("BadCredentialsError");
const ERROR_RESPONSE = generalErrorResponse("ErrorMessage");

function responseSpecFor(operation: Operation | undefined, status: number) {
  const documented = operation?.responses[String(status)];
  if (documented) return documented;
  if (status < 400) return undefined;
  return status === 401 ? UNAUTHENTICATED_RESPONSE : ERROR_RESPONSE;
}

function responseMismatches(
  operation: Operation | undefined,
  endpoint: string,
  response: ObservedResponse,
): string[] {
  const header = (name: string) =>
    response.headers instanceof Headers ? response.headers.get(name) : response.headers[name.toLowerCase()];
  const spec = responseSpecFor(operation, response.status);
  if (!spec) return [`status ${response.status} is not documented for ${endpoint}`];
  const mismatches: string[] = [];
  for (const name of Object.keys(spec.headers ?? {})) {
    if (!header(name)) mismatches.push(`the ${name} header is missing`);
  }
  const content = spec.content ?? {};
  if (Object.keys(content).length === 0) {
    return response.body === ""
      ? mismatches
      : [...mismatches, "the documented response has no body, but one was sent"];
  }
  const mediaType = mediaTypeOf(header("content-type"));
  const media = content[mediaType];
  if (!media) {
    const expected = Object.keys(content).join(" or ");
    return [...mismatches, `Content-Type is "${mediaType || "(none)"}", expected ${expected}`];
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return [...mismatches, "the response body is not valid JSON"];
  }
  return [...mismatches, ...checkAgainst("response body", media.schema, body)];
}

/**
 * Throws, listing every mismatch, unless `response` is what finAPI's OpenAPI document says `request`
 * can get back: a documented status (or an error in finAPI's general error format), the documented
 * headers and content type, and a body valid against the response schema.
 */
export function assertFinapiResponseConformsToOpenApi(request: HttpCall, response: ObservedResponse): void {
  const { endpoint, operation } = operationOf(request);
  fail(`Response ${response.status} to ${endpoint}`, responseMismatches(operation, endpoint, response));
}
