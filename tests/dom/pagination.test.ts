import { describe, expect, it } from "vitest";
import { flushPromises } from "@vue/test-utils";
import type { PaginationOptions, PaginationResult } from "convex/server";
import { api } from "../../convex/_generated/api";
import ReplayPanel from "../../src/components/ReplayPanel.vue";
import HistoryPage from "../../src/pages/HistoryPage.vue";
import { FakeBackend, fakeId } from "./fakeBackend";
import { pictureSummary, type PictureSummary } from "./fixtures";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

/**
 * A paginated query over `rows` that behaves like Convex at its read limits: a
 * page that would read more than `maxRowsRead` rows stops early and answers
 * `pageStatus: "SplitRequired"`, with only the matches of the first half of what
 * it read (short or empty although more rows match), a `splitCursor` halfway and
 * a `continueCursor` where it stopped. Cursors are row positions.
 */
function readLimitedPages<Row>(rows: readonly Row[], matches: (row: Row) => boolean, maxRowsRead: number) {
  const requests: PaginationOptions[] = [];
  const page = (options: PaginationOptions): PaginationResult<Row> => {
    requests.push(options);
    const start = options.cursor === null ? 0 : Number(options.cursor);
    const end = options.endCursor == null ? rows.length : Number(options.endCursor);
    const found: Row[] = [];
    let position = start;
    while (position < end && (options.endCursor != null || found.length < options.numItems)) {
      if (position - start === maxRowsRead) {
        const split = start + Math.floor(maxRowsRead / 2);
        return {
          page: rows.slice(start, split).filter(matches).slice(0, 1),
          isDone: false,
          continueCursor: String(options.endCursor != null ? end : position),
          splitCursor: String(options.endCursor != null ? start + Math.floor((end - start) / 2) : split),
          pageStatus: "SplitRequired",
        };
      }
      if (matches(rows[position])) found.push(rows[position]);
      position += 1;
    }
    return { page: found, isDone: position >= rows.length, continueCursor: String(position) };
  };
  return { page, requests };
}

/** Records every text the element shows, so a test can say what the user never saw. */
function watchTexts(element: Element): string[] {
  const seen = [element.textContent ?? ""];
  new MutationObserver(() => seen.push(element.textContent ?? "")).observe(element, { subtree: true, childList: true, characterData: true });
  return seen;
}

const shownNames = (wrapper: Awaited<ReturnType<typeof mountWithBackend>>["wrapper"]) =>
  wrapper.findAll('table[aria-label="Pictures"] tbody tr').map((row) => row.find("td").text());

const nextButton = (wrapper: Awaited<ReturnType<typeof mountWithBackend>>["wrapper"]) =>
  wrapper.findAll("button").find((button) => button.text() === "Next")!;

describe("paging through pages that hit Convex's read limits", () => {
  // 90 pictures, every third one labelled: 30 match "labelled", spread so that
  // every page of 25 has to read far more than the 8 rows a page may read.
  const all = Array.from({ length: 90 }, (_, index) => pictureSummary(index + 1, { labelled: index % 3 === 2 }));
  const labelled = all.filter((row) => row.labelled).map((row) => row.fileName);

  function historyBackend(maxRowsRead: number) {
    const pages = readLimitedPages<PictureSummary>(all, (row) => row.labelled, maxRowsRead);
    const backend = new FakeBackend()
      .on(api.models.choices, [])
      .on(api.pictures.list, ({ filter, paginationOpts }) =>
        filter.labelled === true ? pages.page(paginationOpts) : { page: [], isDone: true, continueCursor: "" },
      );
    return { backend, pages };
  }

  it("History splits SplitRequired pages and shows every match once, in order, never 'No pictures match'", async () => {
    const { backend, pages } = historyBackend(8);
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    const texts = watchTexts(wrapper.element);
    const labelledSelect = wrapper.findAll("label.field").find((label) => label.find("span").text() === "Labelled")!.find("select");
    await labelledSelect.setValue("yes");
    await flushPromises();

    expect(pages.requests.some((options) => options.endCursor != null)).toBe(true);
    expect(shownNames(wrapper)).toEqual(labelled.slice(0, 25));
    expect(wrapper.text()).toContain("Page 1");

    await nextButton(wrapper).trigger("click");
    await flushPromises();
    expect(shownNames(wrapper)).toEqual(labelled.slice(25));
    expect(wrapper.text()).toContain("Page 2");
    expect(nextButton(wrapper).attributes("disabled")).toBeDefined();

    // The filter change first shows the unfiltered (empty, done) list; after that, with matches, never.
    const afterFilter = texts.findIndex((text) => text.includes("photo-3.jpg"));
    expect(afterFilter).toBeGreaterThan(0);
    expect(texts.slice(afterFilter).some((text) => text.includes("No pictures match"))).toBe(false);
  });

  it("the same list without read limits pages identically (the splits change nothing a user sees)", async () => {
    const { backend } = historyBackend(1000);
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    await wrapper.findAll("label.field").find((label) => label.find("span").text() === "Labelled")!.find("select").setValue("yes");
    await flushPromises();
    expect(shownNames(wrapper)).toEqual(labelled.slice(0, 25));
    await nextButton(wrapper).trigger("click");
    await flushPromises();
    expect(shownNames(wrapper)).toEqual(labelled.slice(25));
  });

  it("an empty first page that is not done is followed, and 'No pictures match' waits for isDone", async () => {
    const backend = new FakeBackend()
      .on(api.models.choices, [])
      .on(api.pictures.list, ({ paginationOpts }) =>
        paginationOpts.cursor === null
          ? { page: [], isDone: false, continueCursor: "after-empty" }
          : { page: [pictureSummary(4)], isDone: true, continueCursor: "end" },
      );
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    expect(shownNames(wrapper)).toEqual(["photo-4.jpg"]);
    expect(wrapper.text()).not.toContain("No pictures match");
    expect(nextButton(wrapper).attributes("disabled")).toBeDefined();
  });

  it("exactly one page of matches leaves Next disabled (the empty last server page is looked at first)", async () => {
    const page = Array.from({ length: 25 }, (_, index) => pictureSummary(index + 1));
    const backend = new FakeBackend()
      .on(api.models.choices, [])
      .on(api.pictures.list, ({ paginationOpts }) =>
        paginationOpts.cursor === null ? { page, isDone: false, continueCursor: "25" } : { page: [], isDone: true, continueCursor: "25" },
      );
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    expect(shownNames(wrapper)).toHaveLength(25);
    expect(nextButton(wrapper).attributes("disabled")).toBeDefined();
  });

  it("starts over when a cursor is no longer valid", async () => {
    let invalidSession: number | undefined;
    const backend = new FakeBackend()
      .on(api.models.choices, [])
      .on(api.pictures.list, ({ paginationOpts }) => {
        // The cursors of the session that was running are refused; a fresh session's are fine.
        if (paginationOpts.cursor !== null && paginationOpts.id === invalidSession) throw new Error("[CONVEX Q(pictures:list)] InvalidCursor: the query changed");
        return paginationOpts.cursor === null
          ? { page: Array.from({ length: 25 }, (_, index) => pictureSummary(index + 1)), isDone: false, continueCursor: "25" }
          : { page: [pictureSummary(26)], isDone: true, continueCursor: "26" };
      });
    const { wrapper } = await mountWithBackend(HistoryPage, backend, { user: userWithRole("labeller"), path: "/history" });
    await nextButton(wrapper).trigger("click");
    await flushPromises();
    expect(shownNames(wrapper)).toEqual(["photo-26.jpg"]);

    invalidSession = backend.activeSubscriptions(api.pictures.list)[0].args.paginationOpts.id;
    backend.refresh();
    await flushPromises();
    expect(wrapper.text()).toContain("Page 1");
    expect(wrapper.find('[role="alert"]').exists()).toBe(false);
    expect(shownNames(wrapper)).toHaveLength(25);
  });

  it("the Replay panel pages its results through the same splitting", async () => {
    const shadows = Array.from({ length: 40 }, (_, index) => ({
      pictureId: fakeId("pictures", index + 1),
      fileName: `photo-${index + 1}.jpg`,
      shadowLabel: index % 2 === 0 ? "cat" : "dog",
      shadowConfidence: 0.6,
      liveLabel: "cat",
      liveConfidence: 0.8,
      liveVersionNumber: 1,
      agrees: index % 2 === 0,
    }));
    const pages = readLimitedPages(shadows, () => true, 6);
    const backend = new FakeBackend()
      .on(api.replays.list, [
        {
          _id: fakeId("replays", 1),
          _creationTime: 0,
          version: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" },
          filter: {},
          status: "done" as const,
          processed: 40,
          total: 40,
          error: undefined,
          startedBy: fakeId("users", 1),
          inputMismatch: null,
        },
      ])
      .on(api.replays.status, ({ replayId }) => ({
        _id: replayId,
        _creationTime: 0,
        version: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" },
        filter: {},
        status: "done" as const,
        processed: 40,
        total: 40,
        error: undefined,
        startedBy: fakeId("users", 1),
        inputMismatch: null,
      }))
      .on(api.replays.results, ({ paginationOpts }) => pages.page(paginationOpts));
    const { wrapper } = await mountWithBackend(ReplayPanel, backend, { user: userWithRole("admin"), path: "/models", props: { versions: [] } });
    const results = () => wrapper.find('[aria-label="Replay results"]');
    const shownIds = () => results().findAll("tbody tr").map((row) => row.find("td").text());
    const ids = shadows.map((shadow) => shadow.pictureId as string);

    expect(pages.requests.some((options) => options.endCursor != null)).toBe(true);
    expect(shownIds()).toEqual(ids.slice(0, 25));
    expect(results().text()).toContain("13 of 25 pictures on this page get the same label as live.");
    await results().findAll("button").find((button) => button.text() === "Next")!.trigger("click");
    await flushPromises();
    expect(shownIds()).toEqual(ids.slice(25));
  });
});
