export type { CallbackDelivery } from "./callbacks.ts";
export type {
  ClientConfiguration,
  ClientConfigurationParams,
  Drift,
  EmulatedEnvironment,
} from "./client-configuration.ts";
export type {
  EmulatedClientSpec,
  Fault,
  FinapiEmulator,
  FinapiEmulatorOptions,
  RecordedRequest,
} from "./contract.ts";
export { startFinapiEmulator } from "./server.ts";
export type { EmulatedUserSpec, FinapiUser, UserIdentifiersList } from "./users.ts";
