/** The PRNG lives in convex/lib (pure, shared with Convex functions); tools keep importing it from here. */
export { seededRandom } from "../convex/lib/seededRandom.ts";
