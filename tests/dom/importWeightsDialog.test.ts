import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import ImportWeightsDialog from "../../src/components/ImportWeightsDialog.vue";
import { decodeWeights } from "../../convex/lib/weightsBinary";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const matrix = (rows: number, columns: number, value = 0.1) => Array.from({ length: rows }, () => Array.from({ length: columns }, () => value));

function weights(overrides: { layers?: unknown[] } = {}) {
  return {
    format: "clip-mlp-weights",
    formatVersion: 1,
    name: "tiny",
    classes: ["cat", "dog"],
    input: { dim: 4, clipModel: "Xenova/clip-vit-base-patch32", normalize: "none" },
    outputActivation: "sigmoid-normalized",
    layers: overrides.layers ?? [
      { weight: matrix(3, 4), bias: [0, 0, 0], activation: "relu" },
      { weight: matrix(2, 3), bias: [0, 0], activation: "none" },
    ],
  };
}

/** FileReader, because jsdom's Blob has no arrayBuffer(). */
function readBytes(blob: Blob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

async function mountDialog(backend: FakeBackend) {
  const { wrapper } = await mountWithBackend(ImportWeightsDialog, backend, { user: userWithRole("admin") });
  const pick = async (name: string, content: string) => {
    const input = wrapper.find('input[type="file"]');
    const file = new File([content], name, { type: "application/json" });
    // jsdom's Blob has no text(); browsers do.
    Object.defineProperty(file, "text", { value: async () => content });
    Object.defineProperty(input.element, "files", { value: [file], configurable: true });
    await input.trigger("change");
    await flushPromises();
  };
  return { wrapper, pick };
}

function adminBackend() {
  return new FakeBackend()
    .on(api.models.generateUploadUrl, "https://upload.example/weights")
    .on(api.models.register, ({ name }) => ({ versionId: fakeId("modelVersions", 9), number: 4, name }));
}

describe("ImportWeightsDialog", () => {
  it("lists every problem of a broken file with its path and uploads nothing", async () => {
    const backend = adminBackend();
    const { wrapper, pick } = await mountDialog(backend);
    const broken = weights({
      layers: [
        { weight: matrix(3, 5), bias: [0, 0, 0], activation: "relu" },
        { weight: matrix(2, 2), bias: [0], activation: "none" },
      ],
    });
    await pick("broken.json", JSON.stringify(broken));

    const problems = wrapper.findAll('ul[aria-label="Problems"] li').map((item) => item.text());
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.some((text) => text.startsWith("layers[0].weight:"))).toBe(true);
    expect(problems.some((text) => text.startsWith("layers[1].weight:"))).toBe(true);
    expect(problems.some((text) => text.startsWith("layers[1].bias:"))).toBe(true);
    expect(wrapper.text()).toContain(`${problems.length} problems in broken.json; nothing was uploaded.`);
    expect(wrapper.find('button[type="submit"]').attributes("disabled")).toBeDefined();

    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(backend.calls).toEqual([]);
  });

  it("reports invalid JSON as a problem of the whole file", async () => {
    const { wrapper, pick } = await mountDialog(adminBackend());
    await pick("truncated.json", '{"format": "clip-mlp-weights", "layers": [');
    const problems = wrapper.findAll('ul[aria-label="Problems"] li').map((item) => item.text());
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^invalid JSON at /);
  });

  it("converts a valid file to the binary format, uploads it and registers the version", async () => {
    const backend = adminBackend();
    const { wrapper, pick } = await mountDialog(backend);
    await pick("tiny.json", JSON.stringify(weights()));

    expect(wrapper.find('[aria-label="Validated weights"]').text()).toContain("2 classes · layers 4→3, 3→2 · 23 parameters");
    await wrapper.find('textarea').setValue("retrained on March data");
    await wrapper.find("form").trigger("submit");
    await flushPromises();

    expect(backend.uploads).toHaveLength(1);
    const decoded = decodeWeights(await readBytes(backend.uploads[0]));
    expect(decoded.classes).toEqual(["cat", "dog"]);
    expect(decoded.layers.map((layer) => [layer.inDim, layer.outDim])).toEqual([
      [4, 3],
      [3, 2],
    ]);
    expect(backend.callsTo(api.models.register)[0].args).toEqual({ storageId: "storage-1", name: "tiny", notes: "retrained on March data" });
    expect(wrapper.emitted("registered")).toEqual([[{ number: 4, name: "tiny" }]]);
  });

  it("shows the server's refusal and stays open", async () => {
    const backend = adminBackend().on(api.models.register, () => {
      throw new Error("Uncaught ConvexError: Version not registered: these weights are identical to version 1 'tiny' (same sha256).");
    });
    const { wrapper, pick } = await mountDialog(backend);
    await pick("tiny.json", JSON.stringify(weights()));
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe("Version not registered: these weights are identical to version 1 'tiny' (same sha256).");
    expect(wrapper.emitted("registered")).toBeUndefined();
  });

  it("imports a bare state_dict with the class names and normalisation given in the dialog", async () => {
    const backend = adminBackend();
    const { wrapper, pick } = await mountDialog(backend);
    const stateDict = { "net.0.weight": matrix(3, 512), "net.0.bias": [0, 0, 0], "net.2.weight": matrix(2, 3), "net.2.bias": [0, 0] };
    await pick("state_dict.json", JSON.stringify(stateDict));
    expect(wrapper.find('[aria-label="Validated weights"]').text()).toContain("no class names given; using class_0..class_1");

    await wrapper.find('input[placeholder="cat, dog, bird"]').setValue("cat, dog");
    const [normalize] = wrapper.findAll("select");
    await normalize.setValue("l2");
    const validated = wrapper.find('[aria-label="Validated weights"]').text();
    expect(validated).toContain("(state_dict)");
    expect(validated).toContain("2 classes · layers 512→3, 3→2");
    expect(validated).toContain("(l2)");
    expect(validated).not.toContain("no class names given");

    await wrapper.find("form").trigger("submit");
    await flushPromises();
    const decoded = decodeWeights(await readBytes(backend.uploads[0]));
    expect(decoded.classes).toEqual(["cat", "dog"]);
    expect(decoded.input.normalize).toBe("l2");
  });
});
