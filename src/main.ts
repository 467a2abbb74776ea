import { createApp, h } from "vue";
import { createPinia } from "pinia";
import App from "./App.vue";
import { provideBackend } from "./backend/backendClient";
import { createBackend } from "./backend/createBackend";
import { authKey, createAuth } from "./composables/useAuth";
import { createAppRouter } from "./router";
import { useSessionStore } from "./stores/session";
import "./styles.css";

async function start(): Promise<void> {
  const backend = await createBackend();
  const app = createApp(App);
  const pinia = createPinia();
  app.use(pinia);
  provideBackend(backend, app);
  const session = useSessionStore(pinia);
  const auth = createAuth(backend, session);
  auth.restoreSession();
  app.provide(authKey, auth);
  app.use(createAppRouter({ session, auth }));
  app.mount("#app");
}

start().catch((error: unknown) => {
  // Without a backend nothing else can render, so say why on the page itself.
  const message = error instanceof Error ? error.message : String(error);
  createApp({ render: () => h("main", { class: "startup-error", role: "alert" }, [h("h1", "The dashboard could not start"), h("p", message)]) }).mount("#app");
});
