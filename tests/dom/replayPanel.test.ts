import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import ReplayPanel from "../../src/components/ReplayPanel.vue";
import type { FunctionReturnType } from "convex/server";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const versions = [
  { _id: fakeId("modelVersions", 2), number: 2, name: "candidate", status: "ready" as const, isActive: false },
  { _id: fakeId("modelVersions", 1), number: 1, name: "baseline", status: "ready" as const, isActive: true },
];

type FakeReplay = FunctionReturnType<typeof api.replays.list>[number];
type ResultRow = FunctionReturnType<typeof api.replays.results>["page"][number];

function resultRow(id: number, liveLabel: string, shadowLabel: string): ResultRow {
  return {
    pictureId: fakeId("pictures", id),
    fileName: `photo-${id}.jpg`,
    shadowLabel,
    shadowConfidence: 0.61,
    liveLabel,
    liveConfidence: 0.82,
    liveVersionNumber: 1,
    agrees: liveLabel === shadowLabel,
  };
}

/** 25 results, the first three shown in detail below; 2 of the 3 and all 22 others agree. */
const firstResultsPage = [
  resultRow(7, "cat", "cat"),
  resultRow(8, "cat", "dog"),
  resultRow(9, "fox", "fox"),
  ...Array.from({ length: 22 }, (_, index) => resultRow(10 + index, "owl", "owl")),
];

/** A replay backend whose state the test moves on, as the scheduled chunks would. */
function replayBackend() {
  const replays: FakeReplay[] = [];
  const backend = new FakeBackend()
    .on(api.replays.list, () => [...replays].reverse())
    .on(api.replays.status, ({ replayId }) => replays.find((replay) => replay._id === replayId) ?? null)
    .on(api.replays.start, ({ versionId, filter }) => {
      const version = versions.find((candidate) => candidate._id === versionId)!;
      const replay: FakeReplay = {
        _id: fakeId("replays", replays.length + 1),
        _creationTime: Date.UTC(2026, 10, 28, 9, replays.length),
        version: { versionId, number: version.number, name: version.name },
        filter,
        status: "running",
        processed: 0,
        total: 300,
        error: undefined,
        startedBy: fakeId("users", 1),
        inputMismatch: null,
      };
      replays.push(replay);
      return replay._id;
    })
    .on(api.replays.resume, ({ replayId }) => {
      const replay = replays.find((candidate) => candidate._id === replayId)!;
      replay.status = "running";
      replay.error = undefined;
      return null;
    })
    .on(api.replays.results, ({ paginationOpts }) =>
      paginationOpts.cursor === null
        ? { page: firstResultsPage, isDone: false, continueCursor: "page-2" }
        : { page: [resultRow(40, "dog", "fox")], isDone: true, continueCursor: "end" },
    );
  return { backend, replays };
}

async function mountPanel(backend: FakeBackend) {
  const { wrapper } = await mountWithBackend(ReplayPanel, backend, { user: userWithRole("admin"), path: "/models", props: { versions } });
  return wrapper;
}

function field(wrapper: Awaited<ReturnType<typeof mountPanel>>, text: string) {
  const label = wrapper.findAll("label.field").find((candidate) => candidate.find("span").text() === text);
  if (!label) throw new Error(`no field labelled ${text}`);
  return label.find("select").exists() ? label.find("select") : label.find("input");
}

const replayRows = (wrapper: Awaited<ReturnType<typeof mountPanel>>) =>
  wrapper.findAll('table[aria-label="Replays"] tbody tr').map((row) => row.findAll("td").map((cell) => cell.text()));

describe("ReplayPanel", () => {
  it("starts a replay with a version, a date range and a source version, then shows its progress live", async () => {
    const { backend, replays } = replayBackend();
    const wrapper = await mountPanel(backend);
    expect(wrapper.text()).toContain("No replays yet.");

    await field(wrapper, "Version").setValue("modelVersions:2");
    await field(wrapper, "Classified by").setValue("modelVersions:1");
    await field(wrapper, "From (UTC)").setValue("2026-11-01");
    await field(wrapper, "To (UTC)").setValue("2026-11-27");
    await wrapper.find('form[aria-label="Replay"]').trigger("submit");
    await flushPromises();

    expect(backend.callsTo(api.replays.start).map((call) => call.args)).toEqual([
      {
        versionId: "modelVersions:2",
        filter: { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 28) - 1, sourceVersionId: "modelVersions:1" },
      },
    ]);
    expect(replayRows(wrapper)[0].slice(1, 5)).toEqual(['v2 “candidate”', '2026-11-01 to 2026-11-27, results of v1 “baseline”', "running", "0 of ~300"]);
    expect(backend.activeSubscriptions(api.replays.status)[0].args).toEqual({ replayId: "replays:1" });

    replays[0].processed = 200;
    backend.refresh();
    await flushPromises();
    expect(replayRows(wrapper)[0][4]).toBe("200 of ~300");
    expect(wrapper.find('table[aria-label="Replays"] progress').attributes("value")).toBe("200");
    expect(wrapper.find('[aria-label="Replay results"] h3').text()).toBe('Results of v2 “candidate” (running, 200 of ~300 re-scored)');

    Object.assign(replays[0], { status: "done", processed: 280, total: 280 });
    backend.refresh();
    await flushPromises();
    expect(replayRows(wrapper)[0].slice(3, 5)).toEqual(["done", "280 of 280"]);
    expect(wrapper.find('[aria-label="Replay results"] h3').text()).toBe('Results of v2 “candidate” (done, 280 of 280 re-scored)');
  });

  it("shows a failed replay's error and resumes it", async () => {
    const { backend, replays } = replayBackend();
    const wrapper = await mountPanel(backend);
    await field(wrapper, "Version").setValue("modelVersions:2");
    await wrapper.find('form[aria-label="Replay"]').trigger("submit");
    await flushPromises();
    expect(replayRows(wrapper)[0][2]).toBe("all dates");
    expect(wrapper.findAll("button").some((button) => button.text() === "Resume")).toBe(false);

    Object.assign(replays[0], { status: "failed", processed: 200, error: "model version modelVersions:2 no longer exists" });
    backend.refresh();
    await flushPromises();
    expect(replayRows(wrapper)[0][3]).toMatch(/^failed\s*model version modelVersions:2 no longer exists$/);

    await wrapper.findAll("button").find((button) => button.text() === "Resume")!.trigger("click");
    await flushPromises();
    expect(backend.callsTo(api.replays.resume).map((call) => call.args)).toEqual([{ replayId: "replays:1" }]);
    expect(replayRows(wrapper)[0][3]).toBe("running");
    expect(wrapper.findAll("button").some((button) => button.text() === "Resume")).toBe(false);
  });

  it("says why a resume was refused", async () => {
    const { backend, replays } = replayBackend();
    replays.push({ _id: fakeId("replays", 1), _creationTime: 0, version: null, filter: {}, status: "failed", processed: 0, total: 0, error: "boom", startedBy: fakeId("users", 1), inputMismatch: null });
    backend.on(api.replays.resume, () => {
      throw new Error("Uncaught ConvexError: replay replays:1 is running; only a failed replay can be resumed");
    });
    const wrapper = await mountPanel(backend);
    await wrapper.findAll("button").find((button) => button.text() === "Resume")!.trigger("click");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe("Replay not resumed: replay replays:1 is running; only a failed replay can be resumed");
  });

  it("lists shadow against live labels with the agreement count, pages, and links each picture to History", async () => {
    const { backend, replays } = replayBackend();
    replays.push({
      _id: fakeId("replays", 1),
      _creationTime: Date.UTC(2026, 10, 27),
      version: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" },
      filter: {},
      status: "done",
      processed: 4,
      total: 4,
      error: undefined,
      startedBy: fakeId("users", 1),
      inputMismatch: null,
    });
    const wrapper = await mountPanel(backend);
    const results = () => wrapper.find('[aria-label="Replay results"]');
    const rows = () => results().findAll("tbody tr").map((row) => row.findAll("td").map((cell) => cell.text()));

    expect(backend.activeSubscriptions(api.replays.results)[0].args).toEqual({
      replayId: "replays:1",
      paginationOpts: { numItems: 25, cursor: null, id: expect.any(Number) },
    });
    expect(results().text()).toContain("24 of 25 pictures on this page get the same label as live.");
    expect(rows()[1]).toEqual(["pictures:8", "cat v1", "82.0%", "dog", "61.0%", "no"]);
    const link = results().find("tbody tr a");
    expect(link.attributes("href")).toBe("/history?picture=pictures:7");

    await results().findAll("button").find((button) => button.text() === "Next")!.trigger("click");
    await flushPromises();
    expect(backend.activeSubscriptions(api.replays.results).map((subscription) => subscription.args.paginationOpts.cursor)).toEqual([null, "page-2"]);
    expect(rows().map((row) => row[0])).toEqual(["pictures:40"]);
    expect(results().text()).toContain("0 of 1 pictures on this page get the same label as live.");
    expect(results().text()).toContain("Page 2");

    await results().findAll("button").find((button) => button.text() === "Previous")!.trigger("click");
    await flushPromises();
    expect(rows()).toHaveLength(25);
    expect(results().text()).toContain("Page 1");
  });

  it("refuses to start without a version or with a range that ends before it starts, and shows the server's refusal", async () => {
    const { backend } = replayBackend();
    const wrapper = await mountPanel(backend);
    const submit = async () => {
      await wrapper.find('form[aria-label="Replay"]').trigger("submit");
      await flushPromises();
    };
    await submit();
    expect(wrapper.find('[role="alert"]').text()).toBe("Choose the version to replay with.");

    await field(wrapper, "Version").setValue("modelVersions:2");
    await field(wrapper, "From (UTC)").setValue("2026-11-20");
    await field(wrapper, "To (UTC)").setValue("2026-11-10");
    await submit();
    expect(wrapper.find('[role="alert"]').text()).toBe("The start date is after the end date.");
    expect(backend.callsTo(api.replays.start)).toHaveLength(0);

    backend.on(api.replays.start, () => {
      throw new Error("Uncaught ConvexError: no model version with id modelVersions:2");
    });
    await field(wrapper, "To (UTC)").setValue("2026-11-30");
    await submit();
    expect(wrapper.find('[role="alert"]').text()).toBe("Replay not started: no model version with id modelVersions:2");
  });
});
