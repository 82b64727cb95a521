/**
 * The SDK client settings for talking to one local stand-in directly: its endpoint, dummy credentials,
 * and a single attempt so that an error the stand-in was told to serve reaches the test unretried.
 */
export function standInClientConfig(endpoint: string) {
  return {
    endpoint,
    region: "eu-central-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  };
}
