import { onScopeDispose, ref, shallowRef, toValue, watch, type MaybeRefOrGetter, type Ref, type ShallowRef } from "vue";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "convex/server";
import { convexToJson, type Value } from "convex/values";
import { useBackend, type Unsubscribe } from "../backend/backendClient";

export type QueryArgsSource<Query extends FunctionReference<"query">> = MaybeRefOrGetter<FunctionArgs<Query> | "skip">;

export interface QueryState<Result> {
  /** Latest result. Kept while new arguments load, so filtered views do not flash empty. */
  data: ShallowRef<Result | undefined>;
  error: ShallowRef<Error | undefined>;
  /** True until the first result (or error) for the current arguments arrives. */
  isLoading: Ref<boolean>;
}

/**
 * A live Convex query: subscribes while the calling scope lives, resubscribes when the
 * arguments change (compared by value), and stays idle while the arguments are "skip".
 */
export function useQuery<Query extends FunctionReference<"query">>(
  query: Query,
  args: QueryArgsSource<Query>,
): QueryState<FunctionReturnType<Query>> {
  const backend = useBackend();
  const data = shallowRef<FunctionReturnType<Query>>();
  const error = shallowRef<Error>();
  const isLoading = ref(true);
  let unsubscribe: Unsubscribe | undefined;

  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };

  // Serialising the arguments makes a getter that builds a fresh object on every run
  // resubscribe only when a value actually changed.
  const argsKey = () => {
    const value = toValue(args);
    return value === "skip" ? "skip" : JSON.stringify(convexToJson(value as Value));
  };

  watch(
    argsKey,
    (key) => {
      stop();
      if (key === "skip") {
        isLoading.value = false;
        return;
      }
      const current = toValue(args) as FunctionArgs<Query>;
      isLoading.value = true;
      // Guards against a late callback from a subscription that was replaced in the meantime.
      let active = true;
      const unsubscribeCurrent = backend.onUpdate(
        query,
        current,
        (result) => {
          if (!active) return;
          data.value = result;
          error.value = undefined;
          isLoading.value = false;
        },
        (failure) => {
          if (!active) return;
          error.value = failure;
          isLoading.value = false;
        },
      );
      unsubscribe = () => {
        active = false;
        unsubscribeCurrent();
      };
    },
    { immediate: true },
  );

  onScopeDispose(stop);
  return { data, error, isLoading };
}

/**
 * The query's current result once it has one, or its error: for code that needs a
 * value at one moment (an upload reading the privacy mode) rather than a live view.
 */
export function untilLoaded<Result>(state: QueryState<Result>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const settle = (): boolean => {
      if (state.isLoading.value) return false;
      if (state.error.value) reject(state.error.value);
      else if (state.data.value !== undefined) resolve(state.data.value);
      else return false;
      return true;
    };
    if (settle()) return;
    const stop = watch([state.data, state.error, state.isLoading], () => {
      if (settle()) stop();
    });
  });
}
