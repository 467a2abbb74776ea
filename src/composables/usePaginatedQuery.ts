import { computed, onScopeDispose, ref, shallowReactive, shallowRef, toValue, watch, type ComputedRef, type MaybeRefOrGetter, type ShallowRef } from "vue";
import type { FunctionArgs, FunctionReference, FunctionReturnType, PaginationOptions, PaginationResult } from "convex/server";
import { ConvexError, convexToJson, type Value } from "convex/values";
import { useBackend, type BackendClient, type Unsubscribe } from "../backend/backendClient";

/** A public query that takes `paginationOpts` and returns one page (`ctx.db.query(...).paginate(...)`). */
export type PaginatedQueryReference = FunctionReference<"query", "public", { paginationOpts: PaginationOptions }, PaginationResult<unknown>>;
export type PaginatedQueryArgs<Query extends PaginatedQueryReference> = Omit<FunctionArgs<Query>, "paginationOpts">;
export type PaginatedQueryItem<Query extends PaginatedQueryReference> = FunctionReturnType<Query>["page"][number];

type PageOptions = PaginationOptions & { id: number };
type PageResult = PaginationResult<unknown> | Error;

/**
 * The server pages behind what is shown, as in convex/react's usePaginatedQuery:
 * `pageKeys` in list order, each with its `paginationOpts`; a page being split
 * stays in the list until both halves have answered.
 */
interface PagingState {
  /** Sent as paginationOpts.id so each session gets fresh subscriptions (and a fresh start after InvalidCursor). */
  id: number;
  nextKey: number;
  pageKeys: number[];
  pages: ReadonlyMap<number, PageOptions>;
  splits: ReadonlyMap<number, readonly [number, number]>;
}

type ListStatus = "loading" | "canLoadMore" | "exhausted" | "error" | "skipped";

export interface PaginatedQuery<Item> {
  /** The rows of the current page; kept while the first page for new arguments loads. */
  rows: ShallowRef<Item[]>;
  /** 1-based. */
  pageNumber: ComputedRef<number>;
  hasPrevious: ComputedRef<boolean>;
  /** True only when a row after this page is loaded, so Next never leads to an empty page. */
  hasNext: ComputedRef<boolean>;
  /** True while this page may still gain rows (a page is loading or being split). */
  isLoading: ComputedRef<boolean>;
  error: ComputedRef<Error | undefined>;
  next(): void;
  previous(): void;
}

let lastPagingId = 0;

function initialState(skip: boolean, pageSize: number): PagingState {
  const id = ++lastPagingId;
  return {
    id,
    nextKey: 1,
    pageKeys: skip ? [] : [0],
    pages: skip ? new Map() : new Map([[0, { numItems: pageSize, cursor: null, id }]]),
    splits: new Map(),
  };
}

/** Replaces page `key`, the range (cursor, continueCursor], by (cursor, splitCursor] and (splitCursor, continueCursor]. */
function splitPage(state: PagingState, key: number, splitCursor: string, continueCursor: string): PagingState {
  const options = state.pages.get(key)!;
  const first = state.nextKey;
  const second = state.nextKey + 1;
  const pages = new Map(state.pages);
  pages.set(first, { ...options, endCursor: splitCursor });
  pages.set(second, { ...options, cursor: splitCursor, endCursor: continueCursor });
  return { ...state, nextKey: state.nextKey + 2, pages, splits: new Map(state.splits).set(key, [first, second]) };
}

function completeSplit(state: PagingState, key: number): PagingState {
  const halves = state.splits.get(key)!;
  const pages = new Map(state.pages);
  pages.delete(key);
  const splits = new Map(state.splits);
  splits.delete(key);
  const pageKeys = state.pageKeys.flatMap((pageKey) => (pageKey === key ? [...halves] : [pageKey]));
  return { ...state, pages, splits, pageKeys };
}

function appendPage(state: PagingState, cursor: string, numItems: number): PagingState {
  const key = state.nextKey;
  return {
    ...state,
    nextKey: key + 1,
    pageKeys: [...state.pageKeys, key],
    pages: new Map(state.pages).set(key, { numItems, cursor, id: state.id }),
  };
}

/** The cursor no longer matches the query (the data it depended on changed): Convex's client starts over. */
function isInvalidCursor(error: Error): boolean {
  if (error.message.includes("InvalidCursor")) return true;
  const data: unknown = error instanceof ConvexError ? error.data : undefined;
  return typeof data === "object" && data !== null && (data as { paginationError?: unknown }).paginationError === "InvalidCursor";
}

/**
 * A paginated Convex query shown one page at a time, with Previous and Next.
 *
 * Pages are loaded the way convex/react's usePaginatedQuery loads them: one list of
 * server pages, each continuing at the previous one's `continueCursor`, so a row
 * is never shown twice or skipped. A page the server could not read completely
 * (`pageStatus: "SplitRequired"`) is split at its `splitCursor` into two pages
 * with fixed ends, and rows from it on are held back until both halves answer.
 * A page shorter than the page size (or empty) while more rows may match is
 * topped up from the next server page, so "nothing matches" is only said when
 * the server says the list is done.
 */
export function usePaginatedQuery<Query extends PaginatedQueryReference>(
  query: Query,
  args: MaybeRefOrGetter<PaginatedQueryArgs<Query> | "skip">,
  options: { pageSize: number },
): PaginatedQuery<PaginatedQueryItem<Query>> {
  type Item = PaginatedQueryItem<Query>;
  const backend: BackendClient = useBackend();
  const { pageSize } = options;

  const argsKey = () => {
    const value = toValue(args);
    return value === "skip" ? "skip" : JSON.stringify(convexToJson(value as Value));
  };
  const state = shallowRef<PagingState>(initialState(true, pageSize));
  const results = shallowReactive(new Map<number, PageResult>());
  const subscriptions = new Map<number, Unsubscribe>();
  const pageIndex = ref(0);

  function subscribe(key: number, pageOptions: PageOptions): void {
    const current = toValue(args);
    if (current === "skip") return;
    let active = true;
    const stop = backend.onUpdate(
      query,
      { ...current, paginationOpts: pageOptions } as FunctionArgs<Query>,
      (result) => {
        if (!active) return;
        results.set(key, result as PaginationResult<unknown>);
        reconcile();
      },
      (failure) => {
        if (!active) return;
        results.set(key, failure);
        reconcile();
      },
    );
    subscriptions.set(key, () => {
      active = false;
      stop();
    });
  }

  /** Subscribes to every page in the state and drops the subscriptions (and results) of pages no longer in it. */
  function setState(next: PagingState): void {
    state.value = next;
    for (const [key, unsubscribe] of subscriptions) {
      if (next.pages.has(key)) continue;
      unsubscribe();
      subscriptions.delete(key);
      results.delete(key);
    }
    for (const [key, pageOptions] of next.pages) {
      if (!subscriptions.has(key)) subscribe(key, pageOptions);
      // A client that answers synchronously may have moved the state on already.
      if (state.value !== next) return;
    }
  }

  function reset(): void {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
    results.clear();
    pageIndex.value = 0;
    setState(initialState(argsKey() === "skip", pageSize));
  }

  const list = computed(() => {
    const { pageKeys } = state.value;
    const items: Item[] = [];
    if (pageKeys.length === 0) return { items, status: "skipped" as ListStatus, error: undefined };
    let last: PaginationResult<unknown> | undefined;
    for (const key of pageKeys) {
      const result = results.get(key);
      if (result === undefined) return { items, status: "loading" as ListStatus, error: undefined };
      if (result instanceof Error) {
        return isInvalidCursor(result)
          ? { items: [], status: "loading" as ListStatus, error: undefined }
          : { items, status: "error" as ListStatus, error: result };
      }
      // The server could not read this page completely: what follows waits for its halves.
      if (result.pageStatus === "SplitRequired") return { items, status: "loading" as ListStatus, error: undefined };
      items.push(...(result.page as Item[]));
      last = result;
    }
    return { items, status: (last!.isDone ? "exhausted" : "canLoadMore") as ListStatus, error: undefined };
  });

  /** One state transition for the pages' latest results, or null when none is due. */
  function nextTransition(current: PagingState): PagingState | "reset" | null {
    for (const key of current.pageKeys) {
      const result = results.get(key);
      if (result === undefined) return null;
      if (result instanceof Error) return isInvalidCursor(result) ? "reset" : null;
      const halves = current.splits.get(key);
      if (halves !== undefined) {
        if (results.has(halves[0]) && results.has(halves[1])) return completeSplit(current, key);
      } else if (
        result.splitCursor &&
        (result.pageStatus === "SplitRecommended" || result.pageStatus === "SplitRequired" || result.page.length > current.pages.get(key)!.numItems * 2)
      ) {
        return splitPage(current, key, result.splitCursor, result.continueCursor);
      }
      if (result.pageStatus === "SplitRequired") return null;
    }
    return null;
  }

  /** Loads server pages until one row past the current page is known, or the list is done. */
  function fill(): void {
    const { items, status } = list.value;
    const end = (pageIndex.value + 1) * pageSize;
    if (status === "canLoadMore" && items.length <= end) {
      const lastKey = state.value.pageKeys[state.value.pageKeys.length - 1];
      const last = results.get(lastKey) as PaginationResult<unknown>;
      setState(appendPage(state.value, last.continueCursor, pageSize));
    } else if (status === "exhausted" && pageIndex.value > 0 && items.length <= pageIndex.value * pageSize) {
      // Rows were removed under the user: show the last page that still has any.
      pageIndex.value = Math.max(0, Math.ceil(items.length / pageSize) - 1);
    }
  }

  function reconcile(): void {
    for (let transition = nextTransition(state.value); transition !== null; transition = nextTransition(state.value)) {
      if (transition === "reset") {
        reset();
        return;
      }
      setState(transition);
    }
    fill();
  }

  watch(argsKey, reset, { immediate: true });
  onScopeDispose(() => {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  });

  const pageStart = computed(() => pageIndex.value * pageSize);
  const windowRows = computed(() => list.value.items.slice(pageStart.value, pageStart.value + pageSize));
  const isLoading = computed(() => {
    const { items, status } = list.value;
    return (status === "loading" || status === "canLoadMore") && items.length <= pageStart.value + pageSize;
  });
  const rows = shallowRef<Item[]>([]);
  watch(
    [windowRows, isLoading],
    ([current, loading]) => {
      if (current.length > 0 || !loading) rows.value = current;
    },
    { immediate: true },
  );

  return {
    rows,
    pageNumber: computed(() => pageIndex.value + 1),
    hasPrevious: computed(() => pageIndex.value > 0),
    hasNext: computed(() => list.value.items.length > pageStart.value + pageSize),
    isLoading,
    error: computed(() => list.value.error),
    next() {
      if (list.value.items.length <= pageStart.value + pageSize) return;
      pageIndex.value += 1;
      fill();
    },
    previous() {
      if (pageIndex.value > 0) pageIndex.value -= 1;
    },
  };
}
