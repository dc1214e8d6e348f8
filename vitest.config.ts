import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Real servers and a real Redis: give slow shared machines room, but never hide a hang.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
