import type { RouteComponent } from "vue-router";
import SignInPage from "./pages/SignInPage.vue";

type LazyRouteComponent = () => Promise<RouteComponent | { default: RouteComponent }>;

/**
 * The one place that decides which sign-in page the app shows. The offline demo
 * (VITE_DEMO=true) swaps in a role picker from src/demo/DemoSignIn.vue. The glob
 * sits inside the branch so a production build never bundles demo code.
 */
function resolveSignInComponent(): RouteComponent | LazyRouteComponent {
  if (import.meta.env.VITE_DEMO === "true") {
    const demoPages = import.meta.glob<{ default: RouteComponent }>("./demo/DemoSignIn.vue");
    const loadDemoPage = demoPages["./demo/DemoSignIn.vue"];
    if (loadDemoPage) return loadDemoPage;
  }
  return SignInPage;
}

export const signInComponent = resolveSignInComponent();
