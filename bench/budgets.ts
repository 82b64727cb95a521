/** The budgets of issue 7: `npm run bench` prints each figure against them; the bundle size is also a test. */
export const BUDGETS = {
  bundleBytes: 400 * 1024,
  coldImportOverheadMs: 60,
  inSyncCallsPerClient: 1,
  hundredClientsMs: 2_000,
} as const;
