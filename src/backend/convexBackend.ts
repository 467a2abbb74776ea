import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { getFunctionName } from "convex/server";
import { postToUploadUrl, type BackendClient } from "./backendClient";

/** The production client: a real Convex WebSocket client behind the app's BackendClient boundary. */
export function createConvexBackend(deploymentUrl: string): BackendClient {
  const client = new ConvexClient(deploymentUrl);
  // The WebSocket pauses while it waits for a fresh token, so the refresh call
  // (auth:signIn with a refresh token) must not go through it or it never returns.
  // Sign-in needs no identity anyway; @convex-dev/auth's own client does the same.
  const unauthenticated = new ConvexHttpClient(deploymentUrl);
  return {
    onUpdate: (query, args, callback, onError) => {
      const unsubscribe = client.onUpdate(query, args, callback, onError);
      return () => unsubscribe();
    },
    query: (query, args) => client.query(query, args),
    mutation: (mutation, args) => client.mutation(mutation, args),
    action: (action, args) =>
      getFunctionName(action) === "auth:signIn" ? unauthenticated.action(action, args) : client.action(action, args),
    setAuth: (fetchToken, onChange) => client.setAuth(fetchToken, onChange),
    // ConvexClient has no public clearAuth; its underlying BaseConvexClient does.
    clearAuth: () => client.client.clearAuth(),
    close: () => client.close(),
    uploadFile: (uploadUrl, blob) => postToUploadUrl(uploadUrl, blob),
  };
}
