import { getFunctionName, type FunctionReference } from "convex/server";
import type { AuthTokenFetcher, BackendClient } from "../../src/backend/backendClient";

type Handler = (args: any) => unknown;

interface Subscription {
  name: string;
  args: any;
  callback: (result: any) => unknown;
  onError?: (error: Error) => unknown;
  active: boolean;
}

export interface RecordedCall {
  kind: "query" | "mutation" | "action" | "upload";
  name: string;
  args: any;
}

/**
 * An in-memory BackendClient for component tests. Handlers are keyed by Convex
 * function name ("pictures:list"); live subscriptions re-run after every mutation
 * or action, like Convex's reactive queries. A query without a handler fails, so a
 * test notices when a page calls something it did not expect.
 */
export class FakeBackend implements BackendClient {
  readonly handlers = new Map<string, Handler>();
  readonly calls: RecordedCall[] = [];
  readonly subscriptions: Subscription[] = [];
  readonly uploads: Blob[] = [];
  authFetcher: AuthTokenFetcher | null = null;

  /** Registers a handler; a non-function is returned as is. */
  on(name: string, handler: Handler | unknown): this {
    this.handlers.set(name, typeof handler === "function" ? (handler as Handler) : () => handler);
    return this;
  }

  activeSubscriptions(name?: string): Subscription[] {
    return this.subscriptions.filter((s) => s.active && (name === undefined || s.name === name));
  }

  callsTo(name: string): RecordedCall[] {
    return this.calls.filter((call) => call.name === name);
  }

  private async run(name: string, args: unknown): Promise<any> {
    const handler = this.handlers.get(name);
    if (!handler) throw new Error(`FakeBackend: no handler for ${name}`);
    return handler(args);
  }

  private deliver(subscription: Subscription): void {
    this.run(subscription.name, subscription.args).then(
      (result) => {
        if (subscription.active) subscription.callback(result);
      },
      (error: Error) => {
        if (subscription.active) subscription.onError?.(error);
      },
    );
  }

  /** Re-runs every live query, as Convex does after a write. */
  refresh(): void {
    for (const subscription of this.activeSubscriptions()) this.deliver(subscription);
  }

  onUpdate(query: FunctionReference<"query">, args: any, callback: (result: any) => unknown, onError?: (error: Error) => unknown) {
    const subscription: Subscription = { name: getFunctionName(query), args, callback, onError, active: true };
    this.subscriptions.push(subscription);
    this.deliver(subscription);
    return () => {
      subscription.active = false;
    };
  }

  async query(query: FunctionReference<"query">, args: any): Promise<any> {
    const name = getFunctionName(query);
    this.calls.push({ kind: "query", name, args });
    return this.run(name, args);
  }

  async mutation(mutation: FunctionReference<"mutation">, args: any): Promise<any> {
    const name = getFunctionName(mutation);
    this.calls.push({ kind: "mutation", name, args });
    try {
      return await this.run(name, args);
    } finally {
      this.refresh();
    }
  }

  async action(action: FunctionReference<"action">, args: any): Promise<any> {
    const name = getFunctionName(action);
    this.calls.push({ kind: "action", name, args });
    try {
      return await this.run(name, args);
    } finally {
      this.refresh();
    }
  }

  setAuth(fetchToken: AuthTokenFetcher): void {
    this.authFetcher = fetchToken;
  }

  clearAuth(): void {
    this.authFetcher = null;
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.active = false;
  }

  async uploadFile(uploadUrl: string, blob: Blob): Promise<string> {
    this.calls.push({ kind: "upload", name: uploadUrl, args: blob });
    this.uploads.push(blob);
    return this.run(`upload:${uploadUrl}`, blob).catch((error: Error) => {
      if (error.message.startsWith("FakeBackend: no handler")) return `storage-${this.uploads.length}`;
      throw error;
    });
  }
}
