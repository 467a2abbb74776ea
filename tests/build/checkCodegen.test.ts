import { describe, expect, it } from "vitest";
import { apiDeclarations, staleFiles } from "../../tools/build/checkCodegen";

const offlineApiJs = `/* eslint-disable */
import { anyApi } from "convex/server";

export const api = anyApi;
export const internal = anyApi;
`;

const offlineApiDts = `/* eslint-disable */
import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as models from "../models.js";
import type * as lib_metrics from "../lib/metrics.js";

declare const fullApi: ApiFromModules<{
  models: typeof models;
  "lib/metrics": typeof lib_metrics;
}>;
export declare const api: FilterApi<typeof fullApi, FunctionReference<any, "public">>;
export declare const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">>;
`;

// The shape a real `npx convex dev` writes (convex/dist/esm/cli/codegen_templates/component_api.js:
// componentApiJs, and componentApiDTS with codegenDynamicApiObjects): components added, imports first.
const realCliApiJs = `/* eslint-disable */
import { anyApi, componentsGeneric } from "convex/server";

/**
 * A utility for referencing Convex functions in your app's API.
 */
export const api = anyApi;
export const internal = anyApi;
export const components = componentsGeneric();
`;

const realCliApiDts = `/* eslint-disable */
import type * as lib_metrics from "../lib/metrics.js";
import type * as models from "../models.js";

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";

declare const fullApi: ApiFromModules<{
  "lib/metrics": typeof lib_metrics;
  models: typeof models;
}>;

/** A utility for referencing Convex functions in your app's public API. */
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {};
`;

const fresh = new Map([
  ["api.js", offlineApiJs],
  ["api.d.ts", offlineApiDts],
  ["server.js", "export const query = queryGeneric;\n"],
]);

describe("codegen:check", () => {
  it("accepts the committed offline form", () => {
    expect(staleFiles(fresh, new Map(fresh))).toEqual([]);
  });

  it("accepts what a real `npx convex dev` writes (components added, declarations reordered)", () => {
    const committed = new Map(fresh);
    committed.set("api.js", realCliApiJs);
    committed.set("api.d.ts", realCliApiDts);
    expect(staleFiles(fresh, committed)).toEqual([]);
  });

  it("reports an api file that misses or adds a function module, in either form", () => {
    const missing = new Map(fresh);
    missing.set("api.d.ts", realCliApiDts.replace(/.*lib_metrics.*\n/g, ""));
    expect(staleFiles(fresh, missing)).toEqual(["api.d.ts"]);
    const extra = new Map(fresh);
    extra.set("api.d.ts", offlineApiDts.replace('import type * as models from "../models.js";', 'import type * as models from "../models.js";\nimport type * as old from "../old.js";'));
    expect(staleFiles(fresh, extra)).toEqual(["api.d.ts"]);
  });

  it("compares every other file byte for byte, and reports missing and extra files", () => {
    const changed = new Map(fresh);
    changed.set("server.js", "export const query = somethingElse;\n");
    changed.delete("api.js");
    changed.set("api_cjs.cjs", "module.exports = {};\n");
    expect(staleFiles(fresh, changed)).toEqual(["api.js", "api_cjs.cjs", "server.js"]);
  });

  it("reads modules and exports from either form", () => {
    expect(apiDeclarations(realCliApiDts)).toEqual({ modules: ["lib/metrics", "models"], exports: ["api", "internal"] });
    expect(apiDeclarations(offlineApiJs)).toEqual({ modules: [], exports: ["api", "internal"] });
  });
});
