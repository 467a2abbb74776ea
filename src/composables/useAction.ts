import type { FunctionArgs, FunctionReference, FunctionReturnType } from "convex/server";
import { useBackend } from "../backend/backendClient";

/** Returns a function that runs the action through the injected backend. */
export function useAction<Action extends FunctionReference<"action">>(
  action: Action,
): (args: FunctionArgs<Action>) => Promise<Awaited<FunctionReturnType<Action>>> {
  const backend = useBackend();
  return (args) => backend.action(action, args);
}
