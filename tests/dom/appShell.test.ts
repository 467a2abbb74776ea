import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { createMemoryHistory } from "vue-router";
import App from "../../src/App.vue";
import { backendKey } from "../../src/backend/backendClient";
import { createAuth } from "../../src/composables/useAuth";
import { createAppRouter } from "../../src/router";
import { useSessionStore, type SessionUser } from "../../src/stores/session";
import { FakeBackend } from "./fakeBackend";
import { userWithRole } from "./mountWithBackend";

/** The whole app as main.ts wires it, on a fake backend and an in-memory history. */
async function mountApp(user: SessionUser | null, path: string, backend = new FakeBackend()) {
  localStorage.clear();
  backend.on(api.users.me, user);
  const pinia = createPinia();
  setActivePinia(pinia);
  const session = useSessionStore(pinia);
  if (user) session.setTokens({ token: "jwt", refreshToken: "refresh" });
  const router = createAppRouter({ session, auth: createAuth(backend, session), history: createMemoryHistory() });
  await router.push(path);
  await router.isReady();
  const wrapper = mount(App, {
    global: {
      plugins: [pinia, router],
      provide: { [backendKey as symbol]: backend },
    },
  });
  await flushPromises();
  return { wrapper, router, session, backend };
}

const navLinks = (wrapper: ReturnType<typeof mount>) => wrapper.findAll('nav[aria-label="Main"] a').map((link) => link.text());

describe("app shell", () => {
  it("shows labellers only their pages", async () => {
    const { wrapper } = await mountApp(userWithRole("labeller"), "/not-allowed");
    expect(navLinks(wrapper)).toEqual(["Label", "Review", "History"]);
  });

  it("shows analysts only analytics", async () => {
    const { wrapper } = await mountApp(userWithRole("analyst"), "/not-allowed");
    expect(navLinks(wrapper)).toEqual(["Analytics"]);
  });

  it("shows admins every page", async () => {
    const { wrapper } = await mountApp(userWithRole("admin"), "/not-allowed");
    expect(navLinks(wrapper)).toEqual(["Label", "Review", "History", "Models", "Analytics", "Settings", "Audit"]);
  });

  // Each page is mounted by its own tests; these stop at the guard or a light page.
  it("sends each role from / to its start page", async () => {
    const landingFor = async (user: SessionUser) => {
      const pinia = createPinia();
      const session = useSessionStore(pinia);
      session.setTokens({ token: "jwt", refreshToken: "refresh" });
      const backend = new FakeBackend().on(api.users.me, user);
      const router = createAppRouter({ session, auth: createAuth(backend, session), history: createMemoryHistory() });
      await router.push("/");
      return router.currentRoute.value.path;
    };
    expect(await landingFor(userWithRole("labeller"))).toBe("/label");
    expect(await landingFor(userWithRole("analyst"))).toBe("/analytics");
    expect(await landingFor(userWithRole("admin"))).toBe("/models");
  });

  it("shows a labeller who opens /models a friendly not-allowed page", async () => {
    const { wrapper, router } = await mountApp(userWithRole("labeller"), "/models");
    expect(router.currentRoute.value.name).toBe("not-allowed");
    expect(wrapper.find("h1").text()).toBe("Not allowed");
    expect(wrapper.text()).toContain("/models is for admin; you are signed in as labeller.");
  });

  it("tells a user without a role to ask an admin", async () => {
    const { wrapper } = await mountApp(userWithRole(null), "/label");
    expect(navLinks(wrapper)).toEqual([]);
    expect(wrapper.text()).toContain("Your account has no role yet");
  });

  it("sends signed-out visitors to sign-in and remembers where they were going", async () => {
    const { wrapper, router } = await mountApp(null, "/history");
    expect(router.currentRoute.value.fullPath).toBe("/sign-in?redirect=/history");
    expect(wrapper.find("h1").text()).toBe("Sign in");
    expect(wrapper.find('nav[aria-label="Main"]').exists()).toBe(false);
  });

  it("moves a user off a page as soon as an admin takes the role away", async () => {
    let user = userWithRole("admin");
    const backend = new FakeBackend();
    const { router } = await mountApp(user, "/history", backend);
    backend.on(api.users.me, () => user);
    user = userWithRole("analyst");
    backend.refresh();
    await flushPromises();
    expect(router.currentRoute.value.name).toBe("not-allowed");
  });

  it("signs out through auth:signOut and returns to sign-in", async () => {
    const backend = new FakeBackend().on(api.auth.signOut, null);
    const { wrapper, router, session } = await mountApp(userWithRole("labeller"), "/not-allowed", backend);
    await wrapper.findAll("button").find((button) => button.text() === "Sign out")!.trigger("click");
    await flushPromises();
    expect(backend.callsTo(api.auth.signOut)).toHaveLength(1);
    expect(session.token).toBeNull();
    expect(localStorage.getItem("clipDashboard.authToken")).toBeNull();
    expect(router.currentRoute.value.name).toBe("sign-in");
  });

  it("returns to sign-in when the session ends on its own", async () => {
    const backend = new FakeBackend().on(api.pictures.list, { page: [], isDone: true, continueCursor: "" });
    const { router, session } = await mountApp(userWithRole("labeller"), "/history", backend);
    expect(router.currentRoute.value.path).toBe("/history");
    session.clear();
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe("/sign-in?redirect=/history");
  });
});
