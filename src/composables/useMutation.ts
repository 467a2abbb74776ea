import type { FunctionArgs, FunctionReference, FunctionReturnType } from "convex/server";
import { useBackend } from "../backend/backendClient";

/** Returns a function that runs the mutation through the injected backend. */
export function useMutation<Mutation extends FunctionReference<"mutation">>(
  mutation: Mutation,
): (args: FunctionArgs<Mutation>) => Promise<Awaited<FunctionReturnType<Mutation>>> {
  const backend = useBackend();
  return (args) => backend.mutation(mutation, args);
}
