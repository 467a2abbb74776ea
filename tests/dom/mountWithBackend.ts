import { mount, flushPromises, type ComponentMountingOptions } from "@vue/test-utils";
import { createPinia, setActivePinia, type Pinia } from "pinia";
import type { Component } from "vue";
import { createMemoryHistory, createRouter, type Router } from "vue-router";
import { backendKey } from "../../src/backend/backendClient";
import { routes } from "../../src/router";
import { useSessionStore, type SessionUser } from "../../src/stores/session";
import { fakeId, type FakeBackend } from "./fakeBackend";

export interface MountedPage {
  wrapper: ReturnType<typeof mount>;
  router: Router;
  pinia: Pinia;
}

/** Mounts a component the way the app does: Pinia, a router and the injected backend. */
export async function mountWithBackend(
  component: Component,
  backend: FakeBackend,
  options: {
    user?: SessionUser | null;
    path?: string;
    props?: Record<string, unknown>;
    attachTo?: HTMLElement;
    provide?: Record<symbol, unknown>;
    stubs?: Record<string, boolean>;
  } = {},
): Promise<MountedPage> {
  const pinia = createPinia();
  setActivePinia(pinia);
  const session = useSessionStore(pinia);
  if (options.user) {
    session.setTokens({ token: "test-token", refreshToken: "test-refresh" });
    session.setUser(options.user);
  }
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(options.path ?? "/sign-in");
  await router.isReady();
  const mountOptions: ComponentMountingOptions<any> = {
    props: options.props,
    attachTo: options.attachTo,
    global: { plugins: [pinia, router], provide: { [backendKey as symbol]: backend, ...options.provide }, stubs: options.stubs },
  };
  const wrapper = mount(component, mountOptions);
  await flushPromises();
  return { wrapper, router, pinia };
}

export function userWithRole(role: SessionUser["role"]): SessionUser {
  return { _id: fakeId("users", 1), email: `${role ?? "nobody"}@example.com`, name: null, role };
}
