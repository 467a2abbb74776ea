/**
 * What a call read, per top-level transaction, from convex-test's own
 * bookkeeping: the TransactionMetricsTracker that enforces Convex's limits
 * also counts every document and byte read. A tracker is made per top-level
 * transaction and its root layer ends in commit (a mutation) or rollback (a
 * query always, a failed mutation); the root layer's metrics at that moment
 * are the transaction's. An action has no transaction of its own: each
 * ctx.runQuery / ctx.runMutation in it is one, and so is every scheduled
 * function run meanwhile.
 *
 * vitest inlines convex-test (server.deps.inline), so this import is the
 * module instance convex-test itself uses.
 */
import { TransactionMetricsTracker } from "convex-test/dist/transactionMetrics.js";

export interface TransactionReads {
  documentsRead: number;
  bytesRead: number;
  databaseQueries: number;
  documentsWritten: number;
  bytesWritten: number;
  /** Queries always end in rollback under convex-test; mutations in commit unless they threw. */
  ended: "commit" | "rollback";
}

export interface CallReads {
  transactions: TransactionReads[];
  /** Sums over the transactions. */
  total: { documentsRead: number; bytesRead: number };
  /** The largest of each figure over the transactions (possibly from different ones): what meets Convex's per-transaction limits. */
  largest: { documentsRead: number; bytesRead: number };
}

type Tracker = TransactionMetricsTracker;
const prototype = TransactionMetricsTracker.prototype;

let measuring = false;

/** Sum and largest over the transactions, e.g. over some of a call's. */
export function summarizeTransactions(transactions: TransactionReads[]): CallReads {
  const sum = (key: "documentsRead" | "bytesRead") => transactions.reduce((total, transaction) => total + transaction[key], 0);
  const max = (key: "documentsRead" | "bytesRead") => transactions.reduce((largest, transaction) => Math.max(largest, transaction[key]), 0);
  return {
    transactions,
    total: { documentsRead: sum("documentsRead"), bytesRead: sum("bytesRead") },
    largest: { documentsRead: max("documentsRead"), bytesRead: max("bytesRead") },
  };
}

/**
 * Runs `call` and returns its result with every top-level transaction that
 * ended meanwhile. The tracker's methods are wrapped only for the call and
 * restored afterwards, also when it throws; calls cannot overlap.
 */
export async function readsOf<T>(call: () => Promise<T>): Promise<{ result: T; reads: CallReads }> {
  if (measuring) throw new Error("readsOf: another call is already being measured; measure one call at a time.");
  const original = { startTransaction: prototype.startTransaction, commit: prototype.commit, rollback: prototype.rollback };
  // Layers open per tracker: depth 1 is the top-level transaction, deeper ones are nested runQuery/runMutation calls inside it.
  const depth = new WeakMap<Tracker, number>();
  const transactions: TransactionReads[] = [];
  const ending = (ended: TransactionReads["ended"], end: () => void) =>
    function (this: Tracker) {
      const open = depth.get(this) ?? 0;
      if (open === 1) {
        const metrics = this.getTransactionMetrics();
        transactions.push({
          documentsRead: metrics.documentsRead.used,
          bytesRead: metrics.bytesRead.used,
          databaseQueries: metrics.databaseQueries.used,
          documentsWritten: metrics.documentsWritten.used,
          bytesWritten: metrics.bytesWritten.used,
          ended,
        });
      }
      depth.set(this, open - 1);
      end.call(this);
    };
  prototype.startTransaction = function (this: Tracker, limits) {
    depth.set(this, (depth.get(this) ?? 0) + 1);
    original.startTransaction.call(this, limits);
  };
  prototype.commit = ending("commit", original.commit);
  prototype.rollback = ending("rollback", original.rollback);
  measuring = true;
  try {
    const result = await call();
    return { result, reads: summarizeTransactions(transactions) };
  } finally {
    Object.assign(prototype, original);
    measuring = false;
  }
}
