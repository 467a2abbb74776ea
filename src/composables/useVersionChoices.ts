import { computed, type ComputedRef } from "vue";
import type { FunctionReturnType } from "convex/server";
import { api } from "../../convex/_generated/api";
import { versionLabel } from "../../convex/lib/versionLabel";
import { useSessionStore } from "../stores/session";
import { useQuery } from "./useQuery";

/** A version as a picker offers it (`models.versionChoices`; `models.listVersions` rows have these fields too). */
export type VersionChoice = FunctionReturnType<typeof api.models.choices>[number];
/** What a version picker needs; the admin's full version list has it too. */
export type VersionOption = Pick<VersionChoice, "_id" | "number" | "name" | "status" | "isActive">;

/**
 * Model versions to offer in filters, for every role (`models.versionChoices`
 * carries only what a picker shows). Empty until they load, and for a user
 * without a role, whom the server would refuse.
 */
export function useVersionChoices(): ComputedRef<VersionChoice[]> {
  const session = useSessionStore();
  const versions = useQuery(api.models.choices, () => (session.role ? {} : "skip"));
  return computed(() => versions.data.value ?? []);
}

/** A version in a picker: its label, and whether it is the active or an archived one. */
export function versionOptionLabel(version: Pick<VersionChoice, "number" | "name"> & Partial<Pick<VersionChoice, "status" | "isActive">>): string {
  const state = version.isActive ? " (active)" : version.status === "archived" ? " (archived)" : "";
  return `${versionLabel(version)}${state}`;
}
