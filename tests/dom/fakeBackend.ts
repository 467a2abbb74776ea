import { getFunctionName, type FunctionArgs, type FunctionReference, type FunctionReturnType } from "convex/server";
import type { Id, TableNames } from "../../convex/_generated/dataModel";
import type { AuthTokenFetcher, BackendClient } from "../../src/backend/backendClient";

type FunctionKind = "query" | "mutation" | "action";
type AnyFunction = FunctionReference<FunctionKind>;

/**
 * A stand-in for one server function, typed by its reference (as convex-helpers'
 * ConvexReactClientFake does): it takes the function's arguments and must return
 * its return type, so a fake whose shape drifts from the server fails the typecheck.
 */
export type Fake<Function extends AnyFunction> = (
  args: FunctionArgs<Function>,
) => FunctionReturnType<Function> | Promise<FunctionReturnType<Function>>;

type StoredFake = (args: unknown) => unknown;

interface Subscription<Query extends FunctionReference<"query"> = FunctionReference<"query">> {
  name: string;
  args: FunctionArgs<Query>;
  callback: (result: FunctionReturnType<Query>) => unknown;
  onError?: (error: Error) => unknown;
  active: boolean;
}

export interface RecordedCall<Function extends AnyFunction = AnyFunction> {
  kind: FunctionKind;
  name: string;
  args: FunctionArgs<Function>;
}

export interface RecordedUpload {
  kind: "upload";
  name: string;
  args: Blob;
}

/** A document id as Convex prints it ("pictures:1"), typed for the table. */
export function fakeId<TableName extends TableNames>(table: TableName, key: number | string): Id<TableName> {
  return `${table}:${key}` as Id<TableName>;
}

/**
 * An in-memory BackendClient for component tests. Fakes are registered by function
 * reference (`on(api.pictures.list, …)`); live subscriptions re-run after every
 * mutation or action, like Convex's reactive queries. A call without a fake fails,
 * so a test notices when a page calls something it did not expect.
 */
export class FakeBackend implements BackendClient {
  private readonly fakes = new Map<string, StoredFake>();
  private uploadFake: (uploadUrl: string, blob: Blob) => string | Promise<string> = () => `storage-${this.uploads.length}`;
  /** Every call and upload, in order (an upload's name is its URL). */
  readonly calls: Array<RecordedCall | RecordedUpload> = [];
  readonly subscriptions: Subscription[] = [];
  readonly uploads: Blob[] = [];
  authFetcher: AuthTokenFetcher | null = null;

  /** Registers a fake for `fn`: a function of its arguments, or the value it always returns. */
  on<Function extends AnyFunction>(fn: Function, fake: NoInfer<Fake<Function>>): this;
  on<Function extends AnyFunction>(fn: Function, value: NoInfer<FunctionReturnType<Function>>): this;
  on<Function extends AnyFunction>(fn: Function, fake: Fake<Function> | FunctionReturnType<Function>): this {
    this.fakes.set(getFunctionName(fn), typeof fake === "function" ? (fake as StoredFake) : () => fake);
    return this;
  }

  /** Decides what each upload answers (default: a fresh storage id); throw to fail it. */
  onUpload(fake: (uploadUrl: string, blob: Blob) => string | Promise<string>): this {
    this.uploadFake = fake;
    return this;
  }

  activeSubscriptions<Query extends FunctionReference<"query">>(query?: Query): Array<Subscription<Query>> {
    const name = query === undefined ? undefined : getFunctionName(query);
    return this.subscriptions.filter((s) => s.active && (name === undefined || s.name === name)) as unknown as Array<Subscription<Query>>;
  }

  callsTo<Function extends AnyFunction>(fn: Function): Array<RecordedCall<Function>> {
    const name = getFunctionName(fn);
    return this.calls.filter((call): call is RecordedCall => call.kind !== "upload" && call.name === name) as Array<RecordedCall<Function>>;
  }

  private async run(name: string, args: unknown): Promise<never> {
    const fake = this.fakes.get(name);
    if (!fake) throw new Error(`FakeBackend: no fake for ${name}`);
    return (await fake(args)) as never;
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

  onUpdate<Query extends FunctionReference<"query">>(
    query: Query,
    args: FunctionArgs<Query>,
    callback: (result: FunctionReturnType<Query>) => unknown,
    onError?: (error: Error) => unknown,
  ) {
    const subscription: Subscription<Query> = { name: getFunctionName(query), args, callback, onError, active: true };
    this.subscriptions.push(subscription as unknown as Subscription);
    this.deliver(subscription as unknown as Subscription);
    return () => {
      subscription.active = false;
    };
  }

  private record(kind: FunctionKind, fn: AnyFunction, args: unknown): string {
    const name = getFunctionName(fn);
    this.calls.push({ kind, name, args: args as never });
    return name;
  }

  async query<Query extends FunctionReference<"query">>(query: Query, args: FunctionArgs<Query>) {
    return this.run(this.record("query", query, args), args);
  }

  async mutation<Mutation extends FunctionReference<"mutation">>(mutation: Mutation, args: FunctionArgs<Mutation>) {
    try {
      return await this.run(this.record("mutation", mutation, args), args);
    } finally {
      this.refresh();
    }
  }

  async action<Action extends FunctionReference<"action">>(action: Action, args: FunctionArgs<Action>) {
    try {
      return await this.run(this.record("action", action, args), args);
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
    return this.uploadFake(uploadUrl, blob);
  }
}
