import { flushPromises } from "@vue/test-utils";
import type { FunctionReturnType } from "convex/server";
import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import AuditPage from "../../src/pages/AuditPage.vue";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

type Entry = FunctionReturnType<typeof api.auditLog.list>["page"][number];

const entry = (key: number, fields: Partial<Entry>): Entry => ({
  _id: fakeId("auditLog", key),
  action: "updateSettings",
  at: Date.UTC(2026, 11, 2, 9, 30) - key * 60_000,
  actorEmail: "boss@example.com",
  from: null,
  to: null,
  reason: null,
  details: null,
  metrics: null,
  ...fields,
});

const entries: Entry[] = [
  entry(1, { details: "privacyMode: full → thumbnail, promotion.rule: floors → noSignificantRegression" }),
  entry(2, { action: "setRole", details: "lab@example.com: labeller → analyst" }),
  entry(3, {
    action: "setLabel",
    actorEmail: "lab@example.com",
    details: 'picture kd7c8v1x2b3n4m5q6w7e8r9t0y1u2i3o ("fog-2.png"): no label → fog (accepted v1 “demo-mlp”\'s "fog")',
  }),
  entry(4, {
    action: "activateVersion",
    from: { versionId: fakeId("modelVersions", 1), number: 1, name: "demo-mlp" },
    to: { versionId: fakeId("modelVersions", 2), number: 2, name: "retrained" },
    reason: "better on fog",
  }),
];

describe("AuditPage", () => {
  it("lists who, when, what and before → after, with version labels and file names rather than ids; a group narrows it", async () => {
    const backend = new FakeBackend().on(api.auditLog.list, ({ group }) => ({
      page: group === "all" ? entries : entries.filter((item) => item.action === "setLabel"),
      isDone: true,
      continueCursor: "end",
    }));
    const { wrapper } = await mountWithBackend(AuditPage, backend, { user: userWithRole("admin"), path: "/audit" });
    await flushPromises();
    const rows = () => wrapper.findAll('table[aria-label="Audit entries"] tbody tr').map((row) => row.findAll("td").map((cell) => cell.text()));
    expect(rows()).toEqual([
      ["2026-12-02 09:29 UTC", "boss@example.com", "Changed settings", "privacyMode: full → thumbnail, promotion.rule: floors → noSignificantRegression"],
      ["2026-12-02 09:28 UTC", "boss@example.com", "Changed a role", "lab@example.com: labeller → analyst"],
      ["2026-12-02 09:27 UTC", "lab@example.com", "Set a label", '("fog-2.png"): no label → fog (accepted v1 “demo-mlp”\'s "fog")'],
      ["2026-12-02 09:26 UTC", "boss@example.com", "Activated a version", "v1 “demo-mlp” → v2 “retrained”Reason: better on fog"],
    ]);
    const pages = () => backend.subscriptions.filter((subscription) => subscription.name === "auditLog:list");
    expect(pages().length).toBeGreaterThan(0);
    expect(pages().every((subscription) => (subscription.args as { paginationOpts: { numItems: number } }).paginationOpts.numItems <= 25)).toBe(true);

    await wrapper.find("select").setValue("labels");
    await flushPromises();
    expect(backend.activeSubscriptions(api.auditLog.list).map((subscription) => subscription.args.group)).toEqual(["labels"]);
    expect(rows().map((row) => row[2])).toEqual(["Set a label"]);
  });
});
