import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

// As often as the stuck threshold: a stuck picture waits at most about twice it to become retryable.
crons.interval("release stuck pictures", { minutes: 10 }, internal.pictures.recoverStuck, {});
// A replay whose chain broke shows as failed (and resumable) within about 10 minutes.
crons.interval("recover stalled replays", { minutes: 5 }, internal.replays.recoverStalled, {});

// A search for suspect labels whose chain broke is marked failed, so another can start.
crons.interval("recover stalled suspect searches", { minutes: 10 }, internal.suspectSearch.recoverStalled, {});

export default crons;
