import { isIPv4, isIPv6 } from "node:net";
import { Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import * as z from "zod";
import { checkProps, schemaProblems, wholeNumber } from "../construct-props.ts";
import { acknowledgeFinding } from "../nag.ts";
import { logRetentionSchema } from "./observed-node-function.ts";

/** How finAPI's callback reaches the function. */
export const CALLBACK_INGRESSES = ["function-url", "api-gateway-waf"] as const;
export type CallbackIngressKind = (typeof CALLBACK_INGRESSES)[number];

/** Requests per source address per five minutes before the web ACL blocks that address. */
export const DEFAULT_CALLBACK_RATE_LIMIT = 1000;
/* AWS WAF's bounds for a rate-based rule's limit. */
export const CALLBACK_RATE_LIMIT_MIN = 10;
export const CALLBACK_RATE_LIMIT_MAX = 2_000_000_000;
const RATE_WINDOW_SECONDS = 300;

/* The stage in the URL: <base>/user-sync/... with <base> = https://<api>.execute-api.<region>.<suffix>/callback */
const STAGE_NAME = "callback";

/*
 * What an access log line holds. Never $context.path or the request's path parameters: the path
 * carries the client's secret. $context.resourcePath is the template (/user-sync/{client}/{secret}).
 */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  responseLength: "$context.responseLength",
  wafStatus: "$context.waf.status",
  integrationStatus: "$context.integration.status",
  integrationLatency: "$context.integration.latency",
  errorType: "$context.error.responseType",
});

export interface CallbackIngressProps {
  /** The callback function the ingress invokes. */
  readonly handler: lambda.IFunction;
  /** `function-url`: a public Lambda Function URL; `api-gateway-waf`: a REST API behind an AWS WAF web ACL. */
  readonly kind: CallbackIngressKind;
  /**
   * `api-gateway-waf` only: requests per source address per five minutes, above which the web ACL
   * blocks that address (AWS WAF allows 10..2,000,000,000).
   * @default 1000
   */
  readonly rateLimitPerFiveMinutes?: number;
  /**
   * `api-gateway-waf` only: the source CIDRs (IPv4 or IPv6, at least one) that may call at all, e.g.
   * finAPI's callback addresses; every other source is blocked.
   * @default - any source (the rate limit still applies)
   */
  readonly allowedCidrs?: readonly string[];
  /** `api-gateway-waf` only (given either way): how long the API's access logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * `api-gateway-waf` only (given either way, at least 1): the API's steady requests per second
   * across all callers, beyond which it answers 429 without invoking the function.
   */
  readonly throttlingRateLimit: number;
}

/**
 * The public entrance of the user-sync callback. Either a Lambda Function URL with auth NONE (the
 * handler authenticates the secret in the path), or an API Gateway REST API (regional, POST on
 * /user-sync/{client}/{secret} only) whose stage an AWS WAF web ACL guards with a per-source rate
 * limit and an optional allow-list of source CIDRs. Either way the function answers the same.
 */
export class CallbackIngress extends Construct {
  /** The callback's base URL without a trailing slash: a client's URL is <base>/user-sync/<client>/<secret>. */
  readonly baseUrl: string;
  readonly functionUrl?: lambda.FunctionUrl;
  readonly api?: apigateway.RestApi;
  readonly webAcl?: wafv2.CfnWebACL;
  readonly accessLogs?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CallbackIngressProps) {
    checkProps("CallbackIngress", scope, id, [
      ...schemaProblems(propsSchema, props),
      ...webAclProblems(props),
    ]);
    super(scope, id);
    const stack = Stack.of(this);

    if (props.kind === "function-url") {
      this.functionUrl = props.handler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      // The Function URL is https://<host>/: the base URL is its host, without the trailing slash.
      this.baseUrl = `https://${Fn.select(2, Fn.split("/", this.functionUrl.url))}`;
      return;
    }

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const api = new apigateway.RestApi(this, "Api", {
      restApiName: `${stack.stackName}-user-sync-callback`,
      description: "finAPI's user-synchronization callback (POST /user-sync/{client}/{secret})",
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // API Gateway writes access logs through the account's CloudWatch role (one per account and region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        // Execution logs would record the request path, secret included: off, and never a data trace.
        loggingLevel: apigateway.MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        metricsEnabled: true,
        // No X-Ray: the function records no trace (see ObservedNodeFunction).
        tracingEnabled: false,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingRateLimit * 2,
      },
    });
    this.api = api;

    // Every other path or method gets the 404 an unknown callback path gets, not API Gateway's 403.
    api.addGatewayResponse("UnknownRoute", {
      type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: "404",
      templates: { "application/json": "" },
    });

    const validator = api.addRequestValidator("PathValidator", {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    api.root
      .addResource("user-sync")
      .addResource("{client}")
      .addResource("{secret}")
      .addMethod("POST", new apigateway.LambdaIntegration(props.handler, { proxy: true }), {
        requestValidator: validator,
        requestParameters: { "method.request.path.client": true, "method.request.path.secret": true },
      });

    this.baseUrl = `https://${api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${api.deploymentStage.stageName}`;

    this.webAcl = this.guard(props);
    new wafv2.CfnWebACLAssociation(this, "WebAclAssociation", {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    acknowledgeFinding(
      api,
      "AwsSolutions-APIG2",
      "The body is validated by the callback after it has authenticated the path secret, so that a caller without the secret learns nothing from a 400 and both ingresses answer alike; the validator checks the path parameters.",
    );
    const method = api.methods[0];
    if (method) {
      acknowledgeFinding(
        method,
        "AwsSolutions-APIG4",
        "finAPI's callback carries no credentials of its own: the unguessable secret in the path authenticates each call (compared in constant time by the callback), and the web ACL limits who may call.",
      );
      acknowledgeFinding(
        method,
        "AwsSolutions-COG4",
        "finAPI cannot sign in to a Cognito user pool: the unguessable secret in the path authenticates each call (compared in constant time by the callback).",
      );
    }
    acknowledgeFinding(
      api.deploymentStage,
      "Serverless-APIGWXrayEnabled",
      "No active tracing: the callback function records no trace segments (see ObservedNodeFunction), so a stage trace would end at the integration; the access logs and the function's log line of each request, by request id, tell what happened.",
    );
    acknowledgeFinding(
      api.deploymentStage,
      "AwsSolutions-APIG6",
      "Execution logs would record the request path, which holds the client's secret; the stage keeps access logs (with the resource path template, never the path) and the function logs every outcome.",
    );
    const role = api.node.tryFindChild("CloudWatchRole");
    if (role) {
      acknowledgeFinding(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for API Gateway's account-wide logging role; API Gateway needs it to write the stage's access logs.",
      );
    }
  }

  private guard(props: CallbackIngressProps): wafv2.CfnWebACL {
    const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      metricName: name,
      cloudWatchMetricsEnabled: true,
      // Sampled requests show their URI, and the URI holds the client's secret.
      sampledRequestsEnabled: false,
    });
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const allowed = props.allowedCidrs ?? [];
    if (allowed.length > 0) {
      const references = (["IPV4", "IPV6"] as const).flatMap((version) => {
        const addresses = allowed.filter((cidr) => isIPv4(cidr.split("/")[0] ?? "") === (version === "IPV4"));
        if (addresses.length === 0) return [];
        const set = new wafv2.CfnIPSet(this, `AllowedSources${version === "IPV4" ? "V4" : "V6"}`, {
          scope: "REGIONAL",
          ipAddressVersion: version,
          addresses: [...addresses],
          description: "The sources that may call the finAPI callback, e.g. finAPI callback addresses",
        });
        return [{ ipSetReferenceStatement: { arn: set.attrArn } }];
      });
      const [only] = references;
      rules.push({
        name: "BlockSourcesNotAllowed",
        priority: 0,
        action: { block: {} },
        statement: {
          notStatement: {
            statement: references.length === 1 && only ? only : { orStatement: { statements: references } },
          },
        },
        visibilityConfig: metric("CallbackSourceNotAllowed"),
      });
    }
    rules.push({
      name: "RateLimitPerSource",
      priority: 1,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          aggregateKeyType: "IP",
          limit: props.rateLimitPerFiveMinutes ?? DEFAULT_CALLBACK_RATE_LIMIT,
          evaluationWindowSec: RATE_WINDOW_SECONDS,
        },
      },
      visibilityConfig: metric("CallbackRateLimited"),
    });
    return new wafv2.CfnWebACL(this, "WebAcl", {
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      description:
        "Guards the finAPI callback with a rate limit per source address and an optional allow-list",
      rules,
      visibilityConfig: metric("CallbackWebAcl"),
    });
  }
}

/** Whether `cidr` is an IPv4 or IPv6 block AWS WAF accepts in an IP set (a prefix of /1 or longer). */
export function isWafCidr(cidr: string): boolean {
  const [address = "", prefix, ...rest] = cidr.split("/");
  if (prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
  const length = Number(prefix);
  if (isIPv4(address)) return length >= 1 && length <= 32;
  return isIPv6(address) && length >= 1 && length <= 128;
}

const propsSchema = z.object({
  handler: z.custom<lambda.IFunction>(
    (handler) => typeof handler === "object" && handler !== null && "functionArn" in handler,
    { message: "must be a Lambda function (lambda.IFunction)" },
  ),
  kind: z.enum(CALLBACK_INGRESSES, { error: `must be one of ${CALLBACK_INGRESSES.join(", ")}` }),
  rateLimitPerFiveMinutes: wholeNumber(
    CALLBACK_RATE_LIMIT_MIN,
    CALLBACK_RATE_LIMIT_MAX,
    "requests per source address per 5 minutes, AWS WAF's bounds",
  ).optional(),
  allowedCidrs: z
    .array(
      z.string({ error: "must be a string" }).refine(isWafCidr, {
        message: "must be an IPv4 or IPv6 CIDR block with a prefix of /1 or longer, e.g. 203.0.113.0/24",
      }),
      { error: "must be an array of CIDR blocks" },
    )
    .min(1, "must name at least one CIDR block when given (leave it out to allow any source)")
    .optional(),
  logRetention: logRetentionSchema,
  throttlingRateLimit: wholeNumber(1, Number.MAX_SAFE_INTEGER, "requests per second"),
});

/* Beside the schema, so that it is reported together with any other problem. */
function webAclProblems(props: CallbackIngressProps): string[] {
  if (props.kind !== "function-url") return [];
  return (["rateLimitPerFiveMinutes", "allowedCidrs"] as const)
    .filter((prop) => props[prop] !== undefined)
    .map(
      (prop) =>
        `${prop}: takes effect only with kind "api-gateway-waf" (a Function URL has no web ACL); leave it out`,
    );
}
