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
import type * as analytics from "../analytics.js";
import type * as audit from "../audit.js";
import type * as auth from "../auth.js";
import type * as crons from "../crons.js";
import type * as dailyCounts from "../dailyCounts.js";
import type * as functions from "../functions.js";
import type * as http from "../http.js";
import type * as imageClassification from "../imageClassification.js";
import type * as labelledSet from "../labelledSet.js";
import type * as labels from "../labels.js";
import type * as lib_classificationResult from "../lib/classificationResult.js";
import type * as lib_days from "../lib/days.js";
import type * as lib_drift from "../lib/drift.js";
import type * as lib_features from "../lib/features.js";
import type * as lib_imageTypes from "../lib/imageTypes.js";
import type * as lib_jsonText from "../lib/jsonText.js";
import type * as lib_labelledEvaluation from "../lib/labelledEvaluation.js";
import type * as lib_metrics from "../lib/metrics.js";
import type * as lib_mlpForward from "../lib/mlpForward.js";
import type * as lib_mlpKernelBytes from "../lib/mlpKernelBytes.js";
import type * as lib_mlpModel from "../lib/mlpModel.js";
import type * as lib_mlpWasmKernel from "../lib/mlpWasmKernel.js";
import type * as lib_settings from "../lib/settings.js";
import type * as lib_versionChecks from "../lib/versionChecks.js";
import type * as lib_versionLabel from "../lib/versionLabel.js";
import type * as lib_weightsBinary from "../lib/weightsBinary.js";
import type * as lib_weightsFormat from "../lib/weightsFormat.js";
import type * as lib_weightsImport from "../lib/weightsImport.js";
import type * as lib_weightsValidation from "../lib/weightsValidation.js";
import type * as models from "../models.js";
import type * as pictures from "../pictures.js";
import type * as replay from "../replay.js";
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
  analytics: typeof analytics;
  audit: typeof audit;
  auth: typeof auth;
  crons: typeof crons;
  dailyCounts: typeof dailyCounts;
  functions: typeof functions;
  http: typeof http;
  imageClassification: typeof imageClassification;
  labelledSet: typeof labelledSet;
  labels: typeof labels;
  "lib/classificationResult": typeof lib_classificationResult;
  "lib/days": typeof lib_days;
  "lib/drift": typeof lib_drift;
  "lib/features": typeof lib_features;
  "lib/imageTypes": typeof lib_imageTypes;
  "lib/jsonText": typeof lib_jsonText;
  "lib/labelledEvaluation": typeof lib_labelledEvaluation;
  "lib/metrics": typeof lib_metrics;
  "lib/mlpForward": typeof lib_mlpForward;
  "lib/mlpKernelBytes": typeof lib_mlpKernelBytes;
  "lib/mlpModel": typeof lib_mlpModel;
  "lib/mlpWasmKernel": typeof lib_mlpWasmKernel;
  "lib/settings": typeof lib_settings;
  "lib/versionChecks": typeof lib_versionChecks;
  "lib/versionLabel": typeof lib_versionLabel;
  "lib/weightsBinary": typeof lib_weightsBinary;
  "lib/weightsFormat": typeof lib_weightsFormat;
  "lib/weightsImport": typeof lib_weightsImport;
  "lib/weightsValidation": typeof lib_weightsValidation;
  models: typeof models;
  pictures: typeof pictures;
  replay: typeof replay;
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
