import { describe, expect, it, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import { ref } from "vue";
import LabelPage from "../../src/pages/LabelPage.vue";
import type { StoredImage } from "../../src/images/imageFiles";
import { imagePipelineKey, type ClipModelStatus, type ImagePipeline } from "../../src/images/imagePipeline";
import { FakeBackend, fakeId } from "./fakeBackend";
import { pictureSummary, type ClassificationResult } from "./fixtures";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A pipeline whose every step waits until the test lets it go, so each queue state can be observed. */
function controllablePipeline() {
  const calls = { check: [] as Deferred<void>[], prepare: [] as Deferred<StoredImage | null>[], extract: [] as Deferred<Float32Array>[] };
  const modelStatus = ref<ClipModelStatus>({ phase: "ready", fraction: 1, error: null });
  const pipeline: ImagePipeline = {
    checkImage: () => {
      const step = deferred<void>();
      calls.check.push(step);
      return step.promise;
    },
    prepareForStorage: () => {
      const step = deferred<StoredImage | null>();
      calls.prepare.push(step);
      return step.promise;
    },
    extractFeatures: () => {
      const step = deferred<Float32Array>();
      calls.extract.push(step);
      return step.promise;
    },
    modelStatus,
  };
  return { pipeline, calls, modelStatus };
}

const classificationResult: ClassificationResult = {
  label: "cat",
  confidence: 0.81,
  top: [
    { label: "cat", probability: 0.81 },
    { label: "dog", probability: 0.12 },
    { label: "fox", probability: 0.04 },
  ],
  versionId: fakeId("modelVersions", 1),
  versionNumber: 3,
  versionName: "spring-retrain",
};

function labellerBackend(privacyMode: "full" | "thumbnail" | "none" = "full") {
  const classify = { pending: [] as Deferred<ClassificationResult>[] };
  const backend = new FakeBackend()
    .on(api.users.me, userWithRole("labeller"))
    .on(api.settings.get, {
      privacyMode,
      clipModelId: "Xenova/clip-vit-base-patch32",
      featureDim: 512,
      promotion: { rule: "floors", nonInferiorityMargin: 0.01, maxAccuracyDrop: 0.02, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.1 },
      signUp: "open",
    })
    .on(api.pictures.generateUploadUrl, "https://upload.example/1")
    .on(api.pictures.record, () => fakeId("pictures", 1))
    .on(api.classifications.classify, () => {
      const step = deferred<ClassificationResult>();
      classify.pending.push(step);
      return step.promise;
    })
    .on(api.classifications.retry, () => classificationResult)
    .on(api.pictures.get, {
      picture: pictureSummary(1, { fileName: "cat.jpg" }),
      result: classificationResult,
      classes: ["cat", "dog", "fox", "owl"],
      label: null,
    });
  return { backend, classify };
}

const image = (name: string) => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], name, { type: "image/jpeg" });
const stored: StoredImage = { blob: new Blob(["jpeg"], { type: "image/jpeg" }), width: 640, height: 480 };

async function mountLabelPage(backend: FakeBackend, pipeline: ImagePipeline, attachTo?: HTMLElement) {
  const mounted = await mountWithBackend(LabelPage, backend, {
    user: userWithRole("labeller"),
    path: "/label",
    provide: { [imagePipelineKey as symbol]: pipeline },
    attachTo,
  });
  const pick = async (...files: File[]) => {
    const input = mounted.wrapper.find('input[type="file"]');
    Object.defineProperty(input.element, "files", { value: files, configurable: true });
    await input.trigger("change");
    await flushPromises();
  };
  const statusOf = (fileName: string) => mounted.wrapper.find(`li[aria-label^="${fileName}:"] [data-testid="upload-status"]`).text();
  return { ...mounted, pick, statusOf };
}

describe("upload queue on the label page", () => {
  it("walks one image through queued, uploading, extracting, classifying and done", async () => {
    const { backend, classify } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(image("cat.jpg"));
    expect(page.statusOf("cat.jpg")).toBe("Queued");

    calls.check[0].resolve();
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Uploading");

    calls.prepare[0].resolve(stored);
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Extracting features");
    expect(backend.callsTo(api.pictures.record)[0].args).toEqual({
      storageId: "storage-1",
      fileName: "cat.jpg",
      contentType: "image/jpeg",
      width: 640,
      height: 480,
    });
    expect(backend.uploads).toEqual([stored.blob]);

    calls.extract[0].resolve(new Float32Array(512).fill(0.5));
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Classifying");
    const sent = backend.callsTo(api.classifications.classify)[0].args;
    expect(sent.pictureId).toBe("pictures:1");
    expect(sent.clipFeatures).toHaveLength(512);

    classify.pending[0].resolve(classificationResult);
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Done");
    const card = page.wrapper.find('article[aria-label="Result for cat.jpg"]');
    expect(card.text()).toContain('Model version v3 “spring-retrain”');
    expect(card.findAll('[role="meter"]').map((meter) => meter.attributes("aria-label"))).toEqual([
      "cat probability",
      "dog probability",
      "fox probability",
    ]);
    expect(card.text()).toContain("81.0%");
  });

  it("shows the extraction toast while features are extracted", async () => {
    const { backend } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);
    const ToastHost = (await import("../../src/components/ToastHost.vue")).default;
    const { mount } = await import("@vue/test-utils");
    const toasts = mount(ToastHost, { global: { plugins: [page.pinia] } });

    await page.pick(image("cat.jpg"));
    calls.check[0].resolve();
    await flushPromises();
    calls.prepare[0].resolve(stored);
    await flushPromises();
    expect(toasts.text()).toContain("Extracting image features...");

    calls.extract[0].resolve(new Float32Array(512));
    await flushPromises();
    expect(toasts.text()).not.toContain("Extracting image features...");
  });

  it("fails a classification with the server's message and retries from the stored features", async () => {
    const { backend, classify } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(image("cat.jpg"));
    calls.check[0].resolve();
    await flushPromises();
    calls.prepare[0].resolve(stored);
    await flushPromises();
    calls.extract[0].resolve(new Float32Array(512));
    await flushPromises();
    classify.pending[0].reject(new Error("[CONVEX A(imageClassification:classifyImageFeatures)] Server Error\nUncaught Error: no active model version: an admin must import and activate one\n    at handler"));
    await flushPromises();

    expect(page.statusOf("cat.jpg")).toBe("Failed");
    const item = page.wrapper.find('li[aria-label^="cat.jpg:"]');
    expect(item.find('[role="alert"]').text()).toBe("no active model version: an admin must import and activate one");

    await item.find('button[aria-label="Retry cat.jpg"]').trigger("click");
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Done");
    expect(backend.callsTo(api.classifications.retry)).toEqual([
      { kind: "action", name: "classifications:retry", args: { pictureId: "pictures:1" } },
    ]);
    expect(calls.extract).toHaveLength(1);
    expect(backend.callsTo(api.pictures.record)).toHaveLength(1);
  });

  it("re-extracts on retry when extraction failed, without uploading again", async () => {
    const { backend, classify } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(image("cat.jpg"));
    calls.check[0].resolve();
    await flushPromises();
    calls.prepare[0].resolve(stored);
    await flushPromises();
    calls.extract[0].reject(new Error("CLIP model loading failed: onnx/vision_model_quantized.onnx is missing"));
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Failed");
    expect(page.wrapper.text()).toContain("CLIP model loading failed: onnx/vision_model_quantized.onnx is missing");

    await page.wrapper.find('button[aria-label="Retry cat.jpg"]').trigger("click");
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Extracting features");
    calls.extract[1].resolve(new Float32Array(512));
    await flushPromises();
    classify.pending[0].resolve(classificationResult);
    await flushPromises();
    expect(page.statusOf("cat.jpg")).toBe("Done");
    expect(backend.callsTo(api.pictures.record)).toHaveLength(1);
  });

  it("rejects a non-image before upload, naming the file, with no retry", async () => {
    const { backend } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(new File(["hello"], "notes.txt", { type: "text/plain" }));
    calls.check[0].reject(new Error('"notes.txt" is not an image (text/plain)'));
    await flushPromises();

    expect(page.statusOf("notes.txt")).toBe("Failed");
    expect(page.wrapper.text()).toContain('"notes.txt" is not an image (text/plain)');
    expect(page.wrapper.find('button[aria-label="Retry notes.txt"]').exists()).toBe(false);
    expect(backend.calls.filter((call) => call.kind !== "query")).toEqual([]);
  });

  it("stores no image when the privacy mode is none, and says so", async () => {
    const { backend } = labellerBackend("none");
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);
    expect(page.wrapper.find('[data-testid="privacy-mode"]').text()).toContain("No image is stored");

    await page.pick(image("cat.jpg"));
    calls.check[0].resolve();
    await flushPromises();
    calls.prepare[0].resolve(null);
    await flushPromises();

    expect(backend.callsTo(api.pictures.generateUploadUrl)).toEqual([]);
    expect(backend.uploads).toEqual([]);
    expect(backend.callsTo(api.pictures.record)[0].args.storageId).toBeUndefined();
  });

  it("sends the sniffed image type for a file without a MIME type when no copy is stored", async () => {
    const { backend } = labellerBackend("none");
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);
    const pngBytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

    await page.pick(new File([pngBytes], "scan-0001", { type: "" }));
    calls.check[0].resolve();
    // Sniffing reads the file with a FileReader, which settles on a later task than promises do.
    await vi.waitFor(() => expect(calls.prepare).toHaveLength(1));
    calls.prepare[0].resolve(null);
    await flushPromises();

    expect(backend.callsTo(api.pictures.record)[0].args).toMatchObject({ fileName: "scan-0001", contentType: "image/png" });
  });

  it("refuses a file whose type is neither given nor recognisable before anything is uploaded, naming it", async () => {
    const { backend } = labellerBackend("full");
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(new File(["not an image at all"], "mystery", { type: "" }));
    calls.check[0].resolve();
    await vi.waitFor(() => expect(page.statusOf("mystery")).toBe("Failed"));
    expect(page.wrapper.text()).toContain(
      '"mystery" was not uploaded: it has no file type and its first bytes are none of image/jpeg, image/png, image/webp, image/gif, image/bmp or image/avif',
    );
    expect(calls.prepare).toHaveLength(0);
    expect(backend.calls.filter((call) => call.kind !== "query")).toEqual([]);
    expect(backend.uploads).toEqual([]);
    expect(page.wrapper.find('button[aria-label="Retry mystery"]').exists()).toBe(false);
  });

  it("works on at most two images at a time", async () => {
    const { backend } = labellerBackend();
    const { pipeline, calls } = controllablePipeline();
    const page = await mountLabelPage(backend, pipeline);

    await page.pick(image("a.jpg"), image("b.jpg"), image("c.jpg"), image("d.jpg"), image("e.jpg"));
    expect(calls.check).toHaveLength(2);
    expect(page.wrapper.find('[role="status"]').text()).toBe("5 images: 5 in progress, 0 done, 0 failed");

    calls.check[0].reject(new Error('"a.jpg" could not be decoded: bad header'));
    await flushPromises();
    expect(calls.check).toHaveLength(3);
  });

  it("shows the CLIP model download progress", async () => {
    const { backend } = labellerBackend();
    const { pipeline, modelStatus } = controllablePipeline();
    modelStatus.value = { phase: "loading", fraction: 0.25, error: null };
    const page = await mountLabelPage(backend, pipeline);
    const bar = page.wrapper.find('progress[aria-label="CLIP model download"]');
    expect((bar.element as HTMLProgressElement).value).toBe(0.25);

    modelStatus.value = { phase: "failed", fraction: null, error: "CLIP model loading failed: network down" };
    await flushPromises();
    expect(page.wrapper.find('progress[aria-label="CLIP model download"]').exists()).toBe(false);
    expect(page.wrapper.text()).toContain("CLIP model loading failed: network down");
  });

  it("moves the focus to the next result waiting for a label", async () => {
    const { backend, classify } = labellerBackend();
    backend.on(api.labels.set, { verdict: "accepted", labelledSet: "added" });
    const { pipeline, calls } = controllablePipeline();
    const host = document.body.appendChild(document.createElement("div"));
    const page = await mountLabelPage(backend, pipeline, host);

    await page.pick(image("a.jpg"), image("b.jpg"));
    for (const index of [0, 1]) {
      calls.check[index].resolve();
      await flushPromises();
      calls.prepare[index].resolve(stored);
      await flushPromises();
      calls.extract[index].resolve(new Float32Array(512));
      await flushPromises();
      classify.pending[index].resolve(classificationResult);
      await flushPromises();
    }
    const cards = page.wrapper.findAll("article.result-card");
    expect(cards).toHaveLength(2);
    (cards[0].element as HTMLElement).focus();
    await cards[0].trigger("keydown", { key: "a" });
    await flushPromises();
    expect(document.activeElement).toBe(cards[1].element);
    page.wrapper.unmount();
    host.remove();
  });
});
