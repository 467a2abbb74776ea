import { createRouter, createWebHistory, type RouteLocationRaw, type Router, type RouterHistory, type RouteRecordRaw } from "vue-router";
import type { Auth } from "./composables/useAuth";
import type { Role, SessionStore } from "./stores/session";
import { signInComponent } from "./signInComponent";

declare module "vue-router" {
  interface RouteMeta {
    /** Roles that may open the page; admins may open every page. Absent = public. */
    roles?: readonly Role[];
    /** Link text in the navigation bar; pages without it are not listed. */
    navLabel?: string;
  }
}

const labellerPages: readonly Role[] = ["labeller"];
const analystPages: readonly Role[] = ["analyst"];
const adminPages: readonly Role[] = ["admin"];

export const routes: RouteRecordRaw[] = [
  // "/" only redirects (in the guard) to the signed-in role's main page.
  { path: "/", name: "home", component: { render: () => null } },
  { path: "/sign-in", name: "sign-in", component: signInComponent },
  { path: "/not-allowed", name: "not-allowed", component: () => import("./pages/NotAllowedPage.vue") },
  { path: "/label", name: "label", component: () => import("./pages/LabelPage.vue"), meta: { roles: labellerPages, navLabel: "Label" } },
  { path: "/review", name: "review", component: () => import("./pages/ReviewPage.vue"), meta: { roles: labellerPages, navLabel: "Review" } },
  { path: "/history", name: "history", component: () => import("./pages/HistoryPage.vue"), meta: { roles: labellerPages, navLabel: "History" } },
  { path: "/models", name: "models", component: () => import("./pages/ModelsPage.vue"), meta: { roles: adminPages, navLabel: "Models" } },
  { path: "/analytics", name: "analytics", component: () => import("./pages/AnalyticsPage.vue"), meta: { roles: analystPages, navLabel: "Analytics" } },
  { path: "/settings", name: "settings", component: () => import("./pages/SettingsPage.vue"), meta: { roles: adminPages, navLabel: "Settings" } },
  { path: "/audit", name: "audit", component: () => import("./pages/AuditPage.vue"), meta: { roles: adminPages, navLabel: "Audit" } },
  { path: "/:unknown(.*)*", name: "not-found", component: () => import("./pages/NotFoundPage.vue") },
];

export function canOpen(allowed: readonly Role[] | undefined, role: Role | null): boolean {
  if (allowed === undefined) return true;
  if (role === null) return false;
  return role === "admin" || allowed.includes(role);
}

/** Where "/" leads for each role: the page that role uses most. */
export function homePathFor(role: Role | null): string {
  if (role === "admin") return "/models";
  if (role === "analyst") return "/analytics";
  if (role === "labeller") return "/label";
  return "/not-allowed";
}

export interface AppRouterOptions {
  session: SessionStore;
  auth: Pick<Auth, "loadUser">;
  history?: RouterHistory;
}

export function createAppRouter({ session, auth, history = createWebHistory() }: AppRouterOptions): Router {
  const router = createRouter({ history, routes });

  router.beforeEach(async (to): Promise<RouteLocationRaw | true> => {
    const isPublic = to.meta.roles === undefined && to.name !== "home";
    if (isPublic) return true;
    if (!session.isSignedIn) {
      return { name: "sign-in", query: to.name === "home" ? {} : { redirect: to.fullPath } };
    }
    if (!session.userLoaded) {
      try {
        await auth.loadUser();
      } catch {
        // The server could not say who we are (expired session): sign in again.
        session.clear();
        return { name: "sign-in", query: { redirect: to.fullPath } };
      }
    }
    if (session.user === null) {
      session.clear();
      return { name: "sign-in", query: { redirect: to.fullPath } };
    }
    if (to.name === "home") return homePathFor(session.role);
    if (!canOpen(to.meta.roles, session.role)) {
      return { name: "not-allowed", query: { from: to.fullPath } };
    }
    return true;
  });

  return router;
}
