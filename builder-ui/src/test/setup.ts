import { configure } from "@testing-library/react";

// findBy… and waitFor wait up to 5 s rather than 1 s: lazily loaded screens
// took longer than a second to appear on a loaded 2-core machine. Tests
// assert what appears, not how fast.
configure({ asyncUtilTimeout: 5000 });
