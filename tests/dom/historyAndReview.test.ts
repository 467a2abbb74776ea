import { describe, expect, it, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import HistoryPage from "../../src/pages/HistoryPage.vue";
import ReviewPage from "../../src/pages/ReviewPage.vue";
import type { FunctionReturnType } from "convex/server";
import { FakeBackend, fakeId } from "./fakeBackend";
import { pictureSummary as picture, type PictureSummary } from "./fixtures";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

function detail(row: PictureSummary): FunctionReturnType<typeof api.pictures.get> {
  const label = row.label ?? "cat";
  const confidence = row.confidence ?? 0.9;
  return {
    picture: row,
    result: { label, confidence, top: [{ label, probability: confidence }], versionId: fakeId("modelVersions", 1), versionNumber: 1, versionName: "base" },
    classes: ["cat", "dog"],
    label: null,
  };
}

const versionChoices: FunctionReturnType<typeof api.models.choices> = [
  { _id: fakeId("modelVersions", 3), number: 3, name: "candidate", status: "ready", isActive: false, classes: ["cat", "dog", "bird"] },
  { _id: fakeId("modelVersions", 2), number: 2, name: "current", status: "ready", isActive: true, classes: ["cat", "dog", "bird"] },
  { _id: fakeId("modelVersions", 1), number: 1, name: "base", status: "archived", isActive: false, classes: ["cat", "dog", "bird"] },
];

function selectLabelled(wrapper: Awaited<ReturnType<typeof mountWithBackend>>["wrapper"], text: string) {
  const field = wrapper.findAll("label.field").find((label) => label.find("span").text() === text);
  if (!field) throw new Error(`no field labelled ${text}`);
  return field.find("select");
}

describe("HistoryPage", () => {
  it("passes the filters to pictures.list and pages with cursors", async () => {
    const firstPage = Array.from({ length: 25 }, (_, index) => (index === 1 ? picture(2, { labelled: true, confirmedLabel: "dog" }) : picture(index + 1)));
    const backend = new FakeBackend()
      .on(api.models.choices, versionChoices)
      .on(api.pictures.list, ({ paginationOpts }) =>
        paginationOpts.cursor === null
          ? { page: firstPage, isDone: false, continueCursor: "cursor-25" }
          : { page: [picture(26, { status: "failed", error: "no active model version", label: undefined, confidence: undefined })], isDone: true, continueCursor: "end" },
      );
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    const rows = () => wrapper.findAll('table[aria-label="Pictures"] tbody tr').map((row) => row.findAll("td").map((cell) => cell.text()));
    expect(rows()).toHaveLength(25);
    expect(rows()[1]).toEqual(["photo-2.jpg", "2026-11-27 08:02 UTC", "classified", "cat", "90.0%", "dog", "Remove"]);
    // The next server page is loaded ahead, so Next is enabled only when it leads somewhere.
    expect(backend.activeSubscriptions(api.pictures.list).map((subscription) => subscription.args.paginationOpts.cursor)).toEqual([null, "cursor-25"]);

    await wrapper.findAll("button").find((button) => button.text() === "Next")!.trigger("click");
    await flushPromises();
    expect(rows()).toHaveLength(1);
    expect(rows()[0][2]).toMatch(/^failed\s*no active model version$/);
    expect(wrapper.text()).toContain("Page 2");
    expect(wrapper.findAll("button").find((button) => button.text() === "Next")!.attributes("disabled")).toBeDefined();

    await wrapper.find('input[type="search"]').setValue("dog");
    await selectLabelled(wrapper, "Labelled").setValue("no");
    const [from, to] = wrapper.findAll('input[type="date"]');
    await from.setValue("2026-11-01");
    await to.setValue("2026-11-27");
    await flushPromises();
    const live = backend.activeSubscriptions(api.pictures.list).map((subscription) => subscription.args);
    expect(live[0]).toEqual({
      filter: { classLabel: "dog", versionId: undefined, labelled: false, from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 28) - 1 },
      paginationOpts: { numItems: 25, cursor: null, id: expect.any(Number) },
    });
    expect(wrapper.text()).toContain("Page 1");
  });

  it("offers every version to labellers and analysts, from models.versionChoices, and filters by it", async () => {
    for (const role of ["labeller", "analyst"] as const) {
      const backend = new FakeBackend()
        .on(api.models.choices, versionChoices)
        .on(api.pictures.list, { page: [picture(1)], isDone: true, continueCursor: "" });
      const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole(role), path: "/history" });
      expect(backend.callsTo(api.models.list)).toHaveLength(0);
      const version = selectLabelled(wrapper, "Version");
      expect(version.findAll("option").map((option) => option.text())).toEqual([
        "any version",
        'v3 “candidate”',
        'v2 “current” (active)',
        'v1 “base” (archived)',
      ]);
      await version.setValue("modelVersions:1");
      await flushPromises();
      expect(backend.activeSubscriptions(api.pictures.list)[0].args.filter.versionId).toBe("modelVersions:1");
      wrapper.unmount();
    }
  });

  it("hides the version filter while there are no versions", async () => {
    const backend = new FakeBackend()
      .on(api.models.choices, [])
      .on(api.pictures.list, { page: [picture(1)], isDone: true, continueCursor: "" });
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    expect(backend.activeSubscriptions(api.models.choices)).toHaveLength(1);
    expect(wrapper.findAll("label.field span").map((span) => span.text())).not.toContain("Version");
  });

  it("refuses a date range that ends before it starts", async () => {
    const backend = new FakeBackend().on(api.models.choices, versionChoices).on(api.pictures.list, { page: [], isDone: true, continueCursor: "" });
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    const [from, to] = wrapper.findAll('input[type="date"]');
    await from.setValue("2026-11-20");
    await to.setValue("2026-11-10");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe("The start date is after the end date.");
    expect(backend.activeSubscriptions(api.pictures.list)).toHaveLength(0);
  });

  it("opens the picture named in ?picture= (from a comparison's disagreement list)", async () => {
    const row = picture(42, { fileName: "fox-or-dog.jpg" });
    const backend = new FakeBackend()
      .on(api.models.choices, versionChoices)
      .on(api.pictures.list, { page: [], isDone: true, continueCursor: "" })
      .on(api.pictures.get, detail(row));
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("admin"), path: "/history?picture=pictures:42" });
    expect(wrapper.find('article[aria-label="Result for fox-or-dog.jpg"]').exists()).toBe(true);
  });
});

describe("HistoryPage: a failed re-classification", () => {
  it("the row and the opened picture show the reason and time beside the earlier result", async () => {
    const failedAt = Date.UTC(2026, 10, 28, 9, 5);
    const row = picture(8, { lastError: "no active model version", lastErrorAt: failedAt });
    const backend = new FakeBackend()
      .on(api.models.choices, versionChoices)
      .on(api.pictures.list, { page: [row, picture(9)], isDone: true, continueCursor: "" })
      .on(api.pictures.get, detail(row));
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history?picture=pictures:8" });
    const statusCells = wrapper.findAll('table[aria-label="Pictures"] tbody tr').map((tr) => tr.findAll("td")[2].text());
    expect(statusCells[0]).toBe("classified Last re-classification failed: no active model version (2026-11-28 09:05 UTC)");
    expect(statusCells[1]).toBe("classified");
    const opened = wrapper.find('article[aria-label="Result for photo-8.jpg"]');
    expect(opened.text()).toContain("Last re-classification failed: no active model version (2026-11-28 09:05 UTC)");
    expect(opened.findAll("button").some((button) => button.text() === "Retry classification")).toBe(true);
  });
});

describe("HistoryPage removal", () => {
  it("removes a picture after confirmation and shows a refusal", async () => {
    let rows = [picture(1), picture(2)];
    const backend = new FakeBackend()
      .on(api.models.choices, versionChoices)
      .on(api.pictures.list, () => ({ page: rows, isDone: true, continueCursor: "" }))
      .on(api.pictures.remove, ({ pictureId }) => {
        if (pictureId === "pictures:2") throw new Error("Uncaught ConvexError: only the picture's uploader or an admin may remove it");
        rows = rows.filter((row) => row._id !== pictureId);
        return null;
      });
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);

    await wrapper.find('button[aria-label="Remove photo-1.jpg"]').trigger("click");
    await flushPromises();
    expect(confirm).toHaveBeenCalledOnce();
    expect(wrapper.find('button[aria-label="Remove photo-1.jpg"]').exists()).toBe(false);

    await wrapper.find('button[aria-label="Remove photo-2.jpg"]').trigger("click");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe("photo-2.jpg was not removed: only the picture's uploader or an admin may remove it");
  });
});

describe("ReviewPage", () => {
  it("shows the least confident picture first and moves on once it is labelled", async () => {
    let queue = [picture(5, { confidence: 0.31 }), picture(6, { confidence: 0.44 })];
    const backend = new FakeBackend()
      .on(api.pictures.reviewQueue, () => queue)
      .on(api.pictures.get, ({ pictureId }) => detail(queue.find((row) => row._id === pictureId) ?? picture(0)))
      .on(api.labels.set, ({ pictureId }) => {
        queue = queue.filter((row) => row._id !== pictureId);
        return { verdict: "corrected", labelledSet: "added" };
      });
    const { wrapper } = await mountWithBackend(ReviewPage, backend, { user: userWithRole("labeller"), path: "/review" });
    expect(backend.activeSubscriptions(api.pictures.reviewQueue)[0].args).toEqual({ limit: 50 });
    expect(wrapper.findAll('table[aria-label="Pictures to review"] tbody tr').map((row) => row.text())).toEqual([
      "photo-5.jpgcat31.0%",
      "photo-6.jpgcat44.0%",
    ]);
    const card = wrapper.find('article[aria-label="Result for photo-5.jpg"]');
    await card.trigger("keydown", { key: "2" });
    await flushPromises();

    expect(backend.callsTo(api.labels.set)[0].args).toEqual({ pictureId: "pictures:5", label: "dog" });
    expect(wrapper.find('article[aria-label="Result for photo-6.jpg"]').exists()).toBe(true);
  });

  it("says when there is nothing to review", async () => {
    const backend = new FakeBackend().on(api.pictures.reviewQueue, []);
    const { wrapper } = await mountWithBackend(ReviewPage, backend, { user: userWithRole("labeller"), path: "/review" });
    expect(wrapper.text()).toContain("Nothing to review");
  });
});
