/**
 * Deterministic synthetic scene images for tests, e2e uploads and the demo
 * MLP. Each class is a distinct colour layout (the tiny-clip model only sees
 * a 4×4 grid of average colours), with per-sample jitter in brightness,
 * layout and size plus pixel noise, so no two samples are identical.
 */
import sharp from "sharp";
import { seededRandom } from "../convex/lib/seededRandom.ts";

export const demoClasses = ["sunset", "forest", "ocean", "snow", "desert", "night", "meadow", "lava", "sky", "roses", "autumn", "fog"] as const;
export type DemoClass = (typeof demoClasses)[number];

type Rgb = readonly [number, number, number];

export interface DemoImage {
  className: DemoClass;
  /** `<class>/<class>-<index>.png`, relative to the images folder. */
  path: string;
  width: number;
  height: number;
  png: Uint8Array;
}

export interface DemoImageOptions {
  perClass?: number;
  seed?: number;
  classes?: readonly DemoClass[];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const k = Math.min(1, Math.max(0, t));
  return [a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k, a[2] + (b[2] - a[2]) * k];
}

interface SampleParams {
  random: () => number;
  /** Horizon or feature position, jittered per sample (0..1). */
  split: number;
  /** Secondary position (sun, trunk phase, cloud centre). */
  offset: number;
}

/** Colour of a scene at (u, v) in [0,1]², v growing downwards. */
type Painter = (u: number, v: number, p: SampleParams) => Rgb;

const painters: Record<DemoClass, Painter> = {
  sunset: (u, v, p) => {
    const horizon = 0.55 + (p.split - 0.5) * 0.2;
    const sunDistance = Math.hypot(u - (0.3 + p.offset * 0.4), (v - horizon + 0.08) * 1.3);
    if (sunDistance < 0.12) return [255, 226, 120];
    return v < horizon ? mix([250, 120, 40], [255, 190, 90], v / horizon) : mix([90, 30, 70], [40, 15, 45], (v - horizon) / (1 - horizon));
  },
  forest: (u, v, p) => {
    const trunk = Math.sin((u + p.offset) * Math.PI * 10) > 0.75 && v > 0.35;
    if (trunk) return [80, 55, 30];
    return mix([30, 90, 35], [15, 55, 20], v + (p.split - 0.5) * 0.3);
  },
  ocean: (u, v, p) => {
    const horizon = 0.3 + (p.split - 0.5) * 0.15;
    if (v < horizon) return mix([150, 200, 240], [120, 180, 230], v / horizon);
    const wave = Math.sin((u * 12 + v * 30 + p.offset * 6) * Math.PI) * 12;
    const [r, g, b] = mix([20, 90, 160], [10, 40, 100], (v - horizon) / (1 - horizon));
    return [r + wave, g + wave, b + wave];
  },
  snow: (u, v, p) => mix([235, 240, 250], [210, 220, 235], v * 0.6 + Math.abs(u - p.offset) * 0.3),
  desert: (u, v, p) => {
    const horizon = 0.35 + (p.split - 0.5) * 0.15;
    const dune = horizon + Math.sin((u + p.offset) * Math.PI * 3) * 0.04;
    return v < dune ? mix([120, 170, 225], [175, 205, 235], v / dune) : mix([230, 190, 120], [200, 150, 80], (v - dune) / (1 - dune));
  },
  night: (u, v, p) => {
    const star = p.random() < 0.004;
    if (star) return [250, 250, 235];
    const moon = Math.hypot(u - (0.2 + p.offset * 0.6), v - (0.2 + p.split * 0.1)) < 0.07;
    return moon ? [230, 230, 200] : mix([15, 20, 50], [5, 5, 15], v);
  },
  meadow: (u, v, p) => {
    const horizon = 0.4 + (p.split - 0.5) * 0.15;
    if (v < horizon) return mix([90, 160, 235], [160, 210, 245], v / horizon);
    const flower = p.random() < 0.01;
    return flower ? [250, 240, 90] : mix([110, 190, 60], [70, 150, 40], (v - horizon) / (1 - horizon));
  },
  lava: (u, v, p) => {
    const flow = Math.sin((u * 4 + Math.sin(v * 6 + p.offset * 5)) * Math.PI);
    return flow > 0.55 - p.split * 0.2 ? mix([255, 90, 10], [255, 200, 40], flow) : mix([40, 20, 18], [25, 10, 10], v);
  },
  sky: (u, v, p) => {
    const cloud = Math.hypot((u - p.offset) * 0.7, v - p.split * 0.6 - 0.2) < 0.16 || Math.hypot(u - (1 - p.offset), v - 0.7) < 0.1;
    return cloud ? [245, 248, 252] : mix([60, 130, 230], [150, 200, 250], v);
  },
  roses: (u, v, p) => {
    const petals = Math.sin((u + p.offset) * Math.PI * 5) * Math.sin((v + p.split) * Math.PI * 5) > 0.35;
    return petals ? mix([210, 20, 50], [150, 10, 35], v) : mix([35, 85, 40], [20, 60, 25], u);
  },
  autumn: (u, v, p) => {
    const blotch = Math.sin((u * 7 + p.offset * 3) * Math.PI) + Math.cos((v * 6 + p.split * 2) * Math.PI);
    return blotch > 0.5 ? [230, 120, 20] : blotch > -0.5 ? [200, 60, 25] : [225, 180, 40];
  },
  fog: (u, v, p) => mix([185, 190, 192], [160, 165, 168], v * 0.5 + Math.abs(u - p.offset) * 0.2),
};

const sampleSizes: ReadonlyArray<readonly [number, number]> = [
  [160, 120],
  [120, 160],
  [128, 128],
  [144, 96],
  [96, 144],
];

function classSeed(className: DemoClass, index: number, seed: number): number {
  let hash = seed ^ 0x811c9dc5;
  for (const char of `${className}:${index}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}

/** The raw RGB pixels of one sample; exported for tests that avoid PNG encoding. */
export function renderDemoPixels(className: DemoClass, index: number, seed = 1): { width: number; height: number; rgb: Uint8Array } {
  const random = seededRandom(classSeed(className, index, seed));
  const [width, height] = sampleSizes[index % sampleSizes.length];
  const params: SampleParams = { random, split: random(), offset: random() };
  const brightness = 0.9 + random() * 0.2;
  const paint = painters[className];
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = paint((x + 0.5) / width, (y + 0.5) / height, params);
      const noise = (random() - 0.5) * 16;
      for (let c = 0; c < 3; c++) {
        rgb[(y * width + x) * 3 + c] = Math.round(Math.min(255, Math.max(0, colour[c] * brightness + noise)));
      }
    }
  }
  return { width, height, rgb };
}

/** `perClass` deterministic PNGs for each class, in class order. */
export async function generateDemoImages(options: DemoImageOptions = {}): Promise<DemoImage[]> {
  const perClass = options.perClass ?? 3;
  const seed = options.seed ?? 1;
  const images: DemoImage[] = [];
  for (const className of options.classes ?? demoClasses) {
    for (let index = 0; index < perClass; index++) {
      const { width, height, rgb } = renderDemoPixels(className, index, seed);
      const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer();
      images.push({ className, path: `${className}/${className}-${index + 1}.png`, width, height, png: new Uint8Array(png) });
    }
  }
  return images;
}
