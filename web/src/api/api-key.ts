/**
 * The API key typed into the page. sessionStorage only: it lives as long as the tab and is never
 * written to disk the way localStorage or a cookie would be, nor sent anywhere but this server.
 */
const storageKey = "tollgate.apiKey";

export function savedApiKey(): string | undefined {
  return sessionStorage.getItem(storageKey) ?? undefined;
}

export function saveApiKey(apiKey: string): void {
  sessionStorage.setItem(storageKey, apiKey);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(storageKey);
}
