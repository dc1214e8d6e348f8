/** The label value every pair past the budget is counted under. */
export const otherLabel = "other";

/**
 * A fixed budget of distinct (project, service) label pairs per process. `service` is whatever
 * callers send (1..64 characters of their choosing), so labelling series by it unbounded would let
 * callers grow the scrape, and Prometheus's memory, without limit. The first `max` pairs seen keep
 * their own series for the life of the process; every later new pair is counted under
 * `project="other", service="other"`, so the totals stay right while the series count stays at
 * most `max + 1` per metric. A restart starts a new budget.
 */
export class BoundedLabelPairs {
  private readonly admitted = new Set<string>();

  constructor(
    /** Distinct pairs that get series of their own; 0 puts every pair under "other". */
    readonly max: number,
  ) {}

  /** The labels to count `project` and `service` under. */
  labels(project: string, service: string): { project: string; service: string } {
    // NUL cannot occur in either value (project names are [A-Za-z0-9._-], services are checked
    // strings), so the joined key is unambiguous.
    const key = `${project}\u0000${service}`;
    if (this.admitted.has(key)) return { project, service };
    if (this.admitted.size < this.max) {
      this.admitted.add(key);
      return { project, service };
    }
    return { project: otherLabel, service: otherLabel };
  }

  /** Pairs with series of their own so far. */
  get size(): number {
    return this.admitted.size;
  }
}
