import { describe, expect, it } from "vitest";
import { SweepSchedule } from "../../../server/store/memory/sweep-schedule.js";

describe("SweepSchedule", () => {
  it("takes due trees earliest first, keeps each tree's earliest time, skips what was taken", () => {
    const schedule = new SweepSchedule();
    for (let i = 0; i < 50; i++) schedule.schedule(`t${i}`, 1000 + ((i * 37) % 50));
    // Rescheduling later changes nothing; earlier moves it up.
    schedule.schedule("t0", 5000);
    schedule.schedule("t49", 1);
    expect(schedule.takeDue(0, 10)).toEqual([]);
    expect(schedule.takeDue(1000, 3)).toEqual(["t49", "t0"]);
    const rest = schedule.takeDue(10_000, 100);
    expect(rest).toHaveLength(48);
    expect(new Set(rest).size).toBe(48);
    expect(schedule.takeDue(10_000, 100)).toEqual([]);
    // A taken tree can be scheduled again.
    schedule.schedule("t0", 20);
    expect(schedule.takeDue(20, 5)).toEqual(["t0"]);
  });
});
