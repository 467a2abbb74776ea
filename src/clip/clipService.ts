/**
 * The CLIP worker's message handling, apart from browser specifics so it can
 * run (and be tested) in Node too: one lazily loaded model, requests
 * validated at the edge, features posted with their buffer transferred.
 */
import type { ClipConfig, ClipRuntimeDevice } from "./clipConfig.ts";
import { resolveClipConfig } from "./clipConfig.ts";
import { parseClipRequest, requestIdOf, type ClipResponse } from "./clipProtocol.ts";
import { disposeClipModel, extractImageEmbeddings, loadClipModel, RawImage, type ClipModel } from "./loadClipModel.ts";

export interface ClipServiceHost {
  /** The device to run on for this config (the browser probes for a WebGPU adapter). */
  resolveDevice(config: ClipConfig): Promise<ClipRuntimeDevice>;
  /** ONNX Runtime threads in use, reported with "ready". */
  threads: number;
  post(message: ClipResponse, transfer?: Transferable[]): void;
}

export interface ClipService {
  handle(data: unknown): Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function decodeImage(image: Blob | ArrayBuffer, name: string | undefined): Promise<RawImage> {
  try {
    return await RawImage.fromBlob(image instanceof Blob ? image : new Blob([image]));
  } catch (error) {
    throw new Error(`${name ? `"${name}"` : "The image"} could not be decoded: ${messageOf(error)}`);
  }
}

export function createClipService(host: ClipServiceHost): ClipService {
  let instance: Promise<ClipModel> | undefined;
  let instanceKey: string | undefined;
  async function load(config: ClipConfig): Promise<ClipModel> {
    const resolved = resolveClipConfig(config, await host.resolveDevice(config));
    return loadClipModel(resolved, { onProgress: (progress) => host.post({ status: "progress", ...progress }) });
  }

  async function ensureLoaded(config: ClipConfig): Promise<ClipModel> {
    const key = JSON.stringify(config);
    if (instance && instanceKey !== key) {
      const previous = instance;
      instance = undefined;
      await previous.then(disposeClipModel, () => undefined);
    }
    instanceKey = key;
    instance ??= load(config);
    try {
      return await instance;
    } catch (error) {
      // A failed load is retried on the next "load" instead of failing forever.
      instance = undefined;
      throw error;
    }
  }

  async function extract(id: number, image: Blob | ArrayBuffer, name: string | undefined): Promise<void> {
    if (!instance) {
      host.post({ status: "error", id, message: 'The CLIP model is not loaded: send {type: "load"} before "extract"' });
      return;
    }
    try {
      const clip = await instance;
      const [features] = await extractImageEmbeddings(clip, [await decodeImage(image, name)]);
      host.post({ status: "result", id, features }, [features.buffer as ArrayBuffer]);
    } catch (error) {
      host.post({ status: "error", id, message: messageOf(error) });
    }
  }

  return {
    async handle(data) {
      let request;
      try {
        request = parseClipRequest(data);
      } catch (error) {
        host.post({ status: "error", id: requestIdOf(data), message: messageOf(error) });
        return;
      }
      if (request.type === "extract") return extract(request.id, request.image, request.name);
      try {
        const clip = await ensureLoaded(request.config);
        host.post({ status: "ready", device: clip.config.device, dtype: clip.config.dtype, threads: host.threads });
      } catch (error) {
        host.post({ status: "error", message: messageOf(error) });
      }
    },
  };
}
