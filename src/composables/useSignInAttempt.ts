import { ref, type Ref } from "vue";
import { useRoute, useRouter } from "vue-router";

export interface SignInAttempt {
  /** Why the last attempt failed, for the page to show; null otherwise. */
  problem: Ref<string | null>;
  isSigningIn: Ref<boolean>;
  /** Runs `signIn`, then goes on to the page the visitor asked for (`?redirect=`, same-site paths only). */
  attempt(signIn: () => Promise<void>): Promise<void>;
}

/** What a sign-in page does around its sign-in: the password form and the demo's role picker share it. */
export function useSignInAttempt(): SignInAttempt {
  const route = useRoute();
  const router = useRouter();
  const problem = ref<string | null>(null);
  const isSigningIn = ref(false);

  async function attempt(signIn: () => Promise<void>): Promise<void> {
    problem.value = null;
    isSigningIn.value = true;
    try {
      await signIn();
      const redirect = route.query.redirect;
      await router.replace(typeof redirect === "string" && redirect.startsWith("/") ? redirect : "/");
    } catch (error) {
      problem.value = error instanceof Error ? error.message : String(error);
    } finally {
      isSigningIn.value = false;
    }
  }

  return { problem, isSigningIn, attempt };
}
