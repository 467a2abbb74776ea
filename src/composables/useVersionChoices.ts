import { computed, type ComputedRef } from "vue";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
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
  const versions = useQuery(api.models.choices, () => (session.role ? {} : "skip"));
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

export function versionTitle(choice: Pick<VersionChoice, "number" | "name">): string {
  return `v${choice.number} · ${choice.name}`;
}
