/**
 * Module resolve hook for isolation.test.ts: every package named in TOLLGATE_HIDDEN_PACKAGES
 * (a JSON array) fails to resolve as if it were not installed, subpaths included.
 */
const hidden = JSON.parse(process.env.TOLLGATE_HIDDEN_PACKAGES ?? "[]");

export async function resolve(specifier, context, next) {
  if (hidden.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
    const error = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}
