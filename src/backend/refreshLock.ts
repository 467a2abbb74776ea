/**
 * Runs `work` while no other tab of this origin runs work under the same lock.
 * Convex Auth refresh tokens are single-use (a reuse after a 10 s grace ends the
 * session everywhere), so tabs must take turns refreshing them.
 */
export type RefreshLock = <Result>(work: () => Promise<Result>) => Promise<Result>;

const lockName = "clipDashboard.authRefresh";

export interface StorageLeaseOptions {
  /** How long a lease holds if its tab dies without releasing it. */
  leaseMs?: number;
  /** How long to wait after writing a lease before trusting it (see below). */
  settleMs?: number;
  retryMs?: number;
  owner?: string;
}

interface Lease {
  owner: string;
  expires: number;
}

function readLease(storage: Storage): Lease | null {
  try {
    const lease = JSON.parse(storage.getItem(lockName) ?? "null") as Partial<Lease> | null;
    return typeof lease?.owner === "string" && typeof lease.expires === "number" ? (lease as Lease) : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A lock for browsers without `navigator.locks`: a lease in localStorage.
 * localStorage has no compare-and-set, so a tab writes its lease, waits a moment
 * for a competing write to land, and holds the lock only if its own lease is
 * still the one stored (the last writer wins). Calls within one tab queue up.
 */
export function storageLeaseLock(storage: Storage, options: StorageLeaseOptions = {}): RefreshLock {
  const { leaseMs = 10_000, settleMs = 30, retryMs = 50 } = options;
  const owner = options.owner ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  let queue: Promise<unknown> = Promise.resolve();

  async function acquire(): Promise<void> {
    for (;;) {
      const held = readLease(storage);
      if (held === null || held.expires <= Date.now() || held.owner === owner) {
        storage.setItem(lockName, JSON.stringify({ owner, expires: Date.now() + leaseMs }));
        await sleep(settleMs);
        if (readLease(storage)?.owner === owner) return;
      }
      await sleep(retryMs);
    }
  }

  function release(): void {
    if (readLease(storage)?.owner === owner) storage.removeItem(lockName);
  }

  return (work) => {
    const run = queue.then(async () => {
      await acquire();
      try {
        return await work();
      } finally {
        release();
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
}

/** `navigator.locks` where the browser has it, else a localStorage lease, else (no storage either) no lock: then no other tab shares the tokens. */
export function browserRefreshLock(): RefreshLock {
  const locks = globalThis.navigator?.locks;
  if (locks) return (work) => locks.request(lockName, work);
  try {
    const storage = globalThis.localStorage;
    if (storage) return storageLeaseLock(storage);
  } catch {
    // Storage is unavailable (privacy mode, sandboxed iframe): fall through.
  }
  return (work) => work();
}
