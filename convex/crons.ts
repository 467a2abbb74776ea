import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

// Every 10 minutes, the same as the stuck threshold: a stuck picture waits at most about 20 minutes to become retryable.
crons.interval("release stuck classifications", { minutes: 10 }, internal.imageClassification.recoverStuck, {});

export default crons;
