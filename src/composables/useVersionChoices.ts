import { computed, type ComputedRef } from "vue";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useSessionStore } from "../stores/session";
import { useQuery } from "./useQuery";

export interface VersionChoice {
  versionId: Id<"modelVersions">;
  number: number;
  name: string;
}

/**
 * Model versions to offer in filters. Only admins may list versions, so other
 * roles get an empty list and pages hide the version filter for them.
 */
export function useVersionChoices(): ComputedRef<VersionChoice[]> {
  const session = useSessionStore();
  const versions = useQuery(api.models.listVersions, () => (session.role === "admin" ? {} : "skip"));
  return computed(() =>
    (versions.data.value ?? []).map((version) => ({ versionId: version._id, number: version.number, name: version.name })),
  );
}

export function versionTitle(choice: Pick<VersionChoice, "number" | "name">): string {
  return `v${choice.number} · ${choice.name}`;
}
