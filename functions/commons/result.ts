/**
 * The one shape of a result that can fail without throwing: `ok` tells the two apart, a success
 * carries `value`, a failure its own named fields (`reason`, `problem`, `violations`), so that a
 * caller reads what went wrong by what it is.
 */
export type Result<Value, Failure extends object> =
  | { readonly ok: true; readonly value: Value }
  | ({ readonly ok: false } & { readonly [Field in keyof Failure]: Failure[Field] });
