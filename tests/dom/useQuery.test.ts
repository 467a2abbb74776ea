import { describe, expect, it } from "vitest";
import { defineComponent, h, nextTick, ref, type Ref } from "vue";
import { flushPromises, mount } from "@vue/test-utils";
import { makeFunctionReference } from "convex/server";
import { backendKey } from "../../src/backend/backendClient";
import { untilLoaded, useQuery, type QueryState } from "../../src/composables/useQuery";
import { FakeBackend } from "./fakeBackend";

const countQuery = makeFunctionReference<"query", { label: string }, number>("pictures:count");
const addMutation = makeFunctionReference<"mutation", Record<string, never>, null>("pictures:add");

function mountCounter(backend: FakeBackend, label: Ref<string | null>) {
  const Counter = defineComponent({
    setup() {
      const { data, error, isLoading } = useQuery(countQuery, () => (label.value === null ? "skip" : { label: label.value }));
      return () => h("p", isLoading.value ? "loading" : error.value ? `error: ${error.value.message}` : `count ${data.value}`);
    },
  });
  return mount(Counter, { global: { provide: { [backendKey as symbol]: backend } } });
}

describe("useQuery", () => {
  it("shows loading, then the result, and follows argument changes with one live subscription", async () => {
    const backend = new FakeBackend().on(countQuery, ({ label }: { label: string }) => label.length);
    const label = ref<string | null>("cat");
    const wrapper = mountCounter(backend, label);
    expect(wrapper.text()).toBe("loading");
    await flushPromises();
    expect(wrapper.text()).toBe("count 3");

    label.value = "zebra";
    await flushPromises();
    expect(wrapper.text()).toBe("count 5");
    expect(backend.activeSubscriptions(countQuery)).toHaveLength(1);
    expect(backend.activeSubscriptions(countQuery)[0].args).toEqual({ label: "zebra" });
  });

  it("does not resubscribe when the getter rebuilds equal arguments", async () => {
    const backend = new FakeBackend().on(countQuery, 1);
    const label = ref<string | null>("cat");
    mountCounter(backend, label);
    await flushPromises();
    label.value = "dog";
    label.value = "cat";
    await flushPromises();
    expect(backend.subscriptions).toHaveLength(1);
  });

  it("stays idle while skipped and unsubscribes when the component unmounts", async () => {
    const backend = new FakeBackend().on(countQuery, 7);
    const label = ref<string | null>(null);
    const wrapper = mountCounter(backend, label);
    await flushPromises();
    expect(backend.subscriptions).toHaveLength(0);

    label.value = "cat";
    await flushPromises();
    expect(wrapper.text()).toBe("count 7");
    wrapper.unmount();
    expect(backend.activeSubscriptions()).toHaveLength(0);
  });

  it("exposes server errors", async () => {
    const backend = new FakeBackend().on(countQuery, () => {
      throw new Error("This needs the labeller role; you are analyst.");
    });
    const wrapper = mountCounter(backend, ref<string | null>("cat"));
    await flushPromises();
    expect(wrapper.text()).toBe("error: This needs the labeller role; you are analyst.");
  });

  it("refreshes live results after a write", async () => {
    let stored = 1;
    const backend = new FakeBackend()
      .on(countQuery, () => stored)
      .on(addMutation, () => {
        stored += 1;
        return null;
      });
    const wrapper = mountCounter(backend, ref<string | null>("cat"));
    await flushPromises();
    await backend.mutation(addMutation, {});
    await flushPromises();
    expect(wrapper.text()).toBe("count 2");
  });

  it("untilLoaded waits for the first result, and rejects with the query's error", async () => {
    let fail = false;
    const backend = new FakeBackend().on(countQuery, ({ label }) => {
      if (fail) throw new Error(`no count for ${label}`);
      return label.length;
    });
    const label = ref("cat");
    let state!: QueryState<number>;
    mount(
      defineComponent({
        setup() {
          state = useQuery(countQuery, () => ({ label: label.value }));
          return () => h("p");
        },
      }),
      { global: { provide: { [backendKey as symbol]: backend } } },
    );
    const first = untilLoaded(state);
    expect(state.isLoading.value).toBe(true);
    await expect(first).resolves.toBe(3);

    fail = true;
    label.value = "zebra";
    await nextTick();
    const failed = untilLoaded(state);
    await expect(failed).rejects.toThrow("no count for zebra");
  });
});
