/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The production build is committed and embedded in the Go binary
// (builder-ui/embed.go), so it must be reproducible: content hashes only, no
// source maps, no absolute paths.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `npm run dev` next to `go run ./cmd/forma serve` (default 127.0.0.1:8090).
    proxy: { "/api": "http://127.0.0.1:8090" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    // Datetime tests convert between local time and RFC 3339: pin the zone.
    env: { TZ: "Asia/Shanghai" },
    // The designer's drag tests render the whole designer; on a loaded
    // 2-core machine one took over vitest's default 5 s. They assert
    // behaviour, not speed.
    testTimeout: 20000,
    setupFiles: ["src/test/setup.ts"],
  },
});
