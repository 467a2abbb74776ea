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
import type * as auditLog from "../auditLog.js";
import type * as auth from "../auth.js";
import type * as classifications from "../classifications.js";
import type * as crons from "../crons.js";
import type * as deployment from "../deployment.js";
import type * as embeddings from "../embeddings.js";
import type * as evaluation from "../evaluation.js";
import type * as functions from "../functions.js";
import type * as http from "../http.js";
import type * as labelledSet from "../labelledSet.js";
import type * as labels from "../labels.js";
import type * as lib_activationGate from "../lib/activationGate.js";
import type * as lib_classificationResult from "../lib/classificationResult.js";
import type * as lib_clipFingerprint from "../lib/clipFingerprint.js";
import type * as lib_clipFingerprintFile from "../lib/clipFingerprintFile.js";
import type * as lib_days from "../lib/days.js";
import type * as lib_drift from "../lib/drift.js";
import type * as lib_embeddingProjection from "../lib/embeddingProjection.js";
import type * as lib_errorMessage from "../lib/errorMessage.js";
import type * as lib_features from "../lib/features.js";
import type * as lib_imageTypes from "../lib/imageTypes.js";
import type * as lib_inputProblems from "../lib/inputProblems.js";
import type * as lib_jsonText from "../lib/jsonText.js";
import type * as lib_labelErrors from "../lib/labelErrors.js";
import type * as lib_labelledEvaluation from "../lib/labelledEvaluation.js";
import type * as lib_metrics from "../lib/metrics.js";
import type * as lib_mlpForward from "../lib/mlpForward.js";
import type * as lib_mlpKernelBytes from "../lib/mlpKernelBytes.js";
import type * as lib_mlpModel from "../lib/mlpModel.js";
import type * as lib_mlpWasmKernel from "../lib/mlpWasmKernel.js";
import type * as lib_pairedStats from "../lib/pairedStats.js";
import type * as lib_pictureRecord from "../lib/pictureRecord.js";
import type * as lib_seededRandom from "../lib/seededRandom.js";
import type * as lib_settings from "../lib/settings.js";
import type * as lib_shapes from "../lib/shapes.js";
import type * as lib_signUp from "../lib/signUp.js";
import type * as lib_softmax from "../lib/softmax.js";
import type * as lib_softmaxRegression from "../lib/softmaxRegression.js";
import type * as lib_versionChecks from "../lib/versionChecks.js";
import type * as lib_versionLabel from "../lib/versionLabel.js";
import type * as lib_weightsBinary from "../lib/weightsBinary.js";
import type * as lib_weightsFormat from "../lib/weightsFormat.js";
import type * as lib_weightsImport from "../lib/weightsImport.js";
import type * as lib_weightsSchema from "../lib/weightsSchema.js";
import type * as lib_weightsValidation from "../lib/weightsValidation.js";
import type * as model_audit from "../model/audit.js";
import type * as model_counters from "../model/counters.js";
import type * as model_deployment from "../model/deployment.js";
import type * as model_evaluation from "../model/evaluation.js";
import type * as model_features from "../model/features.js";
import type * as model_labelledSet from "../model/labelledSet.js";
import type * as model_labels from "../model/labels.js";
import type * as model_metricsRefresh from "../model/metricsRefresh.js";
import type * as model_pictures from "../model/pictures.js";
import type * as model_scheduledChains from "../model/scheduledChains.js";
import type * as model_settings from "../model/settings.js";
import type * as model_storage from "../model/storage.js";
import type * as model_suspects from "../model/suspects.js";
import type * as model_versions from "../model/versions.js";
import type * as model_weights from "../model/weights.js";
import type * as models from "../models.js";
import type * as pictures from "../pictures.js";
import type * as replays from "../replays.js";
import type * as settings from "../settings.js";
import type * as suspectSearch from "../suspectSearch.js";
import type * as suspects from "../suspects.js";
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
  auditLog: typeof auditLog;
  auth: typeof auth;
  classifications: typeof classifications;
  crons: typeof crons;
  deployment: typeof deployment;
  embeddings: typeof embeddings;
  evaluation: typeof evaluation;
  functions: typeof functions;
  http: typeof http;
  labelledSet: typeof labelledSet;
  labels: typeof labels;
  "lib/activationGate": typeof lib_activationGate;
  "lib/classificationResult": typeof lib_classificationResult;
  "lib/clipFingerprint": typeof lib_clipFingerprint;
  "lib/clipFingerprintFile": typeof lib_clipFingerprintFile;
  "lib/days": typeof lib_days;
  "lib/drift": typeof lib_drift;
  "lib/embeddingProjection": typeof lib_embeddingProjection;
  "lib/errorMessage": typeof lib_errorMessage;
  "lib/features": typeof lib_features;
  "lib/imageTypes": typeof lib_imageTypes;
  "lib/inputProblems": typeof lib_inputProblems;
  "lib/jsonText": typeof lib_jsonText;
  "lib/labelErrors": typeof lib_labelErrors;
  "lib/labelledEvaluation": typeof lib_labelledEvaluation;
  "lib/metrics": typeof lib_metrics;
  "lib/mlpForward": typeof lib_mlpForward;
  "lib/mlpKernelBytes": typeof lib_mlpKernelBytes;
  "lib/mlpModel": typeof lib_mlpModel;
  "lib/mlpWasmKernel": typeof lib_mlpWasmKernel;
  "lib/pairedStats": typeof lib_pairedStats;
  "lib/pictureRecord": typeof lib_pictureRecord;
  "lib/seededRandom": typeof lib_seededRandom;
  "lib/settings": typeof lib_settings;
  "lib/shapes": typeof lib_shapes;
  "lib/signUp": typeof lib_signUp;
  "lib/softmax": typeof lib_softmax;
  "lib/softmaxRegression": typeof lib_softmaxRegression;
  "lib/versionChecks": typeof lib_versionChecks;
  "lib/versionLabel": typeof lib_versionLabel;
  "lib/weightsBinary": typeof lib_weightsBinary;
  "lib/weightsFormat": typeof lib_weightsFormat;
  "lib/weightsImport": typeof lib_weightsImport;
  "lib/weightsSchema": typeof lib_weightsSchema;
  "lib/weightsValidation": typeof lib_weightsValidation;
  "model/audit": typeof model_audit;
  "model/counters": typeof model_counters;
  "model/deployment": typeof model_deployment;
  "model/evaluation": typeof model_evaluation;
  "model/features": typeof model_features;
  "model/labelledSet": typeof model_labelledSet;
  "model/labels": typeof model_labels;
  "model/metricsRefresh": typeof model_metricsRefresh;
  "model/pictures": typeof model_pictures;
  "model/scheduledChains": typeof model_scheduledChains;
  "model/settings": typeof model_settings;
  "model/storage": typeof model_storage;
  "model/suspects": typeof model_suspects;
  "model/versions": typeof model_versions;
  "model/weights": typeof model_weights;
  models: typeof models;
  pictures: typeof pictures;
  replays: typeof replays;
  settings: typeof settings;
  suspectSearch: typeof suspectSearch;
  suspects: typeof suspects;
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
