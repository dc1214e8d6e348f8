/**
 * Every page of a paged listing. The monitor shows whole lists (a run's wallets, the project's
 * runs), and each server page is bounded, so it asks page after page.
 */
export async function readAllPages<T>(
  page: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
  limit = 10_000,
): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const { items, nextPageToken } = await page(token);
    all.push(...items);
    token = nextPageToken;
  } while (token !== "" && all.length < limit);
  return all;
}
