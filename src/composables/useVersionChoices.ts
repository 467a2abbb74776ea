import { computed, type ComputedRef } from "vue";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { versionLabel } from "../../convex/lib/versionLabel";
import { useSessionStore } from "../stores/session";
import { useQuery } from "./useQuery";

export interface VersionChoice {
  versionId: Id<"modelVersions">;
  number: number;
  name: string;
  status: "ready" | "archived";
  isActive: boolean;
}

/**
 * Model versions to offer in filters, for every role (`models.versionChoices`
 * carries only what a picker shows). Empty until they load, and for a user
 * without a role, whom the server would refuse.
 */
export function useVersionChoices(): ComputedRef<VersionChoice[]> {
  const session = useSessionStore();
  const versions = useQuery(api.models.versionChoices, () => (session.role ? {} : "skip"));
  return computed(() =>
    (versions.data.value ?? []).map((version) => ({
      versionId: version._id,
      number: version.number,
      name: version.name,
      status: version.status,
      isActive: version.isActive,
    })),
  );
}

/** A version in a picker: its label, and whether it is the active or an archived one. */
export function versionOptionLabel(version: Pick<VersionChoice, "number" | "name" | "status" | "isActive">): string {
  const state = version.isActive ? " (active)" : version.status === "archived" ? " (archived)" : "";
  return `${versionLabel(version)}${state}`;
}
