/**
 * Whether an activation goes ahead, given the promotion gate's verdict:
 * the pure decision behind deployment.activate, so every branch is tested
 * without a backend.
 */

export interface GateVerdictOnSet {
  allowed: boolean;
  reasons: string[];
  /** Items both versions were judged on. */
  itemCount: number;
  /** Items left out because a version does not know their label. */
  excludedItemCount: number;
}

export interface ActivationGateRecord {
  allowed: boolean;
  reasons: string[];
  overridden: boolean;
  itemCount: number;
}

export type ActivationDecision =
  | {
      kind: "activate";
      /** Null when the gate did not apply: no active version to compare with, or an empty labelled set. */
      gate: ActivationGateRecord | null;
      /** Set when the gate could not run although a version is active (its weights could not be read). */
      gateSkipped: string | null;
      /** Audited apart when the admin overrode a blocking gate. */
      override: { reason: string; details: string } | null;
    }
  | { kind: "blocked"; message: string };

export interface ActivationGateInput {
  /** e.g. `v3 "demo-mlp"`. */
  candidateLabel: string;
  /** The active version's label, or null when none is active. */
  activeLabel: string | null;
  /** The gate's verdict against the active version, or null when it could not run. */
  verdict: GateVerdictOnSet | null;
  /** Why the gate could not run although a version is active. */
  gateSkipped: string | null;
  overrideReason?: string;
}

export function decideActivation(input: ActivationGateInput): ActivationDecision {
  const { verdict } = input;
  if (verdict === null || verdict.itemCount + verdict.excludedItemCount === 0) {
    return { kind: "activate", gate: null, gateSkipped: input.gateSkipped, override: null };
  }
  const record = { allowed: verdict.allowed, reasons: verdict.reasons, overridden: false, itemCount: verdict.itemCount };
  if (verdict.allowed) return { kind: "activate", gate: record, gateSkipped: null, override: null };
  if (input.overrideReason === undefined) {
    const items = verdict.itemCount === 1 ? "1 labelled item" : `${verdict.itemCount} labelled items`;
    return {
      kind: "blocked",
      message: `Activation blocked by the promotion gate: ${input.candidateLabel} against the active ${input.activeLabel ?? "version"} on ${items}: ${verdict.reasons.join("; ")}. To activate anyway, give an override reason.`,
    };
  }
  return {
    kind: "activate",
    gate: { ...record, overridden: true },
    gateSkipped: null,
    override: { reason: input.overrideReason, details: verdict.reasons.join("; ") },
  };
}
