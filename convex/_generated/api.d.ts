/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as audit from "../audit.js";
import type * as auth from "../auth.js";
import type * as functions from "../functions.js";
import type * as http from "../http.js";
import type * as lib_classificationResult from "../lib/classificationResult.js";
import type * as lib_days from "../lib/days.js";
import type * as lib_jsonText from "../lib/jsonText.js";
import type * as lib_metrics from "../lib/metrics.js";
import type * as lib_mlpModel from "../lib/mlpModel.js";
import type * as lib_settings from "../lib/settings.js";
import type * as lib_weightsBinary from "../lib/weightsBinary.js";
import type * as lib_weightsFormat from "../lib/weightsFormat.js";
import type * as lib_weightsImport from "../lib/weightsImport.js";
import type * as lib_weightsValidation from "../lib/weightsValidation.js";
import type * as settings from "../settings.js";
import type * as users from "../users.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  audit: typeof audit;
  auth: typeof auth;
  functions: typeof functions;
  http: typeof http;
  "lib/classificationResult": typeof lib_classificationResult;
  "lib/days": typeof lib_days;
  "lib/jsonText": typeof lib_jsonText;
  "lib/metrics": typeof lib_metrics;
  "lib/mlpModel": typeof lib_mlpModel;
  "lib/settings": typeof lib_settings;
  "lib/weightsBinary": typeof lib_weightsBinary;
  "lib/weightsFormat": typeof lib_weightsFormat;
  "lib/weightsImport": typeof lib_weightsImport;
  "lib/weightsValidation": typeof lib_weightsValidation;
  settings: typeof settings;
  users: typeof users;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;
