import { createHash } from "node:crypto";
import {
  createServer,
  request as forwardRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { listen } from "../../../local/listen.ts";
import { type PhysicalValues, resolve } from "../../infra/render.ts";
import {
  type AuthorizationRequest,
  evaluate,
  type Grant,
  grantsOf,
  type PolicyStatement,
  usesGrant,
} from "./iam-policy.ts";
import type { Resource } from "./synthesized-stack.ts";

/*
 * The synthesized template's IAM, enforced on the local deployment: each function signs its AWS calls
 * with an access key of its own, a gate in front of each stand-in reads the key from the SigV4
 * Authorization header, evaluates the call against that function's role policies from the template,
 * and refuses it with AccessDeniedException (the services' JSON error shape) when they do not allow it.
 */

/** The account the stand-ins put into ARNs. */
export const LOCAL_ACCOUNT = "000000000000";

/** The IAM action prefix of each JSON-protocol target prefix (`X-Amz-Target: <prefix>.<Operation>`). */
const SERVICES: Readonly<Record<string, { readonly prefix: string; readonly errorType: string }>> = {
  AmazonSSM: { prefix: "ssm", errorType: "AccessDeniedException" },
  secretsmanager: { prefix: "secretsmanager", errorType: "AccessDeniedException" },
  DynamoDB_20120810: {
    prefix: "dynamodb",
    errorType: "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
  },
  AWSEvents: { prefix: "events", errorType: "AccessDeniedException" },
  AmazonSQS: { prefix: "sqs", errorType: "com.amazon.coral.service#AccessDeniedException" },
  TrentService: { prefix: "kms", errorType: "AccessDeniedException" },
};

/** A function of the template whose calls are evaluated against its role's policies. */
export interface GovernedFunction {
  /** What reports call it (its Powertools service name). */
  readonly label: string;
  readonly logicalId: string;
  readonly statements: readonly PolicyStatement[];
}

/** A grant of a function's role that no call used. */
export interface UnusedGrant {
  readonly function: string;
  readonly action: string;
  readonly resource: string;
}

export interface Refusal {
  readonly function: string;
  readonly action: string;
  readonly resource: string;
}

/** One item of a batch call the caller may not touch, and the AWS error AWS answers for it. */
export interface ItemRefusal {
  readonly item: string;
  readonly type: string;
  readonly message: string;
}

/**
 * A call refused as a whole (the AWS error to answer), or allowed with the items of a batch the
 * caller may not touch: BatchGetSecretValue answers each of those in its Errors, not the call.
 */
export type CallDecision =
  | { readonly allowed: false; readonly type: string; readonly message: string }
  | { readonly allowed: true; readonly refusedItems: readonly ItemRefusal[] };

export interface IamAuthority {
  /** The access key the function's environment signs with. */
  accessKeyOf(logicalId: string): string;
  /** Whether the caller's policies allow the call, and which of its items they do not. */
  check(
    accessKeyId: string | undefined,
    targetPrefix: string,
    operation: string,
    input: Record<string, unknown>,
  ): CallDecision;
  /** Every call refused so far. */
  readonly refusals: readonly Refusal[];
  /** The grants no allowed call has used so far, per function. */
  unusedGrants(): UnusedGrant[];
}

export const accessKeyOf = (logicalId: string) =>
  `AKIALOCAL${createHash("sha256").update(logicalId).digest("hex").slice(0, 11).toUpperCase()}`;

/** How a call's resources are named: secret names become the ARNs Secrets Manager gave them. */
export interface ResourceNaming {
  readonly region: string;
  secretArn(secretId: string): string;
}

const text = (value: unknown) => (typeof value === "string" ? value : "");
const nameFromArnOrName = (value: string, marker: string) =>
  value.startsWith("arn:") ? value.slice(value.indexOf(marker) + marker.length) : value;

/** An IAM request of a call; with `item`, a denial fails only that item of a batch, not the call. */
export interface CallAuthorization extends AuthorizationRequest {
  readonly item?: string;
}

/** The IAM requests one call makes: one per resource it touches (and per event, for PutEvents). */
export function authorizationRequests(
  prefix: string,
  operation: string,
  input: Record<string, unknown>,
  naming: ResourceNaming,
): CallAuthorization[] {
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${naming.region}:${LOCAL_ACCOUNT}:${resource}`;
  const action = `${prefix}:${operation}`;
  switch (prefix) {
    case "ssm": {
      const names = Array.isArray(input.Names) ? input.Names.map(text) : [text(input.Name ?? input.Path)];
      return names.map((name) => ({ action, resource: arn("ssm", `parameter/${name.replace(/^\//, "")}`) }));
    }
    case "secretsmanager": {
      if (operation !== "BatchGetSecretValue")
        return [{ action, resource: naming.secretArn(text(input.SecretId)) }];
      /* The batch action has no resource type; each secret needs GetSecretValue, a denial answered in Errors. */
      const secretIds = Array.isArray(input.SecretIdList) ? input.SecretIdList.map(text) : [];
      return [
        { action, resource: "*" },
        ...secretIds.map((secretId) => ({
          action: "secretsmanager:GetSecretValue",
          resource: naming.secretArn(secretId),
          item: secretId,
        })),
      ];
    }
    case "dynamodb": {
      const table = (name: unknown) => arn("dynamodb", `table/${text(name)}`);
      if (Array.isArray(input.TransactItems)) {
        const itemActions: Record<string, string> = {
          Put: "PutItem",
          Update: "UpdateItem",
          Delete: "DeleteItem",
          ConditionCheck: "ConditionCheckItem",
          Get: "GetItem",
        };
        return (input.TransactItems as Record<string, { TableName?: unknown }>[]).flatMap((item) =>
          Object.entries(item).map(([kind, body]) => ({
            action: `dynamodb:${itemActions[kind] ?? kind}`,
            resource: table(body.TableName),
          })),
        );
      }
      if (input.RequestItems && typeof input.RequestItems === "object") {
        return Object.keys(input.RequestItems).map((name) => ({ action, resource: table(name) }));
      }
      return [{ action, resource: table(input.TableName) }];
    }
    case "events": {
      const bus = (name: unknown) =>
        arn("events", `event-bus/${nameFromArnOrName(text(name) || "default", "event-bus/")}`);
      if (operation === "PutEvents" && Array.isArray(input.Entries)) {
        return (input.Entries as Record<string, unknown>[]).map((entry) => ({
          action,
          resource: bus(entry.EventBusName),
          context: { "events:source": text(entry.Source), "events:detail-type": text(entry.DetailType) },
        }));
      }
      return [{ action, resource: bus(input.EventBusName ?? input.Name) }];
    }
    case "sqs": {
      const queueUrl = text(input.QueueUrl);
      return [{ action, resource: arn("sqs", queueUrl.slice(queueUrl.lastIndexOf("/") + 1)) }];
    }
    case "kms":
      /* The stand-in names its keys by ARN, as the template's Ref/GetAtt of the key resolve. */
      return [{ action, resource: text(input.KeyId) }];
    default:
      throw new Error(`no IAM mapping for ${prefix}`);
  }
}

export function createIamAuthority(
  functions: readonly GovernedFunction[],
  naming: ResourceNaming,
): IamAuthority {
  const byKey = new Map(functions.map((fn) => [accessKeyOf(fn.logicalId), fn]));
  const grants = new Map<GovernedFunction, { readonly grant: Grant; used: boolean }[]>(
    functions.map((fn) => [fn, grantsOf(fn.statements).map((grant) => ({ grant, used: false }))]),
  );
  const refusals: Refusal[] = [];

  return {
    accessKeyOf,
    refusals,
    check(accessKeyId, targetPrefix, operation, input) {
      const service = SERVICES[targetPrefix];
      if (!service) {
        return {
          allowed: false,
          type: "UnknownOperationException",
          message: `no IAM mapping for ${targetPrefix}`,
        };
      }
      const fn = accessKeyId === undefined ? undefined : byKey.get(accessKeyId);
      if (!fn) {
        return {
          allowed: false,
          type: "UnrecognizedClientException",
          message: "The security token included in the request is invalid.",
        };
      }
      const refusedItems: ItemRefusal[] = [];
      for (const request of authorizationRequests(service.prefix, operation, input, naming)) {
        const decision = evaluate(fn.statements, request);
        if (!decision.allowed) {
          refusals.push({ function: fn.label, action: request.action, resource: request.resource });
          const why =
            decision.reason === "explicit-deny"
              ? "with an explicit deny in an identity-based policy"
              : `because no identity-based policy allows the ${request.action} action`;
          const refusal = {
            type: service.errorType,
            message: `User: arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${fn.logicalId}Role/${fn.label} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
          };
          if (request.item === undefined) return { allowed: false, ...refusal };
          refusedItems.push({ item: request.item, ...refusal });
          continue;
        }
        for (const entry of grants.get(fn) ?? []) {
          if (!entry.used && usesGrant(entry.grant, request, decision.allowedBy)) entry.used = true;
        }
      }
      return { allowed: true, refusedItems };
    },
    unusedGrants: () =>
      functions.flatMap((fn) =>
        (grants.get(fn) ?? [])
          .filter((entry) => !entry.used)
          .map(({ grant }) => ({ function: fn.label, action: grant.action, resource: grant.resource })),
      ),
  };
}

/** Resolves every intrinsic inside a JSON-like value (a policy document's statements). */
function resolveDeep(value: unknown, physical: PhysicalValues): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveDeep(item, physical));
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === "Ref" || keys[0]?.startsWith("Fn::")))
      return resolve(value, physical);
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, resolveDeep(inner, physical)]),
    );
  }
  return value;
}

/** Each function's role policies from the template, with every Ref and GetAtt resolved by `physical`. */
export function governedFunctions(
  resourcesOf: (type: string) => [string, Resource][],
  physical: PhysicalValues,
): GovernedFunction[] {
  const policies = resourcesOf("AWS::IAM::Policy");
  return resourcesOf("AWS::Lambda::Function").map(([logicalId, fn]) => {
    const [roleId] = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"];
    const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const statements = policies
      .filter(([, policy]) =>
        (policy.Properties.Roles as { Ref?: string }[]).some((role) => role.Ref === roleId),
      )
      .flatMap(
        ([, policy]) =>
          resolveDeep(
            (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement,
            physical,
          ) as PolicyStatement[],
      );
    return { label: String(variables?.POWERTOOLS_SERVICE_NAME ?? logicalId), logicalId, statements };
  });
}

/**
 * What a Ref or GetAtt in a policy resolves to on the stand-ins: pseudo parameters, and the ARNs of
 * tables, queues, buses and log groups as the stand-ins name them; anything else through `physical`.
 */
export function policyValues(
  resourcesOf: (type: string) => [string, Resource][],
  physical: ReadonlyMap<string, string>,
  region: string,
): PhysicalValues {
  const types = new Map<string, string>();
  for (const type of [
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::Logs::LogGroup",
  ]) {
    for (const [logicalId] of resourcesOf(type)) types.set(logicalId, type);
  }
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${region}:${LOCAL_ACCOUNT}:${resource}`;
  return (logicalId, attribute) => {
    if (logicalId === "AWS::Partition") return "aws";
    if (logicalId === "AWS::AccountId") return LOCAL_ACCOUNT;
    if (logicalId === "AWS::Region") return region;
    if (logicalId === "AWS::URLSuffix") return "amazonaws.com";
    /* What the stand-ins recorded for a GetAtt (a FIFO queue's ARN ends in .fifo, a KMS key's is the stand-in's). */
    const recorded = attribute === undefined ? undefined : physical.get(`${logicalId}.${attribute}`);
    if (recorded !== undefined) return recorded;
    const type = types.get(logicalId);
    const value = physical.get(logicalId) ?? logicalId;
    if (attribute === "Arn" && type === "AWS::DynamoDB::Table") return arn("dynamodb", `table/${value}`);
    if (attribute === "Arn" && type === "AWS::SQS::Queue") return arn("sqs", logicalId);
    if (attribute === "Arn" && type === "AWS::Events::EventBus") return arn("events", `event-bus/${value}`);
    if (attribute === "Arn" && type === "AWS::Logs::LogGroup") return arn("logs", `log-group:${logicalId}:*`);
    if (attribute === undefined && physical.has(logicalId)) return value;
    /* A resource no stand-in serves (a log group's name, say): a value no call can match. */
    return `unresolved:${logicalId}${attribute === undefined ? "" : `.${attribute}`}`;
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** SigV4: `Authorization: AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/aws4_request, ...` */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}

export interface IamGate {
  /** Where callers are pointed instead of the stand-in. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of one JSON-protocol stand-in that passes on only the calls the caller's
 * policies allow; the others are answered 400 AccessDeniedException, as the service would.
 */
export async function startIamGate(upstreamUrl: string, authority: IamAuthority): Promise<IamGate> {
  const upstream = new URL(upstreamUrl);

  const refuse = (outgoing: ServerResponse, type: string, message: string) => {
    const shortType = type.slice(type.lastIndexOf("#") + 1);
    outgoing
      .writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": shortType })
      .end(JSON.stringify({ __type: type, message }));
  };

  const server = createServer(async (incoming, outgoing) => {
    let body: Buffer;
    try {
      body = await readBody(incoming);
    } catch {
      outgoing.destroy();
      return;
    }
    const target = incoming.headers["x-amz-target"];
    const [prefix = "", operation = ""] = typeof target === "string" ? target.split(".") : [];
    let input: Record<string, unknown> = {};
    try {
      input = body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
    } catch {
      /* Not JSON: the stand-in answers that; there is nothing to authorize against. */
    }
    const decision = authority.check(accessKeyIdOf(incoming.headers.authorization), prefix, operation, input);
    if (!decision.allowed) {
      refuse(outgoing, decision.type, decision.message);
      return;
    }
    /*
     * A BatchGetSecretValue goes on without the secrets the caller may not read; AWS answers each of
     * them in the response's Errors, which the gate adds to the stand-in's answer.
     */
    const refusedErrors = decision.refusedItems.map((refused) => ({
      SecretId: refused.item,
      ErrorCode: refused.type.slice(refused.type.lastIndexOf("#") + 1),
      Message: refused.message,
    }));
    let forwarded = body;
    if (refusedErrors.length > 0) {
      const refusedIds = new Set(decision.refusedItems.map((refused) => refused.item));
      const remaining = (input.SecretIdList as string[]).filter((secretId) => !refusedIds.has(secretId));
      if (remaining.length === 0) {
        outgoing
          .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
          .end(JSON.stringify({ SecretValues: [], Errors: refusedErrors }));
        return;
      }
      forwarded = Buffer.from(JSON.stringify({ ...input, SecretIdList: remaining }));
    }
    const upstreamRequest = forwardRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.host, "content-length": String(forwarded.length) },
      },
      (answer) => {
        answer.on("error", () => outgoing.destroy());
        if (refusedErrors.length === 0 || answer.statusCode !== 200) {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
          return;
        }
        readBody(answer).then(
          (answerBody) => {
            const answered = JSON.parse(answerBody.toString("utf8")) as { Errors?: unknown[] };
            const merged = Buffer.from(
              JSON.stringify({ ...answered, Errors: [...(answered.Errors ?? []), ...refusedErrors] }),
            );
            const { "transfer-encoding": _chunked, ...headers } = answer.headers;
            outgoing.writeHead(200, { ...headers, "content-length": String(merged.length) }).end(merged);
          },
          () => outgoing.destroy(),
        );
      },
    );
    upstreamRequest.on("error", () => outgoing.destroy());
    outgoing.on("close", () => upstreamRequest.destroy());
    upstreamRequest.end(forwarded);
  });
  server.keepAliveTimeout = 1_000;
  const { url } = await listen(server, { purpose: "the IAM enforcement proxy" });
  return {
    url,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
