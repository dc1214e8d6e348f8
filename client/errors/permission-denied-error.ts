import { TollgateError } from "./tollgate-error.js";

/**
 * The caller is authenticated but may not make this call (PERMISSION_DENIED): an agent key asked
 * for something outside its wallet's subtree (`OUTSIDE_AGENT_SCOPE`, metadata `field`), for a
 * method agent keys may not call (`AGENT_KEY_NOT_ALLOWED`), or for a service it is not bound to
 * (`SERVICE_NOT_ALLOWED`); a credential for another service (`CREDENTIAL_WRONG_SERVICE`) or of a
 * revoked key (`AGENT_KEY_REVOKED`); and the gateway's refusals of a service, method or path its
 * catalog does not forward. Nothing was charged or forwarded. Never retried: the same call fails
 * the same way until the key or the catalog changes.
 */
export class PermissionDeniedError extends TollgateError {
  override name = "PermissionDeniedError";
}
