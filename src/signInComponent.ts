import { defineAsyncComponent, type Component } from "vue";
import SignInPage from "./pages/SignInPage.vue";

/**
 * The one place that decides which sign-in page the app shows. The offline demo
 * (VITE_DEMO=true) swaps in a role picker from src/demo/DemoSignIn.vue. The glob
 * sits inside the branch so a production build never bundles demo code.
 */
function resolveSignInComponent(): Component {
  if (import.meta.env.VITE_DEMO === "true") {
    const demoPages = import.meta.glob<{ default: Component }>("./demo/DemoSignIn.vue");
    const loadDemoPage = demoPages["./demo/DemoSignIn.vue"];
    if (loadDemoPage) return defineAsyncComponent(loadDemoPage);
  }
  return SignInPage;
}

export const signInComponent: Component = resolveSignInComponent();
