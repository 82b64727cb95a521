/** The budgets of issue 7: `npm run bench` prints each figure against them; the bundle size is also a test. */
export const BUDGETS = {
  bundleBytes: 400 * 1024,
  coldImportOverheadMs: 60,
  inSyncCallsPerClient: 1,
  hundredClientsMs: 2_000,
  /** 1,000 clients' scheduled reconcile, in sync and first run, against its ideal (issue 16). */
  thousandClientsOverIdeal: 1.2,
  /** Parameter Store calls per client when a run reads every document: GetParameters, 10 names a call. */
  parameterReadsPerClient: 0.1,
} as const;
