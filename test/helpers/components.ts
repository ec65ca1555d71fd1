/**
 * Components some tests need (Postgres, a container engine, Postgres's own binaries) that a
 * developer's machine may lack. Where one is missing its tests are skipped with a warning that
 * says how to get it; where the run says it must be there (`TRUNKLINE_TEST_REQUIRE`, a comma
 * list of component names or `all`, as `.ci/run` sets for what it started) a missing one fails
 * the run instead, so CI never skips silently what it could have started.
 */
export function missing(component: string, why: string): false {
  const required = (process.env.TRUNKLINE_TEST_REQUIRE ?? "").split(",").map((name) => name.trim());
  if (required.includes("all") || required.includes(component)) {
    throw new Error(`${component} is required (TRUNKLINE_TEST_REQUIRE) but missing: ${why}`);
  }
  console.warn(`${component} tests skipped: ${why}`);
  return false;
}
