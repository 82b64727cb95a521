import * as z from "zod";

/*
 * The emulator's own model of finAPI's client configuration and of finAPI's server-side rules for
 * PATCH /api/v1/clientConfiguration. It deliberately shares no code with functions/finapi/: the
 * emulator plays finAPI, so the project's own schema is tested against an independent implementation.
 */

export const emulatedEnvironmentSchema = z.enum(["sandbox", "live", "alpha"]);
export type EmulatedEnvironment = z.infer<typeof emulatedEnvironmentSchema>;

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const CALLBACK_URL_MAX_LENGTH = 512;
const SHORTEST_VALIDITY_PERIOD_SECONDS = 60;

const webFormModeSchema = z.enum(["INTERNAL", "EXTERNAL", "DISABLED"]);
const categorySchema = z.object({
  id: z.int(),
  name: z.string(),
  parentId: z.int().nullable(),
  parentName: z.string().nullable(),
  isCustom: z.boolean(),
  children: z.array(z.int()).nullable(),
});

/** finAPI's `ClientConfiguration`: what GET and PATCH /api/v1/clientConfiguration answer. */
export const clientConfigurationSchema = z.object({
  pfmServicesEnabled: z.boolean(),
  isAutomaticBatchUpdateEnabled: z.boolean(),
  isDevelopmentModeEnabled: z.boolean(),
  isNonEuroAccountsSupported: z.boolean(),
  isAutoCategorizationEnabled: z.boolean(),
  mandatorLicense: z.enum(["UNLICENSED", "AISP", "PISP", "FULLY_LICENSED"]),
  preferredConsentType: z.enum(["ONETIME", "RECURRING"]),
  userNotificationCallbackUrl: z.string().nullable(),
  userSynchronizationCallbackUrl: z.string().nullable(),
  refreshTokensValidityPeriod: z.int32(),
  userAccessTokensValidityPeriod: z.int32(),
  clientAccessTokensValidityPeriod: z.int32(),
  maxUserLoginAttempts: z.int32(),
  transactionImportLimitation: z.int32(),
  isUserAutoVerificationEnabled: z.boolean(),
  isMandatorAdmin: z.boolean(),
  isWebScrapingEnabled: z.boolean(),
  isXs2aEnabled: z.boolean(),
  pinStorageAvailableInWebForm: z.boolean(),
  paymentsEnabled: z.boolean(),
  isStandalonePaymentsEnabled: z.boolean(),
  availableBankGroups: z.array(z.string()),
  products: z.array(z.enum(["ACCESS", "DATA_INTELLIGENCE", "WEB_FORM", "GIRO_IDENT"])),
  applicationName: z.string().nullable(),
  finTSProductRegistrationNumber: z.string().nullable(),
  storeSecretsAvailableInWebForm: z.boolean(),
  supportSubjectDefault: z.string().nullable(),
  supportEmail: z.string().nullable(),
  aisWebFormMode: webFormModeSchema,
  pisWebFormMode: webFormModeSchema,
  pisStandaloneWebFormMode: webFormModeSchema,
  betaBanksEnabled: z.boolean(),
  categoryRestrictions: z.array(categorySchema).nullable(),
  autoDismountWebForm: z.boolean(),
  corsAllowedOrigins: z.array(z.string()).nullable(),
});
export type ClientConfiguration = z.infer<typeof clientConfigurationSchema>;

/** The five `ClientConfigurationParams` fields as the seeds define them (what a PATCH body may hold). */
export const clientConfigurationParamsSchema = z.strictObject({
  userNotificationCallbackUrl: z.string().optional(),
  userSynchronizationCallbackUrl: z.string().optional(),
  refreshTokensValidityPeriod: z.number().optional(),
  userAccessTokensValidityPeriod: z.number().optional(),
  clientAccessTokensValidityPeriod: z.number().optional(),
});
export type ClientConfigurationParams = z.infer<typeof clientConfigurationParamsSchema>;

/** The five fields as finAPI stores and reports them: a cleared URL is `null`. */
const storedFieldsSchema = z.strictObject({
  userNotificationCallbackUrl: z.string().nullable(),
  userSynchronizationCallbackUrl: z.string().nullable(),
  refreshTokensValidityPeriod: z.int32(),
  userAccessTokensValidityPeriod: z.int32(),
  clientAccessTokensValidityPeriod: z.int32(),
});
export type StoredFields = z.infer<typeof storedFieldsSchema>;

const storedUrl = z
  .string()
  .nullable()
  .transform((url) => (url === "" ? null : url));

/**
 * A change made to finAPI's state by hand (drift): only the JSON types are checked, not finAPI's
 * rules, so a test can put finAPI into any state it could ever hold. `""` is stored as `null`.
 */
export const driftSchema = storedFieldsSchema
  .extend({ userNotificationCallbackUrl: storedUrl, userSynchronizationCallbackUrl: storedUrl })
  .partial();
export type Drift = z.input<typeof driftSchema>;

/** The configuration with `changes` applied; fields the changes leave out keep their value. */
export function withChanges(
  configuration: ClientConfiguration,
  changes: Partial<StoredFields>,
): ClientConfiguration {
  const defined = Object.entries(changes).filter(([, value]) => value !== undefined);
  return { ...configuration, ...Object.fromEntries(defined) };
}

export type ErrorType = "BUSINESS" | "TECHNICAL";
export interface ValidationError {
  readonly message: string;
  readonly type: ErrorType;
}

/* Rule violations are BUSINESS errors in finAPI; what Jackson refuses to deserialise is TECHNICAL. */
const businessRule = (input: unknown, message: string) => ({
  code: "custom" as const,
  input,
  message,
  params: { errorType: "BUSINESS" satisfies ErrorType },
});

function hasWhitespaceOrControlCharacter(text: string): boolean {
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f || /\s/u.test(character)) return true;
  }
  return false;
}

function isAbsoluteHttpUrl(text: string): boolean {
  if (hasWhitespaceOrControlCharacter(text)) return false;
  const url = URL.parse(text);
  return url !== null && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

/*
 * Messages never quote the offending value: a callback URL can carry a secret in its path, and the
 * caller logs finAPI's error messages.
 */
function callbackUrl(environment: EmulatedEnvironment) {
  return z
    .string({ error: 'must be a string (an absolute http or https URL, or "" to clear it)' })
    .check((payload) => {
      const url = payload.value;
      if (url === "") return;
      if (url.length > CALLBACK_URL_MAX_LENGTH) {
        payload.issues.push(
          businessRule(url, `must not be longer than ${CALLBACK_URL_MAX_LENGTH} characters`),
        );
      }
      if (!isAbsoluteHttpUrl(url)) {
        payload.issues.push(businessRule(url, "is not a valid absolute http or https URL"));
      } else if (environment === "live" && !url.startsWith("https:")) {
        payload.issues.push(businessRule(url, "must be an https URL on the live environment"));
      }
    })
    .nullish();
}

function validityPeriod() {
  return z
    .number({ error: "must be an integer (a JSON number without fraction)" })
    .check((payload) => {
      const seconds = payload.value;
      if (!Number.isInteger(seconds)) {
        payload.issues.push({
          code: "custom",
          input: seconds,
          message: "must be an integer (a JSON number without fraction)",
        });
      } else if (seconds < INT32_MIN || seconds > INT32_MAX) {
        payload.issues.push({ code: "custom", input: seconds, message: "is out of range of int (32-bit)" });
      } else if (seconds !== 0 && seconds < SHORTEST_VALIDITY_PERIOD_SECONDS) {
        payload.issues.push(
          businessRule(seconds, `must be greater than or equal to ${SHORTEST_VALIDITY_PERIOD_SECONDS}, or 0`),
        );
      }
    })
    .nullish();
}

/**
 * finAPI's server-side validation of a PATCH body on `environment`. `null` is what Jackson makes of a
 * field that is not sent, so finAPI leaves such a field unchanged; only `""` clears a URL.
 */
function patchBodySchemaFor(environment: EmulatedEnvironment) {
  return z.strictObject({
    userNotificationCallbackUrl: callbackUrl(environment),
    userSynchronizationCallbackUrl: callbackUrl(environment),
    refreshTokensValidityPeriod: validityPeriod(),
    userAccessTokensValidityPeriod: validityPeriod(),
    clientAccessTokensValidityPeriod: validityPeriod(),
  });
}

const patchBodySchemas = {
  sandbox: patchBodySchemaFor("sandbox"),
  live: patchBodySchemaFor("live"),
  alpha: patchBodySchemaFor("alpha"),
} as const;

export type PatchValidation =
  | { readonly ok: true; readonly changes: Partial<StoredFields> }
  | { readonly ok: false; readonly errors: readonly ValidationError[] };

/** Validates a parsed PATCH body the way finAPI does: every violation, and the changes it asks for. */
export function validatePatch(body: unknown, environment: EmulatedEnvironment): PatchValidation {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      errors: [
        { type: "TECHNICAL", message: "The request body must be a JSON object (ClientConfigurationParams)" },
      ],
    };
  }
  const result = patchBodySchemas[environment].safeParse(body);
  if (!result.success) {
    const errors = result.error.issues.flatMap((issue): ValidationError[] => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({
          type: "TECHNICAL",
          message: `Unrecognized field "${key}" (class ClientConfigurationParams), not marked as ignorable`,
        }));
      }
      const type: ErrorType =
        issue.code === "custom" && issue.params?.errorType === "BUSINESS" ? "BUSINESS" : "TECHNICAL";
      return [{ type, message: `${issue.path.join(".")}: ${issue.message}` }];
    });
    return { ok: false, errors };
  }
  const changes = Object.entries(result.data)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([field, value]) => [field, value === "" ? null : value]);
  return { ok: true, changes: Object.fromEntries(changes) };
}

/** What finAPI reports for a newly registered client: plausible values, one-hour token validity. */
export function initialClientConfiguration(environment: EmulatedEnvironment): ClientConfiguration {
  return {
    pfmServicesEnabled: true,
    isAutomaticBatchUpdateEnabled: false,
    isDevelopmentModeEnabled: environment !== "live",
    isNonEuroAccountsSupported: false,
    isAutoCategorizationEnabled: true,
    mandatorLicense: "UNLICENSED",
    preferredConsentType: "RECURRING",
    userNotificationCallbackUrl: null,
    userSynchronizationCallbackUrl: null,
    refreshTokensValidityPeriod: 3600,
    userAccessTokensValidityPeriod: 3600,
    clientAccessTokensValidityPeriod: 3600,
    maxUserLoginAttempts: 3,
    transactionImportLimitation: 0,
    isUserAutoVerificationEnabled: true,
    isMandatorAdmin: false,
    isWebScrapingEnabled: false,
    isXs2aEnabled: true,
    pinStorageAvailableInWebForm: true,
    paymentsEnabled: true,
    isStandalonePaymentsEnabled: environment !== "live",
    availableBankGroups: ["DE", "AT"],
    products: ["ACCESS"],
    applicationName: null,
    finTSProductRegistrationNumber: null,
    storeSecretsAvailableInWebForm: true,
    supportSubjectDefault: null,
    supportEmail: null,
    aisWebFormMode: "EXTERNAL",
    pisWebFormMode: "EXTERNAL",
    pisStandaloneWebFormMode: "EXTERNAL",
    betaBanksEnabled: false,
    categoryRestrictions: null,
    autoDismountWebForm: true,
    corsAllowedOrigins: [],
  };
}
